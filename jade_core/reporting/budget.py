"""The label-budget curve's tables, from finished runs on disk (never trains).

The equal-steps study: the grid ``sweeps/label-budget.yml``, every model at every budget trained for Table 1's
number of optimisation steps, with Table 1's settings, in one design with Table 1, whose three models are its
100-labels point; runs selected by configuration (:func:`equal_steps_runs`).
A folder's name is a label for people: runs are found by configuration. Every comparison is paired seed by seed
(the same labelled pool for every model of a seed), with a t confidence
interval and a paired t-test, judged by the declared rule of
:mod:`jade_core.reporting.verdicts` with every budget and claim one family (the paper's
difference at 100 labels per class; the direction alone at the other budgets,
which the paper did not run).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import yaml

from ..experiments.grid import expected, grid_file, select
from ..experiments.runs import run_row
from ..experiments.studies import table1_without_warmup
from ..experiments.sweep import for_profile
from ..science.config import VARIANTS, resolve_config
from .plotting import VARIANT_NAMES
from .report import claims_markdown, judged_claims, t_half_width
from .verdicts import paper_difference

CLAIMS = [("paired", "single", "paired beats single"), ("jade", "paired", "JADE beats paired"),
          ("jade", "single", "JADE beats single")]


EQUAL_STEPS = "label-budget"  # sweeps/label-budget.yml


def equal_steps_runs(results="results", profile="paper") -> pd.DataFrame:
    """The equal-steps study's finished runs (grid :data:`EQUAL_STEPS`, selected by the configuration each
    run recorded) and, as its 100-labels point, Table 1's runs of the three models with the study's settings
    and its 2,400 steps (:func:`jade_core.experiments.studies.table1_without_warmup`: JADE without the warm-up of
    w_match, as in the study), both under the results folder ``results``."""
    own = select(EQUAL_STEPS, results, profiles=[profile])
    t1 = table1_without_warmup(results, profile)  # its JADE, like the study's, without the warm-up of w_match
    parts = [p for p in (own, t1[t1.variant.isin(VARIANTS)]) if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=run_row.COLUMNS)


def equal_steps_planned(results="results", profile="paper") -> list:
    """resolve_config keyword arguments of every run of the equal-steps grid (its 100-labels point aside)."""
    return [kw for _, kw in expected(EQUAL_STEPS, profile, results)]


def grid_budgets(planned: list) -> list:
    """The labels per class of the runs ``planned`` (:func:`equal_steps_planned`)."""
    return sorted({resolve_config(**kw).labels_per_class for kw in planned})


def own_runs(runs: pd.DataFrame, planned: list) -> pd.DataFrame:
    """The rows of :func:`equal_steps_runs` that are the grid's own runs (its budgets), not Table 1's."""
    return runs[runs.labels_per_class.isin(grid_budgets(planned))]


def equal_steps_lengths(profile="paper") -> dict:
    """The equal-steps grid's lengths for ``profile``, in optimisation steps (its file's ``steps``:
    train, validate, restart)."""
    path = grid_file(EQUAL_STEPS)
    return for_profile(yaml.safe_load(path.read_text())["steps"], profile, path, "steps")


def comparable(runs: pd.DataFrame, variants=VARIANTS) -> pd.DataFrame:
    """The runs of the budgets where every one of ``variants`` has two seeds or more in common: those a
    paired interval can be computed for (a budget part-way through its runs is left out until then)."""
    keep = []
    for b, g in runs.groupby("labels_per_class"):
        common = set.intersection(*[set(g[g.variant == v].seed) for v in variants])
        if len(common) >= 2:
            keep.append(g[g.seed.isin(common)])
    return pd.concat(keep, ignore_index=True) if keep else runs.iloc[:0]


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
    """Per budget and claim ``(a, b, text)``: :func:`jade_core.reporting.report.claim_test` (a - b, negative: a
    better), Holm's correction of both tests over all rows, and the verdict of
    :func:`jade_core.reporting.verdicts.judge` with all rows one family."""
    groups = list(runs.groupby("labels_per_class")) if len(runs) else []
    return judged_claims([({"labels_per_class": int(b), "claim": text}, g, a, c,
                           paper_difference(a, c) if int(b) == 100 else float("nan"))
                          for b, g in groups for a, c, text in claims], alpha)


def length_caveat(summary: pd.DataFrame) -> str:
    """Whether the models of a budget trained equally long (:func:`budget_summary` rows): a sentence naming
    every budget where they did not, since a difference there is partly one of training length."""
    unequal = []
    for b, g in summary.groupby("labels_per_class"):
        if g["steps"].nunique() > 1:
            unequal.append(f"{b} labels per class: " + ", ".join(f"{r.variant} {r.steps}" for r in g.itertuples()))
    if not unequal:
        return "Within each budget every model trained the same number of steps."
    return ("Within a budget the models trained for different numbers of steps: " + "; ".join(unequal)
            + ". A difference between two models there is partly one of training length.")


def shown_summary(summary: pd.DataFrame, names=None):
    """:func:`budget_summary` as a page shows it: labels per class, model (``names`` overriding
    :data:`~jade_core.reporting.plotting.VARIANT_NAMES`), seeds, mean ± sd, the 95 % half-width, steps and
    device (a pandas Styler without the index)."""
    shown = summary.assign(model=summary.variant.map({**VARIANT_NAMES, **(names or {})}),
                           error=[f"{m:.2f} ± {s:.2f}" for m, s in zip(summary["mean"], summary.sd)],
                           ci=summary.ci_half.map("± {:.2f}".format))
    shown = shown.rename(columns={"labels_per_class": "labels per class", "error": "SVHN error (%)",
                                  "ci": "95 % CI of the mean"})
    return shown[["labels per class", "model", "seeds", "SVHN error (%)", "95 % CI of the mean", "steps",
                  "device"]].style.hide(axis="index")


def claims_by_budget(claims: pd.DataFrame, jade: str = "JADE") -> str:
    """:func:`budget_claims` as the Markdown table of :func:`jade_core.reporting.report.claims_markdown`, each
    row named by its budget, JADE named ``jade`` (e.g. "JADE, no warm-up"); a sentence when no budget can be
    judged yet."""
    if claims.empty:
        return "*No budget has two seeds of every model yet.*"
    return claims_markdown(claims.assign(claim=[f"{b} labels: {c.replace('JADE', jade)}"
                                                for b, c in zip(claims.labels_per_class, claims.claim)]))


CLAIM_KEYS = {"paired beats single": "ps", "JADE beats paired": "jp", "JADE beats single": "js"}


def differences(claims: pd.DataFrame, prefix: str = "b") -> dict:
    """Every row's mean difference of :func:`budget_claims` as a glue value, ``<prefix>_<claim>_<labels>``
    (e.g. ``b_ps_10``: paired minus single at 10 labels per class, pp)."""
    return {f"{prefix}_{CLAIM_KEYS[r.claim]}_{r.labels_per_class}": f"{r.mean_difference:+.2f}" for r in claims.itertuples()}
