"""Content/style swaps: decode the content of one image with the style of another.

JADE's latent z = (content z_2 | style z_1), dims 0-9 and 10-19
(:mod:`jade_core.science.models`). A swap decodes

    x_hat[i, j] = sigmoid(decoder_d([ mu_content(x_i) , mu_style(y_j) ]))

with the posterior *means* (deterministic, eval mode): rows i give the
content, columns j the style, decoder d draws. Within a dataset this shows
what each part holds; across datasets (MNIST content with SVHN style through
the SVHN decoder, and the reverse) it works only if the content spaces of
the two encoders are one space, which is what the matching term of Eq. 2
asks for.

:func:`swap_agreement` puts a number on it: the share of swapped images that
the model's own classifier (for the decoder's dataset) labels with the
*content* image's digit, and the share it labels with the *style* image's
digit (close to chance, 10 %, if the style part carries no class).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from .evaluate import predict
from .models import split_latent


@torch.no_grad()
def swap(model, content_x, content_dataset, style_x, style_dataset, decoder_dataset=None, batch=500) -> torch.Tensor:
    """All swaps: a tensor (len(content_x), len(style_x), C, H, W) in [0, 1], decoded by
    ``decoder_dataset`` (default: the style's dataset)."""
    if not hasattr(model, "posterior"):
        raise ValueError("swaps need a JADE model (content and style parts); this model has one 10-d bottleneck.")
    decoder_dataset = decoder_dataset or style_dataset
    was_training = model.training
    model.eval()
    try:
        c = split_latent(model.posterior(content_x, content_dataset)[0])[0].float()
        s = split_latent(model.posterior(style_x, style_dataset)[0])[1].float()
        z = torch.cat([c[:, None].expand(-1, len(s), -1), s[None].expand(len(c), -1, -1)], -1).flatten(0, 1)
        out = torch.cat([torch.sigmoid(model.decoders[decoder_dataset](z[i:i + batch]).float())
                         for i in range(0, len(z), batch)])
    finally:
        model.train(was_training)
    return out.view(len(c), len(s), *out.shape[1:])


def first_of_each_class(labels, classes=range(10)) -> np.ndarray:
    """Index of the first image of each digit (a deterministic choice of examples)."""
    labels = np.asarray(labels)
    return np.array([int(np.flatnonzero(labels == k)[0]) for k in classes])


def swap_agreement(model, content, style, decoder_dataset) -> dict:
    """Classify every swap of ``content = (x, y)`` with ``style = (x, y)`` through the model's
    classifier for ``decoder_dataset``; returns the share (%) labelled as the content digit and as the
    style digit, over the pairs with different digits (where the two can be told apart)."""
    (cx, cy), (sx, sy) = content, style
    grid = swap(model, cx, dataset_of(cx), sx, dataset_of(sx), decoder_dataset)
    pred = predict(model, grid.flatten(0, 1), decoder_dataset).numpy().reshape(len(cx), len(sx))
    cy, sy = np.asarray(cy)[:, None], np.asarray(sy)[None, :]
    differ = np.broadcast_to(cy != sy, pred.shape)
    return {"pairs": int(differ.sum()),
            "content_agreement": float(100 * (pred == cy)[differ].mean()),
            "style_agreement": float(100 * (pred == sy)[differ].mean())}


def dataset_of(x) -> str:
    return "svhn" if x.shape[1] == 3 else "mnist"


# The four swaps of the chapter: (title, content dataset, style dataset, decoder)
KINDS = (("SVHN content, SVHN style", "svhn", "svhn", "svhn"),
         ("MNIST content, MNIST style", "mnist", "mnist", "mnist"),
         ("MNIST content, SVHN style (SVHN decoder)", "mnist", "svhn", "svhn"),
         ("SVHN content, MNIST style (MNIST decoder)", "svhn", "mnist", "mnist"))


def agreement_table(models: dict, data: dict, n: int):
    """For every model (name -> :class:`jade_core.experiments.runs.Run`) and swap of :data:`KINDS`: one content image of
    each digit, ``n`` style images, and :func:`swap_agreement`. ``data``: dataset -> (images, labels)."""
    rows = []
    for name, run in models.items():
        for title, content, style, dec in KINDS:
            (cx, cy), (tx, ty) = data[content], data[style]
            ci = first_of_each_class(cy.numpy())
            rows.append({"model": name, "swap": title, **swap_agreement(run.model, (cx[ci], cy[ci]), (tx[:n], ty[:n]), dec)})
    return pd.DataFrame(rows)


def answer(agree, with_matching: str = "JADE", without: str = "JADE, w_match = 0") -> dict:
    """The chapter's finding from :func:`agreement_table`, as values its prose quotes: how often the content
    digit survives a swap within each dataset (``within_mnist``, ``within_svhn``, %, the model with matching) and
    across datasets with and without the matching term (``m2s_with``, ``m2s_without``, ``s2m_with``,
    ``s2m_without``), and whether matching helps the cross swaps (``helps``: "both" / "neither" / "one of them",
    the other hurt)."""
    a = agree.set_index(["model", "swap"])["content_agreement"]
    within_s, within_m, m2s, s2m = (k[0] for k in KINDS)
    j, o = with_matching, without
    gain_m2s, gain_s2m = a[(j, m2s)] - a[(o, m2s)], a[(j, s2m)] - a[(o, s2m)]
    helps = ("both" if gain_m2s > 0 and gain_s2m > 0 else "neither" if gain_m2s <= 0 and gain_s2m <= 0 else
             "one of them, and hurts the other")
    return {"within_mnist": f"{a[(j, within_m)]:.0f}", "within_svhn": f"{a[(j, within_s)]:.0f}",
            "m2s_with": f"{a[(j, m2s)]:.0f}", "m2s_without": f"{a[(o, m2s)]:.0f}",
            "s2m_with": f"{a[(j, s2m)]:.0f}", "s2m_without": f"{a[(o, s2m)]:.0f}", "helps": helps}
