"""The declared verdict rule (jade_core.reporting.verdicts) on planted differences with known answers."""
import numpy as np
import pandas as pd
import pytest
from jade_core.reporting import report
from jade_core.reporting import verdicts as vd
from scipy import stats


def test_paper_differences_come_from_the_quoted_table():
    t = report.PAPER_TABLE1.set_index("variant")
    assert vd.paper_difference("jade", "paired") == pytest.approx(t.svhn_mean["jade"] - t.svhn_mean["paired"])
    assert vd.paper_difference("paired", "single") == pytest.approx(30.17 - 32.31)
    assert np.isnan(vd.paper_difference("jade", "jade_nomatch"))


def test_family_interval_is_the_bonferroni_t_interval():
    d = np.array([-2.0, -1.0, -3.0, 0.5, -1.5])
    lo, hi = vd.family_interval(d, 4, 0.05)
    half = stats.t.ppf(1 - 0.05 / 8, 4) * d.std(ddof=1) / np.sqrt(5)
    assert (lo, hi) == pytest.approx((d.mean() - half, d.mean() + half))
    assert vd.family_interval(d, 1)[0] > lo                           # a family of one: narrower
    assert np.isnan(vd.family_interval([1.0], 4)[0]) and np.isnan(vd.family_interval([1.0, 1.0], 4)[1])


@pytest.mark.parametrize("low, high, paper, expected", [
    (-3.0, -0.5, -1.0, "reproduced"),     # excludes 0 on the paper's side (paper inside)
    (-0.9, -0.1, -2.0, "reproduced"),     # the paper's side, effect smaller than the paper's: still reproduced
    (-0.5, 1.0, -2.0, "contradicted"),    # contains 0, rules out the paper's -2
    (0.5, 2.0, -1.0, "contradicted"),     # the other side of 0
    (-3.0, 1.0, -1.0, "inconclusive"),    # contains both
    (-3.0, -0.5, float("nan"), "reproduced"),   # no paper number: the claim's direction
    (0.5, 2.0, float("nan"), "contradicted"),
    (-1.0, 2.0, float("nan"), "inconclusive"),
    (0.5, 2.0, 1.0, "reproduced"),        # a paper effect in the other direction is the side that counts
    (float("nan"), float("nan"), -1.0, "too few seeds"),
])
def test_verdict_partitions_the_intervals(low, high, paper, expected):
    assert vd.verdict(low, high, paper) == expected


def test_rule_power_matches_the_noncentral_t():
    for delta, sd, n, m in ((1.0, 1.0, 10, 4), (2.0, 3.0, 5, 3), (0.5, 0.4, 7, 1)):
        crit = stats.t.ppf(1 - 0.05 / (2 * m), n - 1)
        exact = stats.nct.sf(crit, n - 1, delta * np.sqrt(n) / sd)
        assert vd.rule_power(delta, sd, n, m) == pytest.approx(exact, abs=0.01)
        assert vd.rule_power(-delta, sd, n, m) == vd.rule_power(delta, sd, n, m)   # on the paper's side
    assert np.isnan(vd.rule_power(1.0, 1.0, 1, 4)) and np.isnan(vd.rule_power(1.0, 0.0, 10, 4))


def test_rule_power_agrees_with_the_rule_applied_to_simulated_seeds():
    rng = np.random.default_rng(1)
    hits = [vd.verdict(*vd.family_interval(-1.5 + 2.0 * rng.standard_normal(6), 3), -1.5) == "reproduced"
            for _ in range(4000)]
    assert np.mean(hits) == pytest.approx(vd.rule_power(-1.5, 2.0, 6, 3), abs=0.025)


def test_detectable_by_rule_has_the_stated_power_and_scales():
    d = vd.detectable_by_rule(1.0, 10, 4)
    crit = stats.t.ppf(1 - 0.05 / 8, 9)
    assert stats.nct.sf(crit, 9, d * np.sqrt(10)) == pytest.approx(0.8, abs=0.01)
    assert vd.detectable_by_rule(2.0, 10, 4) == pytest.approx(2 * d)
    assert vd.detectable_by_rule(1.0, 10, 1) < d < vd.detectable_by_rule(1.0, 5, 4)
    # the unadjusted two-sided t-test (report.detectable_difference) detects smaller effects than this rule
    assert report.detectable_difference(1.0, 10) < d
    assert np.isnan(vd.detectable_by_rule(1.0, 1, 4))


def test_seeds_needed_is_the_first_sample_size_with_the_power():
    n = vd.seeds_needed(-1.0, 2.0, 4)
    assert vd.rule_power(-1.0, 2.0, n, 4) >= 0.8 > vd.rule_power(-1.0, 2.0, n - 1, 4)
    assert vd.seeds_needed(-5.0, 1.0, 4) <= 4
    assert np.isnan(vd.seeds_needed(float("nan"), 1.0, 4)) and np.isnan(vd.seeds_needed(-1.0, 0.0, 4))
    assert vd.seeds_needed(-0.01, 10.0, 4) == float("inf")


def _runs(diffs, a="a", b="b", base=30.0):
    rows = [{"variant": b, "seed": s, "svhn_error": base} for s in range(len(diffs))]
    rows += [{"variant": a, "seed": s, "svhn_error": base + d} for s, d in enumerate(diffs)]
    return pd.DataFrame(rows)


def test_a_planted_3pp_effect_over_10_seeds_is_reproduced_and_a_null_is_not():
    rng = np.random.default_rng(0)
    effect = _runs(-3.0 + 1.5 * rng.standard_normal(10), "jade", "paired")
    t = report.claims_table(effect, [("jade", "paired", "JADE beats paired")])
    assert t.verdict[0] == "reproduced" and t.paper_difference[0] == pytest.approx(-1.09)
    null = _runs(0.3 * rng.standard_normal(10), "jade", "paired")
    t = report.claims_table(null, [("jade", "paired", "JADE beats paired")])
    assert t.verdict[0] == "contradicted"                  # 0 +- a little: rules out the paper's -1.09
    noisy = _runs(4.0 * rng.standard_normal(10), "jade", "paired")
    t = report.claims_table(noisy, [("jade", "paired", "JADE beats paired")])
    assert t.verdict[0] == "inconclusive" and t.seeds_needed[0] > 10 and t.detectable[0] > 1.09
    reversal = _runs(2.0 + 0.5 * rng.standard_normal(10), "jade", "paired")
    t = report.claims_table(reversal, [("jade", "paired", "JADE beats paired")])
    assert t.verdict[0] == "contradicted" and t.family_low[0] > 0


def test_the_rule_can_say_reproduced_at_five_seeds():
    # the old two-test rule could not: the Wilcoxon test cannot go below 0.0625 at five seeds
    t = report.claims_table(_runs([-2.0, -2.1, -1.9, -2.2, -1.8], "paired", "single"),
                            [("paired", "single", "paired beats single")] * 3)
    assert t.p_wilcoxon_holm[0] > 0.05 and (t.verdict == "reproduced").all()


def test_describe_says_the_size_of_an_inconclusive_result():
    rng = np.random.default_rng(3)
    t = report.claims_table(_runs(4.0 * rng.standard_normal(10), "jade", "paired"),
                            [("jade", "paired", "JADE beats paired")])
    text = vd.describe(next(t.itertuples()))
    assert ": inconclusive;" in text and "against the paper's -1.09 pp" in text
    assert f"{t.detectable[0]:.2f} pp" in text and f"{t.seeds_needed[0]:.0f} seeds" in text
    # what the data rule out: the family interval's ends, in the claim's words
    assert (f"the data rule out JADE being better than paired by more than {-t.family_low[0]:.2f} pp, or worse by "
            f"more than {t.family_high[0]:.2f} pp") in text and t.family_low[0] < 0 < t.family_high[0]
    t = report.claims_table(_runs(4.0 * rng.standard_normal(10), "jade", "jade_nomatch"),
                            [("jade", "jade_nomatch", "matching helps (JADE beats JADE with w_match = 0)")])
    assert "the data rule out JADE being better than JADE with w_match = 0 by more than" in vd.describe(next(t.itertuples()))
