"""Training of the three variants, with checkpoints every epoch and resume.

One step takes a batch of the labelled SVHN pool and (paired, JADE) a batch
of MNIST whose first rows have, row by row, the classes of the SVHN batch:
that pairing is what the matching KL of Eq. 2 needs, and it samples MNIST
images uniformly within each class. The paired classifier passes the two
batches through the shared MLP one after the other and minimises the sum of
the two cross-entropies; JADE minimises the negative of Eq. 2
(:func:`jade_core.losses.jade_objective`). An epoch is one pass over the
labelled SVHN pool.

Optimiser: Adam. The paper names none of optimiser, learning rate, batch
size or training length; the book's chapters give the values used and how
they were chosen on validation data.
"""
from __future__ import annotations

import shutil
import time

import pandas as pd
import torch
from tqdm import tqdm

from .config import RunConfig, resolve_config
from .data import build_splits
from .evaluate import autocast, evaluate, prepare
from .losses import classifier_objective, jade_objective
from .models import build_model, count_parameters
from .runs import check_existing, finalize, partial_dir, save_torch, versions, write_json


class TrainingInterrupted(RuntimeError):
    """Raised when a run stops early on purpose (``stop_after_epoch``); rerun to resume."""


class ClassMatchedSampler:
    """Draws MNIST indices whose labels equal given SVHN labels, row by row."""

    def __init__(self, labels: torch.Tensor, generator: torch.Generator):
        self.order = torch.argsort(labels, stable=True)
        self.counts = torch.bincount(labels, minlength=10)
        self.starts = torch.cumsum(self.counts, 0) - self.counts
        self.n = len(labels)
        self.g = generator

    def __call__(self, classes: torch.Tensor, size: int) -> torch.Tensor:
        offsets = (torch.rand(len(classes), generator=self.g) * self.counts[classes]).long()
        matched = self.order[self.starts[classes] + offsets]
        extra = torch.randint(0, self.n, (max(size - len(classes), 0),), generator=self.g)
        return torch.cat([matched, extra])


def variant_loss(cfg: RunConfig, model, xs, ls, xm=None, lm=None):
    """The loss one step minimises: cross-entropy (single), the sum of the two
    cross-entropies (paired), or minus Eq. 2 with the configured weights (JADE)."""
    if cfg.variant == "jade":
        return jade_objective(model, xs, ls, xm, lm, cfg.svhn_sigma, cfg.w_rec, cfg.w_cls, cfg.w_kl, cfg.w_match)
    if cfg.variant == "paired":
        return classifier_objective(model, xs, ls, xm, lm)
    return classifier_objective(model, xs, ls)


def _rng_state(gen):
    return {"torch": torch.get_rng_state(), "gen": gen.get_state()}


def _set_rng_state(state, gen):
    torch.set_rng_state(state["torch"])
    gen.set_state(state["gen"])


def train(cfg: RunConfig | None = None, force: bool = False, progress: bool = True,
          stop_after_epoch: int | None = None, **overrides):
    """Train one run (or reuse / resume it) and return its folder.

    ``cfg`` is a :class:`RunConfig`; or give ``variant=``, ``profile=`` and
    any parameter as keywords. A finished run with the same configuration is
    reused; an unfinished one resumes from its last checkpoint; one with a
    different configuration raises unless ``force``. ``stop_after_epoch``
    stops after that epoch's checkpoint (used to test resuming).
    """
    if cfg is None:
        cfg = resolve_config(**overrides)
    action = check_existing(cfg, force)
    if action == "reuse":
        return cfg.run_dir
    # loading and checking all data happens before anything is written
    splits = build_splits(cfg, need_mnist=cfg.variant != "single")
    device, cl = cfg.device, cfg.channels_last
    work = partial_dir(cfg.run_dir)
    if action == "train":
        shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)

    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    model = build_model(cfg.variant).to(device)
    if cl:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    start_epoch, curve, elapsed = 0, [], 0.0
    if action == "resume":
        ck = torch.load(work / "checkpoint.pt", map_location=device, weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        _set_rng_state(ck["rng"], gen)
        start_epoch, curve, elapsed = ck["epoch"], ck["curve"], ck["elapsed"]
    else:
        write_json(work / "config.json", {"config": cfg.to_dict(), "data": splits.info, "versions": versions(),
                                          "n_parameters": count_parameters(model)})

    sx, sy = splits.svhn_train
    paired = cfg.variant != "single"
    if paired:
        mx, my = splits.mnist_train
        sampler = ClassMatchedSampler(my, gen)
    n = len(sy)
    steps_per_epoch = -(-n // cfg.batch_size)
    bar = tqdm(total=cfg.epochs * steps_per_epoch, initial=start_epoch * steps_per_epoch, disable=not progress,
               desc=f"{cfg.variant} seed {cfg.seed}", mininterval=2.0, dynamic_ncols=True)
    model.train()
    for epoch in range(start_epoch, cfg.epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=gen)
        sums, count = {}, 0
        for b in range(steps_per_epoch):
            idx = perm[b * cfg.batch_size:(b + 1) * cfg.batch_size]
            xs, ls = prepare(sx[idx], cl, device), sy[idx].to(device)
            if paired:
                midx = sampler(sy[idx], cfg.mnist_batch_size)
                xm, lm = prepare(mx[midx], cl, device), my[midx].to(device)
            with autocast(cfg.precision, device):
                loss, terms = variant_loss(cfg, model, xs, ls, *((xm, lm) if paired else ()))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + float(v)
            count += 1
            bar.update(1)
            if b % 10 == 0:
                bar.set_postfix(epoch=epoch + 1, loss=f"{float(terms['loss']):.3g}")
        elapsed += time.perf_counter() - t0
        row = {"epoch": epoch + 1, "step": (epoch + 1) * steps_per_epoch, "seconds": round(elapsed, 2)}
        row.update({k: v / count for k, v in sums.items()})
        if (epoch + 1) % cfg.eval_every == 0 or epoch + 1 == cfg.epochs:
            if splits.svhn_val is not None:
                row["svhn_val_error"] = evaluate(model, splits.svhn_val, "svhn", cfg.precision, cl, device)["error"]
            if paired:
                row["mnist_val_error"] = evaluate(model, splits.mnist_val, "mnist", cfg.precision, cl, device)["error"]
        curve.append(row)
        save_torch(work / "checkpoint.pt", {"model": model.state_dict(), "optimizer": opt.state_dict(),
                                            "rng": _rng_state(gen), "epoch": epoch + 1, "curve": curve,
                                            "elapsed": elapsed})
        if stop_after_epoch is not None and epoch + 1 == stop_after_epoch and epoch + 1 < cfg.epochs:
            bar.close()
            raise TrainingInterrupted(f"stopped after epoch {epoch + 1}; run again to resume from {work}.")
    bar.close()

    metrics = {"svhn": evaluate(model, splits.svhn_eval, "svhn", cfg.precision, cl, device),
               "protocol": cfg.protocol, "evaluation": splits.info["evaluation"],
               "train_seconds": round(elapsed, 2), "epochs": cfg.epochs, "steps": cfg.epochs * steps_per_epoch}
    if splits.svhn_val is not None:
        metrics["svhn_val"] = evaluate(model, splits.svhn_val, "svhn", cfg.precision, cl, device)
    if paired:
        metrics["mnist"] = evaluate(model, splits.mnist_test, "mnist", cfg.precision, cl, device)
        metrics["mnist_val"] = evaluate(model, splits.mnist_val, "mnist", cfg.precision, cl, device)
    pd.DataFrame(curve).to_csv(work / "curve.csv", index=False)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_torch(work / "weights.pt", state)
    write_json(work / "metrics.json", metrics)
    return finalize(cfg, work)
