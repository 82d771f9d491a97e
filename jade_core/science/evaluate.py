"""Evaluation: error rates and confusion matrices on held-out images."""
from __future__ import annotations

import contextlib

import numpy as np
import torch

from .models import LATENT_CONTENT, split_latent


def autocast(precision: str, device: str = "cpu"):
    """bf16 autocast context (the speed set-up of the benchmark), or nothing for fp32."""
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"precision must be 'fp32' or 'bf16', not {precision!r}")
    if precision == "bf16":
        return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def prepare(x: torch.Tensor, channels_last: bool, device: str = "cpu") -> torch.Tensor:
    x = x.to(device)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


@torch.no_grad()
def predict(model, x, dataset="svhn", precision="fp32", channels_last=False, device="cpu", batch=1000):
    """Predicted digits for float images ``x`` (N, C, H, W) in [0, 1]."""
    was_training = model.training
    model.eval()
    out = []
    for i in range(0, len(x), batch):
        with autocast(precision, device):
            logits = model(prepare(x[i:i + batch], channels_last, device), dataset)
        out.append(logits.float().argmax(1).cpu())
    model.train(was_training)
    return torch.cat(out) if out else torch.empty(0, dtype=torch.long)


def confusion_matrix(y_true, y_pred, n_classes=10) -> np.ndarray:
    """C[i, j] = number of images of true class i predicted as j."""
    y_true = torch.as_tensor(y_true).long()
    y_pred = torch.as_tensor(y_pred).long()
    return torch.bincount(y_true * n_classes + y_pred, minlength=n_classes**2).view(n_classes, n_classes).numpy()


def error_rate(y_true, y_pred) -> float:
    """Classification error in percent."""
    # the mean of no images is NaN: an empty split has no error rate
    return float((torch.as_tensor(y_pred) != torch.as_tensor(y_true)).float().mean() * 100)


def evaluate(model, split, dataset, precision="fp32", channels_last=False, device="cpu", per_image=False):
    """Error (%) and confusion matrix of ``model`` on ``split`` = (x, y); with ``per_image``, also each image's
    true and predicted digit as strings of digits (``"true"``, ``"pred"``), so that the error of any subset
    can be read back later without the weights."""
    x, y = split
    pred = predict(model, x, dataset, precision, channels_last, device)
    out = {"error": error_rate(y, pred), "n": int(len(y)), "confusion": confusion_matrix(y, pred).tolist()}
    if per_image:
        out.update(true=digits(y), pred=digits(pred))
    return out


def digits(labels) -> str:
    """Digit labels 0-9 as one string (``[3, 0, 9]`` -> ``"309"``): compact, and data, never code."""
    return "".join(str(int(v)) for v in torch.as_tensor(labels).tolist())


@torch.no_grad()
def posterior_stats(model, x, dataset="svhn", precision="fp32", channels_last=False, device="cpu", batch=1000):
    """Posterior means and log-variances of JADE, or (features, None) for the classifiers' 10-d bottleneck.

    Always in eval mode (no dropout); the model's mode is restored afterwards.
    """
    was_training = model.training
    model.eval()
    mus, lvs = [], []
    for i in range(0, len(x), batch):
        with autocast(precision, device):
            xb = prepare(x[i:i + batch], channels_last, device)
            if hasattr(model, "posterior"):
                mu, lv = model.posterior(xb, dataset)
                lvs.append(lv.float().cpu())
            else:
                mu = model.features(xb, dataset)
        mus.append(mu.float().cpu())
    model.train(was_training)
    return torch.cat(mus), (torch.cat(lvs) if lvs else None)


def nearest_centroid_accuracy(z_query, y_query, z_ref, y_ref, n_classes=10) -> float:
    """Accuracy (%) of classifying ``z_query`` by the nearest (Euclidean) class centroid of ``z_ref``.

    The cross-domain check of matching: SVHN content means against centroids
    of MNIST content means. If the two domains' content spaces are matched
    class by class, this is close to the model's own SVHN accuracy; if the
    space collapsed onto the prior, the centroids coincide and it is near chance.
    """
    z_query, z_ref = torch.as_tensor(z_query).double(), torch.as_tensor(z_ref).double()
    y_query, y_ref = torch.as_tensor(y_query).long(), torch.as_tensor(y_ref).long()
    centroids = torch.stack([z_ref[y_ref == c].mean(0) for c in range(n_classes)])
    pred = torch.cdist(z_query, centroids).argmin(1)
    return float((pred == y_query).double().mean() * 100)


def matching_report(model, svhn_split, mnist_split, precision="fp32", channels_last=False, device="cpu",
                    mnist_ref=None, seed=0) -> dict:
    """Cross-domain matching on held-out images, for a model with SVHN and MNIST encoders.

    - ``centroid_accuracy``: SVHN content means classified by the nearest class
      centroid of MNIST content means (centroids from ``mnist_ref``, default
      ``mnist_split``), in %;
    - ``kl_match`` / ``kl_match_per_dim`` (JADE only): KL(q(z2|x,l) || q(z4|y,l))
      on the content dims 0..9, each SVHN image paired with a random MNIST
      image of the same class from ``mnist_split`` (fixed ``seed``), mean over
      images: the total and the 10 per-dimension values.
    """
    from .losses import kl_gaussians  # here to keep evaluate importable on its own
    xs, ys = svhn_split
    xm, ym = mnist_split
    mu_s, lv_s = posterior_stats(model, xs, "svhn", precision, channels_last, device)
    mu_m, lv_m = posterior_stats(model, xm, "mnist", precision, channels_last, device)
    if mnist_ref is None:
        ref_mu, ref_y = mu_m, ym
    else:
        ref_mu, ref_y = posterior_stats(model, mnist_ref[0], "mnist", precision, channels_last, device)[0], mnist_ref[1]
    out = {"centroid_accuracy": nearest_centroid_accuracy(split_latent(mu_s)[0], ys, split_latent(ref_mu)[0], ref_y),
           "n": int(len(ys))}
    if lv_s is not None:
        g = torch.Generator().manual_seed(seed)
        ym = torch.as_tensor(ym)
        partner = torch.empty(len(ys), dtype=torch.long)
        for c in torch.unique(torch.as_tensor(ys)):
            rows = torch.nonzero(torch.as_tensor(ys) == c).flatten()
            pool = torch.nonzero(ym == c).flatten()
            partner[rows] = pool[torch.randint(len(pool), (len(rows),), generator=g)]
        per_dim = torch.stack([kl_gaussians(mu_s[:, d:d + 1], lv_s[:, d:d + 1], mu_m[partner, d:d + 1],
                                            lv_m[partner, d:d + 1]) for d in range(LATENT_CONTENT)], 1).mean(0)
        out["kl_match"] = float(per_dim.sum())
        out["kl_match_per_dim"] = [float(v) for v in per_dim]
    return out
