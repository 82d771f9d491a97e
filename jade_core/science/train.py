"""Training of the three variants, with checkpoints every epoch and resume.

One step takes a batch of the labelled SVHN pool and (paired, JADE) a batch
of MNIST whose first rows have, row by row, the classes of the SVHN batch:
that pairing is what the matching KL of Eq. 2 needs, and it samples MNIST
images uniformly within each class. The paired classifier passes the two
batches through the shared MLP one after the other and minimises the sum of
the two cross-entropies; JADE minimises the negative of Eq. 2
(:func:`jade_core.science.losses.jade_objective`). An epoch is one pass over the
labelled SVHN pool.

The run folder around a run (reuse, resume, checkpoints, the move into place) is
:mod:`jade_core.experiments.lifecycle`; this module is the science: sampler, loss of each
variant, optimiser, the loop with its restart rule, the final metrics.

Optimiser: Adam. The paper names none of optimiser, learning rate, batch
size or training length; the book's chapters give the values used and how
they were chosen on validation data.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch
from tqdm import tqdm

from .augment import augment, is_plain
from .config import ConfigError, RunConfig
from .evaluate import autocast, evaluate, matching_report, prepare
from .losses import classifier_objective, jade_objective
from .models import build_model


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


def w_match_at(cfg: RunConfig, epoch: int) -> float:
    """The matching weight during 0-based ``epoch``: ``w_match``, ramped up linearly over the
    first ``w_match_warmup`` epochs when that is > 0 (epoch e uses (e + 1) / warmup of it)."""
    if cfg.w_match_warmup <= 0:
        return cfg.w_match
    return cfg.w_match * min(1.0, (epoch + 1) / cfg.w_match_warmup)


def variant_loss(cfg: RunConfig, model, xs, ls, xm=None, lm=None, epoch: int | None = None):
    """The loss one step minimises: cross-entropy (single), the sum of the two
    cross-entropies (paired), or minus Eq. 2 with the configured weights (JADE;
    the matching weight of ``epoch`` when given, see :func:`w_match_at`)."""
    if cfg.variant == "jade":
        w_match = cfg.w_match if epoch is None else w_match_at(cfg, epoch)
        return jade_objective(model, xs, ls, xm, lm, cfg.svhn_sigma, cfg.w_rec, cfg.w_cls, cfg.w_kl, w_match,
                              cfg.rec_reduction, cfg.label_smoothing)
    if cfg.variant == "paired":
        return classifier_objective(model, xs, ls, xm, lm, cfg.label_smoothing)
    return classifier_objective(model, xs, ls, label_smoothing=cfg.label_smoothing)


def _rng_state(gen):
    return {"torch": torch.get_rng_state(), "gen": gen.get_state()}


def _set_rng_state(state, gen):
    torch.set_rng_state(state["torch"])
    gen.set_state(state["gen"])


def init_seed(cfg: RunConfig, attempt: int) -> int:
    """Seed of the initial weights, batch order, dropout and noise of ``attempt`` (0 = first).
    The labelled pool depends on ``cfg.seed`` alone, so a restart keeps its data."""
    return cfg.seed + 1000 * attempt


def make_optimizer(cfg: RunConfig, model, total_steps: int):
    """Adam (the plain recipe) or AdamW, and the learning-rate schedule: constant (None) or one-cycle
    (warm-up from lr/25 to lr over the first 30 % of ``total_steps``, then cosine decay)."""
    cls = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    opt = cls(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = None
    if cfg.lr_schedule == "onecycle":
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total_steps)
    return opt, sched


def _fresh(cfg: RunConfig, attempt: int, total_steps: int):
    torch.manual_seed(init_seed(cfg, attempt))
    gen = torch.Generator().manual_seed(init_seed(cfg, attempt))
    model = build_model(cfg.variant).to(cfg.device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt, sched = make_optimizer(cfg, model, total_steps)
    return model, opt, sched, gen


PLATEAU_FRACTION = 0.9  # a run "sits on the plateau" while its SVHN training CE is >= 0.9 ln 10


def svhn_train_ce(terms) -> float:
    """The SVHN training cross-entropy of an epoch's mean terms (a dict, or a row of ``curve.csv``):
    the single and paired classifiers log it as ``svhn_ce``, JADE as ``-svhn_cls``."""
    return float(terms["svhn_ce"]) if "svhn_ce" in terms else -float(terms["svhn_cls"])


def on_plateau(ce) -> bool:
    """The plateau rule, on training loss only: cross-entropy still >= 0.9 ln 10 (chance is ln 10).
    The restart rule of training and the flag of the tables both use it."""
    return ce >= PLATEAU_FRACTION * math.log(10)


CURVE_MNIST_VAL = 5000


def _eval_row(cfg, model, splits, paired):
    """Validation numbers written on the learning curve at an evaluation epoch."""
    cl, dev, row = cfg.channels_last, cfg.device, {}
    if splits.svhn_val is not None:
        row["svhn_val_error"] = evaluate(model, splits.svhn_val, "svhn", cfg.precision, cl, dev)["error"]
    if paired:
        row["mnist_val_error"] = evaluate(model, splits.mnist_val, "mnist", cfg.precision, cl, dev)["error"]
        if splits.svhn_val is not None:
            # on the curve, the first 5,000 MNIST validation images (cheaper; metrics.json uses all)
            mval = tuple(t[:CURVE_MNIST_VAL] for t in splits.mnist_val)
            m = matching_report(model, splits.svhn_val, mval, cfg.precision, cl, dev)
            row["val_centroid_accuracy"] = m["centroid_accuracy"]
            if "kl_match" in m:
                row["val_kl_match"] = m["kl_match"]
                row["val_kl_match_per_dim"] = m["kl_match"] / len(m["kl_match_per_dim"])
    return row


@dataclass
class FitState:
    """Where a training run stands: what a checkpoint holds and what :func:`fit` carries on from."""

    model: torch.nn.Module
    opt: torch.optim.Optimizer
    sched: object
    gen: torch.Generator
    attempt: int = 0
    restarts: list = field(default_factory=list)
    epoch: int = 0
    curve: list = field(default_factory=list)
    elapsed: float = 0.0

    @classmethod
    def fresh(cls, cfg: RunConfig, attempt: int, total_steps: int, restarts=None) -> "FitState":
        model, opt, sched, gen = _fresh(cfg, attempt, total_steps)
        return cls(model, opt, sched, gen, attempt, list(restarts or []))

    def checkpoint(self) -> dict:
        """Plain tensors and values only (loaded with ``weights_only=True``); with the generator state,
        so a resume replays the same batches."""
        return {"model": self.model.state_dict(), "optimizer": self.opt.state_dict(),
                "scheduler": self.sched.state_dict() if self.sched is not None else {},
                "rng": _rng_state(self.gen), "epoch": self.epoch, "curve": self.curve,
                "elapsed": self.elapsed, "attempt": self.attempt, "restarts": self.restarts}


def fit(cfg: RunConfig, splits, state: FitState, checkpoint=None, progress: bool = True,
        stop_after_epoch: int | None = None, where="") -> FitState:
    """The training loop of one run, from ``state`` to ``cfg.epochs``: a function of the model state,
    the data (``splits``) and the configuration only. Each epoch is one pass over the labelled SVHN
    pool in batches (with a class-matched MNIST batch for the paired classifier and JADE), minimising
    :func:`variant_loss`; the curve gets the epoch's mean terms and, every ``cfg.eval_every`` epochs,
    the validation numbers. ``checkpoint(state)`` is called at every evaluation epoch.

    Plateau rule (training loss only): after epoch ``cfg.restart_epoch``, a run whose mean SVHN training
    cross-entropy is still >= 0.9 ln 10 starts again from the next initialisation (:func:`init_seed`),
    at most ``cfg.max_restarts`` times; the abandoned attempts are kept in ``state.restarts``."""
    device, cl = cfg.device, cfg.channels_last
    sx, sy = splits.svhn_train
    n = len(sy)
    spe = cfg.steps_per_epoch
    total_steps = cfg.epochs * spe
    paired = cfg.variant != "single"
    if paired:
        mx, my = splits.mnist_train
    plain = is_plain(cfg)
    bar = tqdm(total=total_steps, initial=state.epoch * spe, disable=not progress,
               desc=f"{cfg.variant} seed {cfg.seed}", mininterval=2.0, dynamic_ncols=True)
    while state.epoch < cfg.epochs:
        model, opt, sched, gen, epoch = state.model, state.opt, state.sched, state.gen, state.epoch
        model.train()
        sampler = ClassMatchedSampler(my, gen) if paired else None
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=gen)
        sums, count = {}, 0
        for b in range(spe):
            idx = perm[b * cfg.batch_size:(b + 1) * cfg.batch_size]
            xs = sx[idx] if plain else augment(sx[idx].to(device), cfg, gen)
            xs, ls = prepare(xs, cl, device), sy[idx].to(device)
            if paired:
                midx = sampler(sy[idx], cfg.mnist_batch_size)
                xm, lm = prepare(mx[midx], cl, device), my[midx].to(device)
            with autocast(cfg.precision, device):
                loss, terms = variant_loss(cfg, model, xs, ls, *((xm, lm) if paired else (None, None)), epoch=epoch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + float(v)
            count += 1
            bar.update(1)
            if b % 10 == 0:
                bar.set_postfix(epoch=epoch + 1, loss=f"{float(terms['loss']):.3g}", attempt=state.attempt)
        state.elapsed += time.perf_counter() - t0
        epoch = state.epoch = epoch + 1
        row = {"epoch": epoch, "step": epoch * spe, "seconds": round(state.elapsed, 2)}
        row.update({k: v / count for k, v in sums.items()})
        ce = svhn_train_ce(row)
        if not math.isfinite(row["loss"]):
            bar.close()
            raise ConfigError(f"{cfg.variant} seed {cfg.seed}: the training loss became {row['loss']} in epoch {epoch} "
                              f"(learning rate {cfg.lr}); the run stopped and is not saved as finished. Lower lr or "
                              f"a loss weight and train again (the unfinished run is in {where}; delete it first).")
        if epoch == cfg.restart_epoch and on_plateau(ce) and state.attempt < cfg.max_restarts:
            restarts = state.restarts + [{"attempt": state.attempt, "init_seed": init_seed(cfg, state.attempt),
                                          "epoch": epoch, "svhn_train_ce": ce}]
            elapsed = state.elapsed
            state = FitState.fresh(cfg, state.attempt + 1, total_steps, restarts)
            state.elapsed = elapsed
            epoch = 0
            bar.reset(total=total_steps)
        else:
            if epoch % cfg.eval_every == 0 or epoch == cfg.epochs:
                row.update(_eval_row(cfg, model, splits, paired))
            state.curve.append(row)
        if checkpoint is not None and (epoch % cfg.eval_every == 0 or epoch in (0, cfg.epochs, stop_after_epoch)):
            # at every evaluation epoch (not every epoch: small pools make epochs of 2 steps)
            checkpoint(state)
        if stop_after_epoch is not None and epoch == stop_after_epoch and epoch < cfg.epochs:
            bar.close()
            raise TrainingInterrupted(f"stopped after epoch {epoch}; run again to resume from {where}.")
    bar.close()
    return state


def final_metrics(cfg: RunConfig, state: FitState, splits) -> dict:
    """``metrics.json`` of a finished run: SVHN error on the evaluation part (and validation), MNIST test
    and validation error, the matching numbers, and how the run trained (time, steps, restarts)."""
    model, cl, device, paired = state.model, cfg.channels_last, cfg.device, cfg.variant != "single"
    metrics = {"svhn": evaluate(model, splits.svhn_eval, "svhn", cfg.precision, cl, device),
               "protocol": cfg.protocol, "evaluation": splits.info["evaluation"],
               "train_seconds": round(state.elapsed, 2), "epochs": cfg.epochs,
               "steps": cfg.epochs * cfg.steps_per_epoch,
               "attempts": state.attempt + 1, "restarts": state.restarts,
               "init_seed": init_seed(cfg, state.attempt),
               "final_svhn_train_ce": svhn_train_ce(state.curve[-1]),
               "plateau": on_plateau(svhn_train_ce(state.curve[-1]))}
    if splits.svhn_val is not None:
        # per image: a smaller validation set's error can be read back (jade_core.experiments.audit.small_validation_errors)
        metrics["svhn_val"] = evaluate(model, splits.svhn_val, "svhn", cfg.precision, cl, device, per_image=True)
    if paired:
        metrics["mnist"] = evaluate(model, splits.mnist_test, "mnist", cfg.precision, cl, device)
        metrics["mnist_val"] = evaluate(model, splits.mnist_val, "mnist", cfg.precision, cl, device)
        # centroids from MNIST validation images; SVHN from validation / the evaluation part
        if splits.svhn_val is not None:
            metrics["matching_val"] = matching_report(model, splits.svhn_val, splits.mnist_val, cfg.precision, cl,
                                                      device)
        metrics["matching_eval"] = matching_report(model, splits.svhn_eval, splits.mnist_test, cfg.precision, cl,
                                                   device, mnist_ref=splits.mnist_val)
    return metrics
