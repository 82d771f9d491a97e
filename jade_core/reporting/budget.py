"""The label-budget curve's tables, from finished runs on disk (never trains).

Runs of the study (:mod:`jade_core.experiments.studies`) live in
``<root>/labels-<b>/runs/<variant>/<name>`` (the name carries the pool size and
the length, e.g. ``local-ep1200-l10-restart240-evalevery40-seed3``); the 100-labels
point is Table 1's runs (``<table1>/runs``, the profile's configuration). Every comparison is paired seed by seed
(the same labelled pool for every model of a seed), with a t confidence
interval and a paired t-test, judged by the declared rule of
:mod:`jade_core.reporting.verdicts` with every budget and claim one family (the paper's
difference at 100 labels per class; the direction alone at the other budgets,
which the paper did not run).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..experiments.runs import collect_metrics
from ..experiments.studies import PLANS, budget_folder, study_table1
from ..science.config import VARIANTS
from .report import judged_claims, t_half_width
from .verdicts import paper_difference

CLAIMS = [("paired", "single", "paired beats single"), ("jade", "paired", "JADE beats paired"),
          ("jade", "single", "JADE beats single")]


def budget_runs(root="results/label-budget", table1="results", budgets=None, profile="paper") -> pd.DataFrame:
    """One row per finished run (:func:`jade_core.experiments.runs.collect_metrics`, which gives
    ``labels_per_class``, ``steps`` and ``device``); Table 1's runs of the three models made with the study's
    settings (:func:`jade_core.experiments.studies.study_table1`: in the paper profile the first version's
    Table 1, ``sweeps/table1-bf16.yml``, selected by configuration) are the 100-labels point."""
    parts = [collect_metrics(budget_folder(root, b)) for b in budgets or PLANS[profile].budgets]  # the plan's folders
    if table1 is not None:
        t1 = study_table1(table1, profile)
        parts.append(t1[t1.variant.isin(VARIANTS)])  # the three models, not the ablation beside them
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
    return ("Within a budget the models trained for different numbers of steps (each length chosen on one seed's "
            "validation curve): " + "; ".join(unequal) + ". A difference between two models there is partly one of "
            "training length.")


CLAIM_KEYS = {"paired beats single": "ps", "JADE beats paired": "jp", "JADE beats single": "js"}


def answers(claims: pd.DataFrame) -> dict:
    """The label-budget chapter's findings as glue values (:func:`budget_claims` rows): where the paired
    classifier's advantage over the single one is largest, with every budget's difference, interval and
    verdict (``b_answer_paired``); where JADE's interval against the paired classifier lies below or above
    zero (``b_answer_jade``); and every row's difference (``b_<claim>_<labels>``, e.g. ``b_ps_10``)."""
    out = {}
    ps = claims[claims.claim == "paired beats single"]
    if len(ps):
        best = ps.sort_values("mean_difference").iloc[0]
        out["b_answer_paired"] = (
            f"the paired classifier's advantage over the single classifier is largest at {best.labels_per_class} "
            f"labels per class ({best.mean_difference:+.1f} pp, {100 * best.family_level:.1f} % interval "
            f"[{best.family_low:+.1f}, {best.family_high:+.1f}], Holm-corrected p = {best.p_t_holm:.3f}: {best.verdict});"
            " per budget (labels per class: difference, interval, verdict): "
            + "; ".join(f"{r.labels_per_class}: {r.mean_difference:+.1f} pp [{r.family_low:+.1f}, {r.family_high:+.1f}], "
                        f"{r.verdict}" for r in ps.itertuples()) + ".")
    jp = claims[claims.claim == "JADE beats paired"]
    if len(jp):
        below = ", ".join(str(b) for b in jp[jp.family_high < 0].labels_per_class) or "no budget"
        above = ", ".join(str(b) for b in jp[jp.family_low > 0].labels_per_class) or "no budget"
        out["b_answer_jade"] = (f"JADE against the paired classifier: its interval lies below zero (JADE better) at "
                                f"{below}, above zero (JADE worse) at {above} labels per class, and contains zero "
                                "elsewhere; verdicts " + ", ".join(f"{r.labels_per_class}: {r.verdict}"
                                                                   for r in jp.itertuples()) + ".")
    for r in claims.itertuples():
        out[f"b_{CLAIM_KEYS[r.claim]}_{r.labels_per_class}"] = f"{r.mean_difference:+.2f}"
    return out
