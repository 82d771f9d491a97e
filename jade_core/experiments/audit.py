"""What a reader must be told about the reported runs, computed from them: which reported run is a
search run (or a copy of one), how much the seeds' labelled pools overlap, and which arithmetic and
devices made the runs of one comparison.

A search chooses something on its runs' validation images; a reported run that *is* one of those runs
(same metrics and the same learning curve) was selected, not drawn, and its error is biased in the
search's favour. Reported runs and search runs must therefore be disjoint (the issue "What the book
promises must be true"); :func:`search_copies` finds the pairs that are not.
"""
from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..science.config import ConfigError, RunConfig, default_data_dir
from ..science.data import build_splits
from ..science.evaluate import error_rate, predict
from .runs import load_run
from .selection import SMALL_VAL_PER_CLASS

SEARCH_DIRS = ("tuning", "search", "label-budget/length", "recipe/search")  # under a results folder


def run_fingerprint(path) -> str:
    """What two copies of one run share, and two trainings of one configuration too, but two different
    runs do not: its learning curve without the wall-clock columns, and its SVHN evaluation error
    (16 hex of sha256)."""
    p = Path(path)
    m = json.loads((p / "metrics.json").read_text())
    curve = pd.read_csv(p / "curve.csv")
    curve = curve[[c for c in curve.columns if "seconds" not in c]]
    h = hashlib.sha256(curve.to_csv(index=False).encode())
    h.update(repr(m["svhn"]["error"]).encode())
    return h.hexdigest()[:16]


def search_runs(results="results") -> list:
    """Every finished run folder under the results folder's search folders (:data:`SEARCH_DIRS`)."""
    out = []
    for sub in SEARCH_DIRS:
        out += sorted(m.parent for m in (Path(results) / sub).glob("**/runs/*/*/metrics.json")
                      if (m.parent / "curve.csv").exists())
    return out


def search_copies(reported, results="results") -> pd.DataFrame:
    """Pairs (``reported``, ``search``) of a reported run folder and a search run with the same
    fingerprint (:func:`run_fingerprint`); ``reported`` is a list of run folders. Empty when the reported
    runs are apart from every search."""
    prints = {}
    for s in search_runs(results):
        prints.setdefault(run_fingerprint(s), []).append(str(s))
    rows = [{"reported": str(r), "search": s} for r in reported for s in prints.get(run_fingerprint(r), [])
            if Path(s).resolve() != Path(r).resolve()]
    return pd.DataFrame(rows, columns=["reported", "search"])


def pool_overlap(paths) -> dict:
    """How much the labelled pools of the runs' seeds overlap (from each ``config.json``): over all pairs
    of distinct seeds, the mean share of one pool's images that the other pool also holds, and the
    largest such mean over digits (the rarest digit's pools overlap most). NaN below two seeds."""
    pools, labels = {}, {}
    for p in paths:
        saved = json.loads((Path(p) / "config.json").read_text())
        seed = saved["config"]["seed"]
        pools.setdefault(seed, np.asarray(saved["data"]["pool_official_index"]))
        labels.setdefault(seed, saved["config"]["labels_per_class"])
    seeds = sorted(pools)
    if len(seeds) < 2:
        return {"seeds": len(seeds), "mean": float("nan"), "worst_digit": float("nan"), "digit": None}
    shares, per_digit = [], {}
    for a, b in itertools.combinations(seeds, 2):
        pa, pb = pools[a], pools[b]
        shares.append(len(np.intersect1d(pa, pb)) / len(pa))
        k = labels[a]
        if len(pa) == 10 * k and len(pb) == 10 * k:  # pools are stored digit by digit, k images each
            for d in range(10):
                per_digit.setdefault(d, []).append(len(np.intersect1d(pa[d * k:(d + 1) * k], pb[d * k:(d + 1) * k])) / k)
    worst = max(per_digit, key=lambda d: np.mean(per_digit[d])) if per_digit else None
    return {"seeds": len(seeds), "mean": float(np.mean(shares)),
            "worst_digit": float(np.mean(per_digit[worst])) if worst is not None else float("nan"), "digit": worst}


def arithmetic(paths) -> pd.DataFrame:
    """How the runs were computed: one row per (precision, device, torch version) with its run count."""
    rows = []
    for p in paths:
        saved = json.loads((Path(p) / "config.json").read_text())
        rows.append({"precision": saved["config"].get("precision"), "device": saved["config"].get("device", "cpu"),
                     "torch": saved.get("versions", {}).get("torch", "unrecorded")})
    t = pd.DataFrame(rows, columns=["precision", "device", "torch"])
    return t.value_counts().rename("runs").reset_index() if len(t) else t.assign(runs=[])


def caveats(runs: pd.DataFrame, results="results", default_precision: str | None = None) -> dict:
    """The caveats of one table of runs (``runs.path``), as sentences for its page: search copies, pool
    overlap and arithmetic. Each value with the numbers it was computed from."""
    default_precision = default_precision or RunConfig.precision
    paths = list(runs.path)
    copies = search_copies(paths, results)
    budgets = sorted(set(runs.labels_per_class.dropna().astype(int))) if "labels_per_class" in runs else []
    by_budget = {b: pool_overlap(runs[runs.labels_per_class == b].path) for b in budgets} if len(budgets) > 1 else {}
    ov = pool_overlap(paths) if not by_budget else max(by_budget.values(), key=lambda o: o["mean"])
    ar = arithmetic(paths)
    out = {"copies": copies, "overlap": ov, "overlap_by_budget": by_budget, "arithmetic": ar}
    if len(copies):
        out["copies_text"] = (f"{len(copies)} reported run(s) of this table are search runs, selected on their own "
                              "validation images: " + "; ".join(f"{Path(r.reported).parent.name}/{Path(r.reported).name}"
                              f" is {Path(r.search).relative_to(Path(results)) if Path(results) in Path(r.search).parents else r.search}"
                              for r in copies.itertuples()) + ". Their errors favour the search's choice; the re-made "
                              "table trains every reported seed apart from the searches.")
    else:
        out["copies_text"] = "No reported run of this table is a search run or a copy of one."
    if by_budget:
        out["overlap_text"] = ("The seeds' labelled pools overlap; two seeds share on average, per labels per class: "
                               + "; ".join(f"{b}: {100 * o['mean']:.0f} % (digit {o['digit']}: {100 * o['worst_digit']:.0f} %)"
                                           for b, o in by_budget.items() if not np.isnan(o["mean"]))
                               + ", so the seed-to-seed spread understates that of independent labelled sets.")
    else:
        out["overlap_text"] = ("" if np.isnan(ov["mean"]) else
                               f"The {ov['seeds']} seeds' labelled pools overlap: two seeds share on average "
                               f"{100 * ov['mean']:.0f} % of their images (digit {ov['digit']}: "
                               f"{100 * ov['worst_digit']:.0f} %), so the seed-to-seed spread understates that of "
                               "independent labelled sets.")
    parts = [f"{r.runs} in {r.precision} on {r.device} (torch {r.torch})" for r in ar.itertuples()]
    off = ar[ar.precision != default_precision].runs.sum() if len(ar) else 0
    out["arithmetic_text"] = (f"Arithmetic of these runs: {'; '.join(parts)}."
                              + (f" {off} of them are not in the default precision ({default_precision}): they were "
                                 "made before fp32 became the default (bf16 is fast only on CPUs with bf16 hardware) "
                                 "and are read as they are until the table is re-made." if off else ""))
    return out


def first_per_class(y, per_class: int) -> np.ndarray:
    """Positions of the first ``per_class`` images of each digit in ``y``: the validation images of each digit
    are drawn at random (:func:`jade_core.science.split.select_validation`), so the first k of them are a random k."""
    y = np.asarray(y)
    return np.concatenate([np.flatnonzero(y == c)[:per_class] for c in range(10)])


def small_validation_errors(paths, per_class: int = 10, data_dir=None) -> pd.DataFrame:
    """Each run's SVHN validation error on only ``per_class`` of its validation images per digit
    (:func:`first_per_class`), from its weights: would a choice have changed with a validation set this small
    (the issue "What the book promises must be true", caveats)? One row per run: ``fingerprint``
    (:func:`run_fingerprint`, so a renamed folder still matches), ``per_class``, ``svhn_val_error`` on the
    subset, and ``svhn_val_error_all`` recomputed on the whole validation set, which must equal the error
    the run recorded (raises ConfigError otherwise: the weights or the data are not the run's). Read from
    the per-image predictions a run records (``metrics.json``), else from its weights."""
    rows = []
    for p in paths:
        recorded_val = json.loads((Path(p) / "metrics.json").read_text())["svhn_val"]
        if "pred" in recorded_val:              # recorded per image (runs since the check exists): no weights
            y, pred = (torch.tensor([int(c) for c in recorded_val[k]]) for k in ("true", "pred"))
        else:                                   # older runs: from the weights (a clear error when not kept)
            run = load_run(p)
            cfg = dataclasses.replace(run.config, data_dir=data_dir or default_data_dir())
            x, y = build_splits(cfg, need_mnist=False).svhn_val
            pred = predict(run.model, x, "svhn", cfg.precision, cfg.channels_last)
        whole, recorded = error_rate(y, pred), recorded_val["error"]
        if abs(whole - recorded) > 1e-3:
            raise ConfigError(f"{p}: its validation error recomputed from its weights is {whole:.2f} %, not the "
                              f"{recorded:.2f} % it recorded; its weights or the data are not the run's.")
        sel = torch.from_numpy(first_per_class(y.numpy(), per_class))
        rows.append({"fingerprint": run_fingerprint(p), "per_class": per_class,
                     "svhn_val_error": error_rate(y[sel], pred[sel]), "svhn_val_error_all": whole})
    return pd.DataFrame(rows, columns=["fingerprint", "per_class", "svhn_val_error", "svhn_val_error_all"])


def validation_caveat(runs: pd.DataFrame) -> str:
    """The validation set's size against the label budget (Oliver et al., 2018: choices made on many extra
    labels flatter a few-label method), from the runs' configurations."""
    cfgs = [json.loads((Path(p) / "config.json").read_text())["config"] for p in runs.path]
    if not cfgs:
        return ""
    val = sorted({10 * c.get("val_per_class", 0) for c in cfgs})
    lab = sorted({10 * c.get("labels_per_class", 0) for c in cfgs})
    return (f"Every choice behind these runs was made on {', '.join(map(str, val))} labelled validation images beside "
            f"the {', '.join(map(str, lab))} labelled training images: extra labels a real few-label user would not "
            "have (Oliver et al., 2018), so the tuned settings may flatter every model alike. The tuning chapter "
            "shows how often the settings search would have chosen otherwise with "
            f"{SMALL_VAL_PER_CLASS} validation images per digit.")
