"""The verdict rule of every claims table, declared before the runs it judges, set against the paper.

A claim "A has lower SVHN error than B" is judged from the per-seed differences
d = A − B (negative: A better) over the n seeds both models have, in a family
of m claims tested together (Table 1's four, a study's rows):

- **primary test**: the paired t-test, Holm-adjusted over the family; its
  companion interval is the t interval at the family's level, 1 − α/m
  (Bonferroni): ``mean(d) ± t_{1−α/(2m), n−1} · sd(d)/√n``. The interval
  excluding 0 is the t-test rejecting at α/m, which implies Holm's rejection;
- **robustness test**: the Wilcoxon signed-rank test, Holm-adjusted, shown
  beside it and never a veto (at 5 seeds it cannot go below 2/2⁵);
- **verdict**, from the family interval and the paper's own difference Δ
  (Table 1 of the paper, means over its 3 runs):

  * *reproduced*: the interval excludes 0 on the paper's side;
  * *contradicted*: it does not, and it excludes Δ (the data rule out the
    paper's effect: it is 0 or the other way);
  * *inconclusive*: it contains both 0 and Δ.

  A claim the paper gives no number for (the ``w_match = 0`` ablation, other
  label budgets) is judged on its direction: *reproduced* when the interval
  lies below 0, *contradicted* when above, else *inconclusive*.

The power of this rule is computed by simulation of the t statistic
(:func:`rule_power`), so that "inconclusive" has a size: the smallest true
difference the rule reaches *reproduced* for with 80 % power at the observed
spread (:func:`detectable_by_rule`), and the number of seeds it would need at
the paper's effect (:func:`seeds_needed`).
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy import stats

from ..science.paper import TABLE1  # the one module that quotes the paper

VERDICTS = ("reproduced", "contradicted", "inconclusive")
PRIMARY_TEST = "paired t-test, Holm-adjusted; verdict from the t interval at the family's level (1 − α/m)"
ROBUSTNESS_TEST = "Wilcoxon signed-rank test, Holm-adjusted (shown, not a veto)"
ALPHA = 0.05  # the error rate of a family of claims (Bonferroni: each interval at 1 - ALPHA/m)
POWER = 0.8
SIMULATIONS = 20000
MAX_SEEDS = 500


def paper_difference(a: str, b: str) -> float:
    """The paper's own SVHN error difference A − B (pp), from its Table 1 means
    (:data:`jade_core.science.paper.TABLE1`); NaN when the paper has no row for A or B."""
    means = {r.variant: r.svhn_mean for r in TABLE1.itertuples() if r.variant}
    return float(means[a] - means[b]) if a in means and b in means else float("nan")


def family_interval(d, m: int, alpha: float = ALPHA) -> tuple:
    """The t interval of mean(d) at level 1 − alpha/m: (low, high); NaN below 2 values or without spread."""
    d = np.asarray(d, dtype=float)
    n = len(d)
    if n < 2 or not np.std(d) > 0:
        return float("nan"), float("nan")
    half = stats.t.ppf(1 - alpha / (2 * m), n - 1) * d.std(ddof=1) / np.sqrt(n)
    return float(d.mean() - half), float(d.mean() + half)


def verdict(low: float, high: float, paper: float) -> str:
    """One of :data:`VERDICTS` from the family interval [low, high] and the paper's difference
    (NaN: the claim's direction only, "A better" = negative); "too few seeds" without an interval."""
    if np.isnan(low) or np.isnan(high):
        return "too few seeds"
    side = -1.0 if np.isnan(paper) or paper == 0 else float(np.sign(paper))
    if (side < 0 and high < 0) or (side > 0 and low > 0):
        return "reproduced"
    if np.isnan(paper):
        return "contradicted" if (side < 0 and low > 0) or (side > 0 and high < 0) else "inconclusive"
    return "contradicted" if not low <= paper <= high else "inconclusive"


def _t_draws(n: int, sims: int, seed: int):
    """Common random numbers for the t statistic of n normal differences: z ~ N(0, 1) (the mean) and
    sqrt(chi2(n-1)/(n-1)) (the sd), so that the power is monotone in the true difference."""
    rng = np.random.default_rng([int(seed), int(n)])
    return rng.standard_normal(sims), np.sqrt(rng.chisquare(n - 1, sims) / (n - 1))


def rule_power(delta: float, sd: float, n: int, m: int, alpha: float = ALPHA, sims: int = SIMULATIONS,
               seed: int = 0) -> float:
    """Probability that :func:`verdict` says *reproduced* when the true mean difference is ``delta``
    (on the paper's side, i.e. its sign) and the differences are normal with sd ``sd``, over ``n`` seeds in a
    family of ``m`` claims: simulated t statistics T = (delta·√n/sd + z)/s against t_{1−α/(2m), n−1}."""
    if n < 2 or not sd > 0:
        return float("nan")
    z, s = _t_draws(n, sims, seed)
    crit = stats.t.ppf(1 - alpha / (2 * m), n - 1)
    t = (abs(delta) * np.sqrt(n) / sd + z) / s
    return float(np.mean(t > crit))


def detectable_by_rule(sd: float, n: int, m: int, alpha: float = ALPHA, power: float = POWER,
                       sims: int = SIMULATIONS, seed: int = 0) -> float:
    """The smallest true difference (pp, magnitude) that the rule calls *reproduced* with ``power``,
    at spread ``sd`` over ``n`` seeds in a family of ``m``; NaN below 2 seeds or without spread."""
    if n < 2 or not sd > 0:
        return float("nan")
    z, s = _t_draws(n, sims, seed)
    crit = stats.t.ppf(1 - alpha / (2 * m), n - 1)
    # power(delta) = P((delta·√n/sd + z)/s > crit) = P(z - crit·s > -delta·√n/sd): the (1 - power) quantile
    # of crit·s - z gives delta·√n/sd exactly on these draws
    need = np.quantile(crit * s - z, power)
    return float(max(need, 0.0) * sd / np.sqrt(n))


def seeds_needed(delta: float, sd: float, m: int, alpha: float = ALPHA, power: float = POWER,
                 sims: int = SIMULATIONS, seed: int = 0, max_seeds: int = MAX_SEEDS) -> float:
    """The fewest seeds with which the rule reaches *reproduced* with ``power`` if the true difference is
    ``delta`` (the paper's) at the observed spread ``sd``; NaN without an effect or a spread, inf beyond
    ``max_seeds``."""
    if np.isnan(delta) or delta == 0 or not sd > 0:
        return float("nan")
    lo, hi = 2, 2
    while rule_power(delta, sd, hi, m, alpha, sims, seed) < power:
        if hi >= max_seeds:
            return float("inf")
        lo, hi = hi, min(2 * hi, max_seeds)
    while lo < hi:  # the smallest n in (lo, hi] with enough power (monotone up to simulation noise)
        mid = (lo + hi) // 2
        if rule_power(delta, sd, mid, m, alpha, sims, seed) >= power:
            hi = mid
        else:
            lo = mid + 1
    return int(hi)


def judge(d, paper: float, m: int, alpha: float = ALPHA) -> dict:
    """Everything the rule says of one claim's per-seed differences ``d``: the family interval, the
    verdict against ``paper``, the detectable difference and the seeds needed at the paper's effect."""
    d = np.asarray(d, dtype=float)
    low, high = family_interval(d, m, alpha)
    sd = float(d.std(ddof=1)) if len(d) > 1 else float("nan")
    return {"paper_difference": paper, "family_level": 1 - alpha / m, "family_low": low, "family_high": high,
            "verdict": verdict(low, high, paper), "detectable": detectable_by_rule(sd, len(d), m, alpha),
            "seeds_needed": seeds_needed(paper, sd, m, alpha)}


def describe(row) -> str:
    """A claim's verdict as one sentence for a page (``row``: a row of a claims table)."""
    if row.verdict == "too few seeds":
        return f"{row.claim}: too few seeds with differing results to judge."
    pct = f"{100 * row.family_level:.1f} %"
    text = (f"{row.claim}: {row.mean_difference:+.2f} pp, {pct} interval [{row.family_low:+.2f}, "
            f"{row.family_high:+.2f}]")
    text += (f" against the paper's {row.paper_difference:+.2f} pp" if not pd.isna(row.paper_difference)
             else " (the paper gives no number)")
    text += f": {row.verdict}"
    if row.verdict == "contradicted" and not pd.isna(row.paper_difference):
        text += " (the interval rules out the paper's difference)"
    if row.verdict == "inconclusive" and row.family_low < 0 < row.family_high:
        a, b = re.search(r"([^()]+) beats ([^()]+)", row.claim).groups()  # "matching helps (A beats B)" too
        text += (f"; the data rule out {a} being better than {b} by more than {-row.family_low:.2f} pp, or worse by "
                 f"more than {row.family_high:.2f} pp")
    if row.verdict == "inconclusive":
        text += (f"; the rule would reach reproduced for a true difference of {row.detectable:.2f} pp with "
                 f"{100 * POWER:.0f} % power at these {int(row.seeds)} seeds")
        if not pd.isna(row.seeds_needed):
            text += (f", and would need {row.seeds_needed:.0f} seeds at the paper's effect" if np.isfinite(row.seeds_needed)
                     else f", and more than {MAX_SEEDS} seeds at the paper's effect")
    return text + "."
