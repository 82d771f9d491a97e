"""The run folder's lifecycle: train one run into its folder, or reuse or resume it.

A finished run with the same configuration is reused (after checking its files load and its data
fingerprints match); an unfinished one resumes from the checkpoint in ``<run>.partial``; otherwise a
fresh run starts. The loop itself, with its restart rule, is :func:`jade_core.science.train.fit`.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import torch

from ..science.config import ConfigError, RunConfig, resolve_config
from ..science.data import build_splits
from ..science.models import count_parameters
from ..science.train import FitState, _set_rng_state, final_metrics, fit
from .runs import check_existing, finalize, is_finished, load_run, partial_dir, run_lock, same_run, save_torch, versions, write_json


def check_same_data(cfg: RunConfig, run_dir: Path | None = None) -> None:
    """A finished run (``run_dir``, default ``cfg.run_dir``) is reused only on the same images: the
    fingerprints of the data it recorded must equal those of the data directory now (a different mirror
    with the same layout is refused)."""
    saved = json.loads(((run_dir or cfg.run_dir) / "config.json").read_text()).get("data", {})
    now = build_splits(cfg, need_mnist=cfg.variant != "single").info
    diff = [k for k in now if k.endswith("_fingerprint") and k in saved and saved[k] != now[k]]
    if diff:
        raise ConfigError(f"the finished run {run_dir or cfg.run_dir} was trained on other data than {cfg.data_dir} holds now "
                          f"({', '.join(diff)} differ). Point data_dir at the data it was trained on, or retrain "
                          "with force=True (--force).")


def check_machine(cfg: RunConfig, training: bool = True) -> None:
    """What only this machine can tell: the device exists, the output folder is a folder, and (to train)
    the machine has the threads the configuration asks for."""
    if str(cfg.device).startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device={cfg.device!r} but torch sees no CUDA GPU here; use device='cpu' (--device cpu).")
    out = Path(cfg.output_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"output_dir={cfg.output_dir!r} is a file, not a folder; choose another output_dir.")
    if training and cfg.threads > (os.cpu_count() or 1):
        raise ConfigError(f"threads={cfg.threads} but this machine has {os.cpu_count()} CPU(s); pass --threads "
                          f"{os.cpu_count() or 1} or fewer (the thread count is part of a run's configuration).")


def train(cfg: RunConfig | None = None, force: bool = False, progress: bool = True,
          stop_after_epoch: int | None = None, wait: bool = False, **overrides):
    """Train one run (or reuse / resume it) and return its folder.

    ``cfg`` is a :class:`RunConfig`; or give ``variant=``, ``profile=`` and
    any parameter as keywords. A finished run with the same configuration is
    reused; an unfinished one resumes from its last checkpoint; one with a
    different configuration raises unless ``force``. The run folder is locked
    for the whole call: a second process on the same folder stops with
    :class:`jade_core.experiments.runs.RunBusy` (or waits, ``wait=True``).
    ``stop_after_epoch`` stops after that epoch's checkpoint (used to test resuming).
    The loop itself is :func:`fit` (with the plateau rule); the abandoned attempts of a restart are
    recorded in ``metrics.json`` (``restarts``).
    """
    if cfg is None:
        cfg = resolve_config(**overrides)
    check_machine(cfg, training=False)
    found = None if force else same_run(cfg)
    if found is not None and found != cfg.run_dir:  # the same run under another name (earlier defaults, or by hand)
        check_reusable(cfg, found)
        return found
    if not force and is_finished(cfg.run_dir) and check_existing(cfg, force) == "reuse":
        # pure reuse writes nothing, so it takes no lock: a read-only checkout reads its runs
        check_reusable(cfg)
        return cfg.run_dir
    check_machine(cfg)
    with run_lock(cfg.run_dir, wait=wait):
        return _train_locked(cfg, force, progress, stop_after_epoch)


def check_reusable(cfg: RunConfig, run_dir: Path | None = None) -> None:
    """A finished run (``run_dir``, default ``cfg.run_dir``) is reused only when its files load (weights,
    where kept, as this variant's model, ``weights_only``) and it was trained on the data ``cfg.data_dir``
    holds now."""
    run_dir = run_dir or cfg.run_dir
    load_run(run_dir, weights=(run_dir / "weights.pt").exists())
    check_same_data(cfg, run_dir)


def _train_locked(cfg, force, progress, stop_after_epoch):
    """The run folder's lifecycle: reuse, resume or start; the loop (:func:`fit`) with a checkpoint
    in ``<run>.partial`` at every evaluation epoch; then metrics, weights and the move into place."""
    action = check_existing(cfg, force)
    if action == "reuse":
        check_reusable(cfg)
        return cfg.run_dir
    torch.set_num_threads(cfg.threads)
    # loading and checking all data happens before anything is written
    splits = build_splits(cfg, need_mnist=cfg.variant != "single")
    work = partial_dir(cfg.run_dir)
    if action == "train":
        shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    total = cfg.epochs * cfg.steps_per_epoch
    if action == "resume":
        state = _load_checkpoint(cfg, work / "checkpoint.pt", total)
    else:
        state = FitState.fresh(cfg, 0, total)
        write_json(work / "config.json", {"config": cfg.to_dict(), "data": splits.info, "versions": versions(),
                                          "n_parameters": count_parameters(state.model)})
    state = fit(cfg, splits, state, checkpoint=lambda st: save_torch(work / "checkpoint.pt", st.checkpoint()),
                progress=progress, stop_after_epoch=stop_after_epoch, where=work)
    metrics = final_metrics(cfg, state, splits)
    pd.DataFrame(state.curve).to_csv(work / "curve.csv", index=False)
    weights = {k: v.detach().cpu().contiguous() for k, v in state.model.state_dict().items()}
    save_torch(work / "weights.pt", weights)
    write_json(work / "metrics.json", metrics)
    return finalize(cfg, work)


def _load_checkpoint(cfg: RunConfig, path: Path, total_steps: int) -> FitState:
    # weights_only: a checkpoint is data (tensors and plain types), never code
    try:
        # onto the CPU: the generator states must stay CPU tensors (load_state_dict moves the rest)
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # pickle.UnpicklingError for code in the file, RuntimeError for a truncated one
        raise ConfigError(f"{path} is not a checkpoint of plain tensors and values "
                          f"({type(e).__name__}); it was not loaded. Delete {path.parent} to train this run "
                          "afresh.") from None
    if not 0 <= int(ck.get("epoch", 0)) <= cfg.epochs:
        raise ConfigError(f"{path} is at epoch {ck.get('epoch')}, beyond this run's {cfg.epochs} epochs; it belongs "
                          f"to another configuration. Delete {path.parent} to train this run afresh.")
    state = FitState.fresh(cfg, ck["attempt"], total_steps, ck["restarts"])
    state.model.load_state_dict(ck["model"])
    state.opt.load_state_dict(ck["optimizer"])
    if state.sched is not None:
        state.sched.load_state_dict(ck["scheduler"])
    _set_rng_state(ck["rng"], state.gen)
    state.epoch, state.curve, state.elapsed = ck["epoch"], ck["curve"], ck["elapsed"]
    return state
