"""The introduction's findings: one function that computes every sentence the intro glues, from the
same library functions the chapters use (so the intro quotes its chapters' verdicts, never recomputes
them its own way)."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from . import budget, report, studies
from .plotting import VARIANT_NAMES
from .runs import collect_recipe
from .verdicts import describe


def intro(runs: pd.DataFrame, output_dir, profile: str) -> tuple:
    """``(values, read)``: the intro's glue values (key -> text) and the run folders they were computed
    from. ``runs``: Table 1's runs of the build's protocol (:func:`jade_core.notebook.table_runs`)."""
    values, read = {}, list(runs.path)
    claims = report.claims_table(runs, report.family_of(runs)) if len(runs) else pd.DataFrame()
    said = {c.claim: describe(c) for c in claims.itertuples()}
    for a, b, text in report.CLAIMS:
        values[f"intro_{a}_{b}"] = said.get(text, f"{text}: not run yet.")
    old_file = Path(__file__).resolve().parents[1] / "results" / "superseded" / "old-cut-runs-2026-11.csv"
    old = pd.read_csv(old_file) if profile == "paper" else None
    for v in ("single", "paired", "jade"):
        g = old[old.variant == v].svhn_error if old is not None else pd.Series(dtype=float)
        values[f"old_{v}"] = report.fmt(g.mean(), g.std(ddof=1)) if len(g) else "–"
    counts = runs.groupby("variant").seed.nunique() if len(runs) else pd.Series(dtype=int)
    values["intro_seeds"] = ", ".join(f"{VARIANT_NAMES[v]} {int(counts.get(v, 0))}" for v in report.VARIANT_ORDER)

    broot = Path(output_dir) / "label-budget"
    bruns = budget.budget_runs(broot, table1=output_dir) if broot.exists() else pd.DataFrame()
    read += list(bruns.path) if len(bruns) else []
    bclaims = budget.budget_claims(bruns).set_index("claim") if len(bruns) else pd.DataFrame()
    for key, text in (("ps", "paired beats single"), ("jp", "JADE beats paired")):
        rows = bclaims.loc[[text]] if text in bclaims.index else pd.DataFrame()
        values[f"intro_budget_{key}"] = "not run in this profile" if rows.empty else "; ".join(
            f"{r.labels_per_class}: {r.mean_difference:+.1f} [{r.family_low:+.1f}, {r.family_high:+.1f}], {r.verdict}"
            for r in rows.itertuples())
    values["intro_recipe"], recipe_runs = _recipe(output_dir)
    read += recipe_runs
    values["intro_mnist"] = _mnist(runs, output_dir)
    return values, read


def _recipe(output_dir) -> tuple:
    rfile = Path(output_dir) / "recipe" / "choice.json"
    if not rfile.exists():
        return "not run in this profile", []
    rfinal = collect_recipe(output_dir)[0]
    rchoice = json.loads(rfile.read_text())
    rval = {r["candidate"]: r["svhn_val_error"] for r in rchoice["table"]}[rchoice["chosen"]]
    rtext = f"chosen on validation for the single classifier ({rval:.1f} % validation error, seed 0); "
    if len(rfinal) < 3 * len(studies.RECIPE_SEEDS):
        return rtext + (f"{len(rfinal)} of {3 * len(studies.RECIPE_SEEDS)} final runs finished so far: whether the "
                        "paper's ranking survives it is still open"), list(rfinal.path)
    rs = report.summary_table(rfinal).set_index("variant")
    rc = report.claims_table(rfinal, report.family_of(rfinal))  # the Table 1 chapter's recipe family
    rtext += (f"with it the means drop to {rs.svhn_mean.min():.1f}–{rs.svhn_mean.max():.1f} % SVHN error ("
              + ", ".join(f"{VARIANT_NAMES[v]} {report.fmt(rs.loc[v].svhn_mean, rs.loc[v].svhn_sd)}"
                          for v in ("single", "paired", "jade")) + " %); "
              + " ".join(describe(c) for c in rc.itertuples() if c.claim != "JADE beats single"))
    return rtext, list(rfinal.path)


def _mnist(runs: pd.DataFrame, output_dir) -> str:
    summ = report.summary_table(runs).set_index("variant") if len(runs) else pd.DataFrame()
    gap = report.mnist_gap(output_dir, Path(output_dir) / "mnist-schedule")

    def by_model(recipe, column):
        """Per model, ``column`` of the MNIST-gap runs of ``recipe`` (2,400 steps for the plain recipes)."""
        return gap[(gap.recipe == recipe) & ((gap.steps == 2400) | (recipe == "tuned recipe"))].groupby("variant")[column]

    if summ.empty or not len(gap):
        return "not run in this profile"
    one, tuned = by_model("plain, one-cycle schedule", "mnist_error"), by_model("tuned recipe", "mnist_error")
    one_mean, tuned_mean = one.mean(), tuned.mean()
    if tuned_mean.empty or one_mean.empty:
        return "not run in this profile"

    def seeds(g):
        return "–".join(str(n) for n in sorted({int(g.count().min()), int(g.count().max())}))
    paper_mnist = report.PAPER_TABLE1.set_index("variant").mnist_mean
    return (f"with the plain recipe ours is {summ.loc['paired'].mnist_mean:.2f} % (paired) and "
            f"{summ.loc['jade'].mnist_mean:.2f} % (JADE) against the paper's {paper_mnist['paired']:.2f} and "
            f"{paper_mnist['jade']:.2f} %; with a one-cycle learning rate at the same length "
            f"{one_mean.get('paired', float('nan')):.2f} and {one_mean.get('jade', float('nan')):.2f} % "
            f"({seeds(one)} seeds), with the tuned recipe {tuned_mean.get('paired', float('nan')):.2f} and "
            f"{tuned_mean.get('jade', float('nan')):.2f} % ({seeds(tuned)} seeds)")
