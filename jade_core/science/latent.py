"""The latent-variance analysis of Figure 2.

For a trained JADE encoder and images of one dataset, take the posterior
means mu(x) of the 20 latent dimensions (content 0..9, style 10..19).

- Figure 2a, :func:`normalised_variance_by_class`: for each class c, the
  variance of each latent mean over ``n_per_class`` (500) images of class c,
  divided by its variance over ``n_reference`` (2,500) random images. Content
  dimensions should vary little once the class is fixed (values << 1); style
  dimensions should keep their variance (values near 1).
- Figure 2b, :func:`normalised_variance_random`: the same ratio for random
  groups of ``n_per_class`` images drawn from the 2,500: with content and
  style both varying, every dimension should stay near 1.
- :func:`content_style_ratio`: one number that summarises (a), the mean
  normalised within-class variance of the content dimensions over that of
  the style dimensions. The paper's reading of Figure 2 is that it is < 1.

Variances use ddof = 1.
"""
from __future__ import annotations

import numpy as np
import torch

from .evaluate import posterior_stats
from .models import LATENT_CONTENT, split_latent
from .paper import FIGURE2_PER_CLASS, FIGURE2_REFERENCE


def latent_means(model, x: torch.Tensor, dataset: str = "svhn") -> np.ndarray:
    """Posterior means of all latent dimensions, (N, 20) for JADE (N, 10 for the classifiers),
    by :func:`jade_core.science.evaluate.posterior_stats` (fp32, eval mode, the model's mode restored)."""
    return posterior_stats(model, x, dataset)[0].numpy()


def _reference(z, n_reference, rng):
    ref = rng.choice(len(z), size=min(n_reference, len(z)), replace=False)
    var = z[ref].var(axis=0, ddof=1)
    return ref, np.where(var > 0, var, np.nan)


def normalised_variance_by_class(z: np.ndarray, labels: np.ndarray, n_per_class: int = FIGURE2_PER_CLASS,
                                 n_reference: int = FIGURE2_REFERENCE, seed: int = 0):
    """Figure 2a: (10, D) within-class variance / reference variance, and the images used per class.

    A class with fewer than ``n_per_class`` images uses all it has (the
    counts are returned so the page can say so).
    """
    z, labels = np.asarray(z, dtype=np.float64), np.asarray(labels)
    rng = np.random.default_rng(seed)
    _, ref_var = _reference(z, n_reference, rng)
    out, counts = np.zeros((10, z.shape[1])), np.zeros(10, dtype=int)
    for c in range(10):
        idx = np.flatnonzero(labels == c)
        idx = rng.choice(idx, size=min(n_per_class, len(idx)), replace=False)
        counts[c] = len(idx)
        out[c] = z[idx].var(axis=0, ddof=1) / ref_var if len(idx) > 1 else np.nan
    return out, counts


def normalised_variance_random(z: np.ndarray, n_per_group: int = FIGURE2_PER_CLASS, n_reference: int = FIGURE2_REFERENCE,
                               n_groups: int = 10, seed: int = 0) -> np.ndarray:
    """Figure 2b: (n_groups, D) variance over random groups of the reference images / reference variance."""
    z = np.asarray(z, dtype=np.float64)
    rng = np.random.default_rng(seed)
    ref, ref_var = _reference(z, n_reference, rng)
    out = np.zeros((n_groups, z.shape[1]))
    for g in range(n_groups):
        idx = rng.choice(ref, size=min(n_per_group, len(ref)), replace=False)
        out[g] = z[idx].var(axis=0, ddof=1) / ref_var
    return out


def content_style_ratio(normalised: np.ndarray, n_content: int = LATENT_CONTENT) -> float:
    """Mean normalised variance of the content dims / that of the style dims (< 1: content is steadier)."""
    normalised = np.asarray(normalised)
    return float(np.nanmean(normalised[:, :n_content]) / np.nanmean(normalised[:, n_content:]))


def content_style_ratio_over_seeds(content_within, style_within) -> float:
    """:func:`content_style_ratio` combined over seeds: the geometric mean of each seed's
    ``content_within / style_within`` (the two means of :func:`latent_summary`, whose ratio is that seed's
    :func:`content_style_ratio`); a ratio's mean is taken on the log scale, so halving and doubling cancel."""
    c, s = np.asarray(content_within, dtype=float), np.asarray(style_within, dtype=float)
    return float(np.exp(np.log(c / s).mean()))


def eta_squared(z: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Between-class share of variance of each latent dimension (eta^2, one value per dimension):

        eta2_d = sum_c n_c (mean_c - mean)^2 / sum_i (z_id - mean)^2,

    1 when a dimension is a function of the class, 0 when its class means coincide.
    """
    z, labels = np.asarray(z, dtype=np.float64), np.asarray(labels)
    grand = z.mean(axis=0)
    total = ((z - grand) ** 2).sum(axis=0)
    between = np.zeros(z.shape[1])
    for c in np.unique(labels):
        zc = z[labels == c]
        between += len(zc) * (zc.mean(axis=0) - grand) ** 2
    return np.where(total > 0, between / np.where(total > 0, total, 1.0), np.nan)


def figure2_panels(model, x, labels, dataset: str = "svhn", seed: int = 0) -> tuple:
    """The two panels of Figure 2 for one encoder: ``(a, counts, b)``, the within-class normalised
    variances with the images per class (:func:`normalised_variance_by_class`) and the random-group
    check (:func:`normalised_variance_random`), on the posterior means of ``x``."""
    z = latent_means(model, x, dataset)
    a, counts = normalised_variance_by_class(z, np.asarray(labels), seed=seed)
    return a, counts, normalised_variance_random(z, seed=seed)


def latent_summary(model, x, labels, seed: int = 0, n_per_class: int = FIGURE2_PER_CLASS, n_reference: int = FIGURE2_REFERENCE) -> dict:
    """Figure 2 numbers of one model on images ``x`` of one dataset (SVHN by default):

    - ``content_within`` / ``style_within``: mean Figure 2a value (within-class variance / variance over
      random images) of the content dimensions (JADE 0..9, or a classifier's whole 10-d bottleneck)
      and, for JADE, of the style dimensions 10..19;
    - ``content_eta2`` / ``style_eta2``: mean between-class share of variance (:func:`eta_squared`).

    The classifiers' bottlenecks are the control: if JADE's content dimensions vary no less within a
    class than a plain classifier's features, the low values of Figure 2a are what any classifier
    shows, not evidence specific to JADE.
    """
    z = latent_means(model, x)
    labels = np.asarray(labels)
    a, counts = normalised_variance_by_class(z, labels, n_per_class, n_reference, seed)
    eta = eta_squared(z, labels)
    (a_content, a_style), (eta_content, eta_style) = split_latent(a), split_latent(eta)
    out = {"content_within": float(np.nanmean(a_content)),
           "content_eta2": float(np.nanmean(eta_content)), "min_class_count": int(counts.min())}
    if a_style.shape[-1]:  # JADE; a classifier's 10-d bottleneck is all "content"
        out.update(style_within=float(np.nanmean(a_style)), style_eta2=float(np.nanmean(eta_style)))
    return out
