"""Evaluation: error rates and confusion matrices on held-out images."""
from __future__ import annotations

import contextlib

import numpy as np
import torch


def autocast(precision: str, device: str = "cpu"):
    """bf16 autocast context (the speed set-up of the benchmark), or nothing for fp32."""
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
    y_true = torch.as_tensor(y_true)
    return float((torch.as_tensor(y_pred) != y_true).float().mean() * 100) if len(y_true) else float("nan")


def evaluate(model, split, dataset, precision="fp32", channels_last=False, device="cpu"):
    """Error (%) and confusion matrix of ``model`` on ``split`` = (x, y)."""
    x, y = split
    pred = predict(model, x, dataset, precision, channels_last, device)
    return {"error": error_rate(y, pred), "n": int(len(y)), "confusion": confusion_matrix(y, pred).tolist()}
