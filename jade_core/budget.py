"""The label-budget curve's tables, from finished runs on disk (never trains).

Runs of the study (:mod:`jade_core.studies`) live in
``<root>/labels-<b>/runs/<variant>/<name>`` (the name carries the pool size and
the length, e.g. ``local-ep1200-l10-restart240-evalevery40-seed3``); the 100-labels
point is Table 1's runs (``<table1>/runs``, the profile's configuration). Every comparison is paired seed by seed
(the same labelled pool for every model of a seed), with a t confidence
interval and a paired t-test, judged by the declared rule of
:mod:`jade_core.verdicts` with every budget and claim one family (the paper's
difference at 100 labels per class; the direction alone at the other budgets,
which the paper did not run).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .report import claim_test, holm, t_half_width
from .verdicts import judge, paper_difference

CLAIMS = [("paired", "single", "paired beats single"), ("jade", "paired", "JADE beats paired"),
          ("jade", "single", "JADE beats single")]


def budget_runs(root="results/label-budget", table1="results", budgets=None) -> pd.DataFrame:
    """One row per finished run (:func:`jade_core.runs.collect_metrics`, which gives
    ``labels_per_class``, ``steps`` and ``device``); Table 1's runs are the 100-labels point."""
    from .runs import collect_metrics
    found = sorted(int(p.name.split("-")[1]) for p in Path(root).glob("labels-*") if p.name.split("-")[1].isdigit())
    parts = [collect_metrics(f"{root}/labels-{b}") for b in budgets or found]
    if table1 is not None:
        t1 = collect_metrics(table1)
        parts.append(t1[t1.config == ""])  # Table 1's configuration only, not other runs beside it
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def budget_summary(runs: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Per budget and variant: seeds, mean and sd of the SVHN error, the 95 % t half-width of the
    mean, training steps and where the runs trained."""
    rows = []
    for (b, v), g in runs.groupby(["labels_per_class", "variant"]):
        e = g["svhn_error"].to_numpy(dtype=float)
        n = len(e)
        half = t_half_width(e, alpha) if n > 1 else np.nan
        rows.append({"labels_per_class": int(b), "variant": v, "seeds": n, "mean": float(e.mean()),
                     "sd": float(e.std(ddof=1)) if n > 1 else np.nan, "ci_half": half,
                     "steps": ", ".join(str(s) for s in sorted(set(g["steps"]))),
                     "device": ", ".join(sorted(set(g["device"])))})
    return pd.DataFrame(rows)


def budget_claims(runs: pd.DataFrame, claims=CLAIMS, alpha: float = 0.05) -> pd.DataFrame:
    """Per budget and claim ``(a, b, text)``: :func:`jade_core.report.claim_test` (a - b, negative: a
    better), Holm's correction of both tests over all rows, and the verdict of
    :func:`jade_core.verdicts.judge` with all rows one family."""
    groups = list(runs.groupby("labels_per_class")) if len(runs) else []
    m = len(groups) * len(claims)
    rows = []
    for b, g in groups:
        for a, c, text in claims:
            t = claim_test(g, a, c, alpha=alpha)
            d = t.pop("differences")
            paper = paper_difference(a, c) if int(b) == 100 else float("nan")
            rows.append({"labels_per_class": int(b), "claim": text, **t, **judge(d, paper, m, alpha)})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out["p_t_holm"] = holm(out["p_t"])
    out["p_wilcoxon_holm"] = holm(out["p_wilcoxon"])
    return out


def length_caveat(summary: pd.DataFrame) -> str:
    """Whether the models of a budget trained equally long (:func:`budget_summary` rows): a sentence naming
    every budget where they did not, since a difference there is partly one of training length."""
    unequal = []
    for b, g in summary.groupby("labels_per_class"):
        if g["steps"].nunique() > 1:
            unequal.append(f"{b} labels per class: " + ", ".join(f"{r.variant} {r.steps}" for r in g.itertuples()))
    if not unequal:
        return "Within each budget every model trained the same number of steps."
    return ("Within a budget the models trained for different numbers of steps (each length chosen on one seed's "
            "validation curve): " + "; ".join(unequal) + ". A difference between two models there is partly one of "
            "training length.")
