"""One training step of a variant under a precision and memory format, as the benchmarks time it."""
from __future__ import annotations

import torch
from jade_core.science.config import resolve_config
from jade_core.science.evaluate import autocast
from jade_core.science.models import build_model
from jade_core.science.train import variant_loss


def make_step(variant, precision, channels_last, data_dir="."):
    """``(model, step)``: a fresh model of ``variant`` (seed 0) with Adam, and ``step(xs, ls, xm, lm)``, one
    optimisation step of :func:`jade_core.science.train.variant_loss` with the committed loss weights."""
    cfg = resolve_config(variant, data_dir=data_dir)  # the committed loss weights of that variant
    torch.manual_seed(0)
    model = build_model(variant)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), 1e-3)

    def step(xs, ls, xm, lm):
        if channels_last:
            xs = xs.contiguous(memory_format=torch.channels_last)
            xm = xm.contiguous(memory_format=torch.channels_last)
        with autocast(precision):
            loss, _ = variant_loss(cfg, model, xs, ls, xm, lm)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return model, step
