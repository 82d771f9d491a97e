"""The paper's claims, one record: each claim's difference on our runs with its interval, the paper's own
difference, the verdict of :mod:`jade_core.reporting.verdicts` and what the data still allow. The front
page's table, the forest plot (:func:`jade_core.reporting.plotting.forest`) and the README's block are all
drawn from it.

The SVHN claims are Table 1's family (its four comparisons, the ablation included, so each interval is the
one Table 1's page shows). The MNIST claim is judged alone: JADE's MNIST test error minus the paired
classifier's, against the paper's 0.72 − 0.82 = −0.10 pp ("without sacrificing ... performance on MNIST").
The warm-up rows are the same SVHN claims with Table 1's JADE as made without the warm-up of ``w_match``
(same family, the other runs unchanged): the sensitivity of the verdicts to the one choice that decided them
by a fraction of a point of validation error. Figure 2's claim is a ratio, not a difference: it has a row of
its own (:func:`figure2_rows`), in the table only.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..science.paper import TABLE1
from . import report
from .verdicts import judge

# (key, claim as the table names it, A, B, metric): "A has lower error than B"
PAPER_CLAIMS = (("paired_single", "Paired beats single", "paired", "single", "svhn_error"),
                ("jade_paired", "JADE beats paired", "jade", "paired", "svhn_error"),
                ("jade_single", "JADE beats single", "jade", "single", "svhn_error"))
MNIST_CLAIM = ("jade_mnist", "JADE keeps MNIST error low (vs paired)", "jade", "paired", "mnist_error")
NO_WARMUP = ", JADE without warm-up"  # the sensitivity rows' suffix
COLUMNS = ["key", "claim", "metric", "paper", "mean", "low", "high", "level", "verdict", "allows", "seeds", "runs"]


def _paper(a: str, b: str, metric: str) -> float:
    col = {"svhn_error": "svhn_mean", "mnist_error": "mnist_mean"}[metric]
    means = {r.variant: getattr(r, col) for r in TABLE1.itertuples() if r.variant}
    return float(means[a] - means[b]) if a in means and b in means else float("nan")


def allows(a: str, low: float, high: float) -> str:
    """What the interval [low, high] of A − B (pp) leaves possible, in a short phrase."""
    if np.isnan(low) or np.isnan(high):
        return "–"
    if high < 0:
        return f"{a} better by {-high:.1f} to {-low:.1f} pp"
    if low > 0:
        return f"{a} worse by {low:.1f} to {high:.1f} pp"
    return f"{a} up to {-low:.1f} pp better or {high:.1f} pp worse"


def _row(key, claim, a, b, metric, runs, m) -> dict:
    c = report.claim_test(runs, a, b, metric=metric)
    j = judge(c["differences"], _paper(a, b, metric), m)
    name = {"jade": "JADE", "paired": "paired", "single": "single"}[a]
    used = runs[runs.variant.isin([a, b]) & runs[metric].notna()]
    return {"key": key, "claim": claim, "metric": metric, "paper": j["paper_difference"], "mean": c["mean_difference"],
            "low": j["family_low"], "high": j["family_high"], "level": j["family_level"], "verdict": j["verdict"],
            "allows": allows(name, j["family_low"], j["family_high"]), "seeds": c["seeds"], "runs": list(used.path)}


def record(runs: pd.DataFrame, no_warmup: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per claim (:data:`COLUMNS`): ``runs`` are Table 1's (labelled ``single``, ``paired``, ``jade``,
    ``jade_nomatch``); ``no_warmup`` Table 1's runs with its JADE made without the warm-up
    (:func:`jade_core.experiments.studies.table1_without_warmup`), for the sensitivity rows. ``runs`` of a row:
    the run folders its number was computed from."""
    m = len(report.family_of(runs))  # Table 1's family: the paper's three claims and the ablation
    rows = [_row(*claim[:2], *claim[2:], runs, m) for claim in PAPER_CLAIMS]
    rows.append(_row(*MNIST_CLAIM, runs, 1))
    if no_warmup is not None and len(no_warmup):
        m_alt = len(report.family_of(no_warmup))
        rows += [_row(f"{k}_no_warmup", claim + NO_WARMUP, a, b, metric, no_warmup, m_alt)
                 for k, claim, a, b, metric in PAPER_CLAIMS if "jade" in (a, b)]
    return pd.DataFrame(rows, columns=COLUMNS)


def figure2_row(controls: pd.DataFrame, content_style: float, runs: list) -> dict:
    """Figure 2's claim as a table row: JADE's content/style ratio of within-class variance (below 1: as the
    paper reads its Figure 2) and whether its content is steadier than both classifiers' bottlenecks
    (``controls``: :func:`jade_core.reporting.findings.figure2`'s first value)."""
    specific = bool(len(controls)) and bool(controls.steadier.all())
    return {"claim": "Content varies less than style within a class (Figure 2)", "paper": "below 1 (read off)",
            "ours": f"ratio {content_style:.2f}",
            "verdict": ("reproduced" if content_style < 1 else "contradicted")
            + ("; specific to JADE" if specific else "; not specific to JADE"),
            "allows": ("classifiers' features are as steady" if not specific else "JADE's content steadier"),
            "runs": runs}


def table(rec: pd.DataFrame, figure2: dict | None = None) -> pd.DataFrame:
    """The compact claims table for people: claim | the paper's difference (pp) | ours with its interval |
    verdict | what the data still allow; Figure 2's row last when given."""
    out = pd.DataFrame({
        "Claim": rec.claim,
        "Paper (pp)": [f"{p:+.2f}" if not np.isnan(p) else "–" for p in rec.paper],
        "Ours (pp, family interval)": [f"{m:+.2f} [{lo:+.2f}, {hi:+.2f}]" if not np.isnan(lo) else f"{m:+.2f}"
                                       for m, lo, hi in zip(rec["mean"], rec.low, rec.high)],
        "Verdict": rec.verdict, "The data allow": rec.allows})
    if figure2:
        out.loc[len(out)] = [figure2["claim"], figure2["paper"], figure2["ours"], figure2["verdict"], figure2["allows"]]
    return out


def markdown(rec: pd.DataFrame, figure2: dict | None = None) -> str:
    """:func:`table` as a Markdown table (the README's block and the front page)."""
    t = table(rec, figure2)
    lines = ["| " + " | ".join(t.columns) + " |", "|" + "---|" * len(t.columns)]
    lines += ["| " + " | ".join(str(x) for x in r) + " |" for r in t.itertuples(index=False)]
    return "\n".join(lines) + "\n"
