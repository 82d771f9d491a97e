"""Table 1 statistics and the matching rule, against planted answers and reference implementations."""
import numpy as np
import pandas as pd
import pytest
from jade_core.reporting import report
from jade_core.science.evaluate import nearest_centroid_accuracy
from jade_core.science.latent import eta_squared
from scipy import stats


def test_holm_matches_the_textbook_example():
    # p = 0.01, 0.04, 0.03 -> sorted 0.01*3, 0.03*2, 0.04*1, made monotone
    assert report.holm([0.01, 0.04, 0.03]).tolist() == pytest.approx([0.03, 0.06, 0.06])
    assert np.isnan(report.holm([np.nan, 0.2])[0]) and report.holm([np.nan, 0.2])[1] == pytest.approx(0.2)


def test_detectable_difference_has_the_stated_power():
    delta = report.detectable_difference(1.0, 10)
    nc = delta * np.sqrt(10)
    crit = stats.t.ppf(0.975, 9)
    assert stats.nct.sf(crit, 9, nc) + stats.nct.cdf(-crit, 9, nc) == pytest.approx(0.8, abs=1e-6)
    assert 0.9 < delta < 1.1  # Cohen's d of about 1 for 10 pairs
    assert report.detectable_difference(2.0, 10) == pytest.approx(2 * delta, rel=1e-6)  # scales with the sd


def _runs(diffs, base=30.0):
    rows = [{"variant": "b", "seed": s, "svhn_error": base} for s in range(len(diffs))]
    rows += [{"variant": "a", "seed": s, "svhn_error": base + d} for s, d in enumerate(diffs)]
    return pd.DataFrame(rows)


def test_claim_test_direction_ci_and_both_tests():
    d = np.array([-2.0, -1.5, -3.0, -0.5, -2.5, -1.0, -2.2, -1.8])
    c = report.claim_test(_runs(d), "a", "b")
    assert c["mean_difference"] == pytest.approx(d.mean()) and c["a_wins"] == 8 and c["seeds"] == 8
    half = stats.t.ppf(0.975, 7) * d.std(ddof=1) / np.sqrt(8)
    assert (c["ci_low"], c["ci_high"]) == pytest.approx((d.mean() - half, d.mean() + half))
    assert c["p_t"] == pytest.approx(stats.ttest_1samp(d, 0).pvalue)
    assert c["p_wilcoxon"] == pytest.approx(stats.wilcoxon(d).pvalue)
    # swapping the roles flips the sign, not the p-values
    r = report.claim_test(_runs(d), "b", "a")
    assert r["mean_difference"] == pytest.approx(-d.mean()) and r["p_t"] == pytest.approx(c["p_t"])


def test_claims_table_verdicts():
    runs = pd.concat([_runs([-2.0, -1.5, -3.0, -0.5, -2.5, -1.0, -2.2, -1.8]),
                      _runs([0.3, -0.2, 0.1, -0.4, 0.2, 0.0, -0.1, 0.5], base=31).replace({"a": "c", "b": "e"})])
    t = report.claims_table(runs, [("a", "b", "a beats b"), ("c", "e", "c beats e"), ("b", "a", "b beats a")])
    # no paper number for these models: judged on the claim's direction
    assert t.verdict.tolist() == ["reproduced", "inconclusive", "contradicted"]
    assert (t.p_t_holm >= t.p_t).all()


def test_eta_squared_finds_the_planted_class_dimension():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 200)
    z = np.stack([labels + 0.01 * rng.standard_normal(2000), rng.standard_normal(2000)], 1)
    eta = eta_squared(z, labels)
    assert eta[0] > 0.99 and eta[1] < 0.02


def test_nearest_centroid_accuracy_planted_and_collapsed():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(10), 50)
    centres = 5 * np.eye(10)
    ref = centres[y] + 0.3 * rng.standard_normal((500, 10))
    query = centres[y] + 0.3 * rng.standard_normal((500, 10))
    assert nearest_centroid_accuracy(query, y, ref, y) == 100.0
    # a content space collapsed onto the prior: all classes share one distribution
    flat = rng.standard_normal((500, 10))
    assert nearest_centroid_accuracy(rng.standard_normal((500, 10)), y, flat, y) < 30.0
    # rows are classes: permuting the reference labels breaks it
    assert nearest_centroid_accuracy(query, y, ref, (y + 1) % 10) == 0.0


def test_claims_name_known_variants_and_the_ablation_covers_the_jade_seeds_in_the_grid():
    from jade_core.experiments.grid import expected
    from jade_core.science.config import PROFILES, resolve_config
    assert {v for a, b, _ in report.CLAIMS for v in (a, b)} <= set(report.VARIANT_ORDER)
    for profile in PROFILES:
        labelled = expected("table1", profile)
        ablation = [kw for label, kw in labelled if label == "jade_nomatch"]
        cfg = {(label, kw["seed"]): resolve_config(**kw).to_dict() for label, kw in labelled}
        for kw in ablation:  # w_match 0, and every other setting JADE's of the same seed but the warm-up of
            nomatch, jade = cfg["jade_nomatch", kw["seed"]], cfg["jade", kw["seed"]]   # that weight: none to warm up
            assert nomatch["w_match"] == 0 < jade["w_match"] and nomatch["w_match_warmup"] == 0
            same = {"w_match": None, "w_match_warmup": None, "output_dir": None}
            assert {**nomatch, **same} == {**jade, **same}
        assert sorted(kw["seed"] for kw in ablation) == sorted(kw["seed"] for label, kw in labelled if label == "jade")


def test_content_steadiness_against_a_control():
    rows = []
    for s in range(5):
        rows.append({"variant": "jade", "seed": s, "content_within": 0.10 * (1 + 0.05 * s)})
        rows.append({"variant": "paired", "seed": s, "content_within": 0.20 * (1 + 0.04 * s)})
        rows.append({"variant": "single", "seed": s, "content_within": 0.10 * (1 + 0.05 * s) * (1.01 if s % 2 else 0.99)})
    t = pd.DataFrame(rows)
    c = report.content_steadiness(t, "jade", "paired")
    assert c["seeds"] == 5 and c["lower"] == 5 and c["steadier"] and 0.45 < c["ratio"] < 0.55 and c["p"] < 0.001
    same = report.content_steadiness(t, "jade", "single")
    assert not same["steadier"] and same["ratio"] == pytest.approx(1.0, abs=0.01)
    assert np.isnan(report.content_steadiness(t[t.seed < 2], "jade", "paired")["p"])  # too few seeds


# --- Properties pinned one by one (found by mutation testing, results/mutation/report.md) ---------

def test_summary_table_columns_by_hand():
    rows = [{"variant": v, "protocol": p, "seed": s, "svhn_error": e, "mnist_error": m, "train_seconds": t,
             "final_train_ce": ce}
            for v, p, s, e, m, t, ce in [
                ("jade", "local", 0, 30.0, 1.0, 600, 0.1), ("jade", "local", 1, 34.0, 1.4, 1200, 2.2),
                ("jade", "local", 2, 29.0, None, 900, 0.1),
                ("paired", "local", 0, 31.0, 2.0, 60, 0.1), ("single", "paper", 0, 33.0, None, 120, 0.1),
                ("single", "local", 0, 35.0, None, 120, 0.1)]]
    t = report.summary_table(pd.DataFrame(rows))
    assert list(zip(t.protocol, t.variant)) == [("local", "single"), ("local", "paired"), ("local", "jade"),
                                                ("paper", "single")]
    j = t.iloc[2]
    assert (j.seeds, j.failed, j.svhn_median, j.svhn_mean) == (3, 1, 30.0, 31.0)
    assert j.svhn_sd == pytest.approx(np.std([30, 34, 29], ddof=1))
    assert j.mnist_mean == pytest.approx(1.2) and j.mnist_sd == pytest.approx(np.std([1.0, 1.4], ddof=1))
    assert j.minutes_per_run == pytest.approx(15.0)
    p = t.iloc[1]                                   # one seed: no sd, MNIST mean of one
    assert np.isnan(p.svhn_sd) and p.mnist_mean == 2.0 and np.isnan(p.mnist_sd)
    no_ce = report.summary_table(pd.DataFrame(rows).drop(columns="final_train_ce"))
    assert (no_ce.failed == 0).all()
    assert list(t.columns) == ["variant", "protocol", "seeds", "failed", "svhn_median", "svhn_mean", "svhn_sd",
                               "mnist_mean", "mnist_sd", "minutes_per_run"] and list(t.index) == [0, 1, 2, 3]
    two = report.summary_table(pd.DataFrame(rows[:2]))                    # two seeds: an sd of two values
    assert two.svhn_sd[0] == pytest.approx(np.std([30, 34], ddof=1)) and two.mnist_sd[0] == pytest.approx(
        np.std([1.0, 1.4], ddof=1))


def test_fmt():
    assert report.fmt(31.234, 2.0) == "31.23 ± 2.00"
    assert report.fmt(31.236, float("nan")) == "31.24"
    assert report.fmt(None, 1.0) == "–" and report.fmt(float("nan"), 1.0) == "–"


def test_detectable_difference_edges_alpha_and_power():
    assert np.isnan(report.detectable_difference(1.0, 1)) and np.isnan(report.detectable_difference(0.0, 10))
    d = report.detectable_difference(1.0, 10)
    assert report.detectable_difference(1.0, 2) > d                                    # fewer seeds: larger
    assert report.detectable_difference(1.0, 10, alpha=0.01) > d                       # stricter test: larger
    assert report.detectable_difference(1.0, 10, power=0.9) > d                        # more power: larger
    big = report.detectable_difference(0.01, 3)                                        # the search doubles its bracket
    nc, crit = big * np.sqrt(3) / 0.01, stats.t.ppf(0.975, 2)
    assert stats.nct.sf(crit, 2, nc) + stats.nct.cdf(-crit, 2, nc) == pytest.approx(0.8, abs=1e-6)


def test_t_half_width_by_hand():
    x = np.array([1.0, 2.0, 4.0])
    assert report.t_half_width(x) == pytest.approx(stats.t.ppf(0.975, 2) * x.std(ddof=1) / np.sqrt(3))
    assert report.t_half_width(x, alpha=0.1) == pytest.approx(stats.t.ppf(0.95, 2) * x.std(ddof=1) / np.sqrt(3))


def test_claim_test_uses_common_seeds_and_skips_tests_without_spread():
    r = _runs([-1.0, -2.0, -3.0, -1.5])
    r = pd.concat([r, pd.DataFrame([{"variant": "a", "seed": 9, "svhn_error": 0.0}])])   # a seed b lacks
    c = report.claim_test(r, "a", "b")
    assert c["seeds"] == 4 and c["mean_difference"] == pytest.approx(-1.875)
    assert c["sd_difference"] == pytest.approx(np.std([-1, -2, -3, -1.5], ddof=1))
    assert sorted(c["differences"].tolist()) == [-3.0, -2.0, -1.5, -1.0]
    same = report.claim_test(_runs([-1.0, -1.0, -1.0]), "a", "b")          # no spread: no test, no CI
    assert same["a_wins"] == 3 and np.isnan(same["p_t"]) and np.isnan(same["ci_low"])
    one = report.claim_test(_runs([-1.0]), "a", "b")
    assert one["seeds"] == 1 and np.isnan(one["sd_difference"]) and np.isnan(one["p_wilcoxon"])
    none = report.claim_test(_runs([-1.0]).iloc[:0], "a", "b")
    assert none["seeds"] == 0 and np.isnan(none["mean_difference"]) and none["a_wins"] == 0
    mnist = report.claim_test(_runs([-1.0, -2.0]).assign(mnist_error=[1.0, 1.0, 2.0, 2.0]), "a", "b", "mnist_error")
    assert mnist["mean_difference"] == 1.0


def test_claims_table_adjusts_both_tests_and_needs_two_seeds():
    strong = [-2.0, -1.5, -3.0, -0.5, -2.5, -1.0, -2.2, -1.8]
    t = report.claims_table(pd.concat([_runs(strong), _runs([-1.0]).replace({"a": "c", "b": "e"})]),
                            [("a", "b", "a beats b"), ("c", "e", "c beats e")])
    assert t.verdict.tolist() == ["reproduced", "too few seeds"]
    assert t.p_t_holm[0] == pytest.approx(t.p_t[0]) and t.p_wilcoxon_holm[0] == pytest.approx(t.p_wilcoxon[0])
    assert report.claims_table(_runs(strong), []).empty
    # significant by the t-test but not by Wilcoxon (n = 5: its smallest p is 0.0625): the robustness
    # test is shown, not a veto
    t5 = report.claims_table(_runs([-2.0, -2.1, -1.9, -2.2, -1.8]), [("a", "b", "a beats b")])
    assert t5.p_t_holm[0] < 0.05 and t5.p_wilcoxon_holm[0] > 0.05 and t5.verdict[0] == "reproduced"


def test_markdown_table1_of_planted_runs():
    rows = []
    for s in range(3):
        for v, e, m in (("single", 33.0, None), ("paired", 31.0, 1.2), ("jade", 30.0, 1.0)):
            rows.append({"variant": v, "protocol": "local", "seed": s, "svhn_error": e + s, "mnist_error": m,
                         "train_seconds": 60.0, "final_train_ce": 0.1, "attempts": 2 if (v, s) == ("jade", 1) else 1})
    md = report.markdown_table1(pd.DataFrame(rows), recipe="r1")
    lines = md.splitlines()
    assert lines[:4] == [
        "SVHN error (%) on the local protocol, tuned recipe r1, mean ± sd over seeds; MNIST test error (%); the "
        "paper's: mean ± sd over 3 runs on the whole SVHN test set.", "",
        "| model | seeds | SVHN error | MNIST error | still on the plateau | restarts | SVHN error, paper | "
        "MNIST error, paper |", "|---|---|---|---|---|---|---|---|"]
    # the paper's rows it quotes only, then ours beside the paper's own numbers (jade_core.science.paper)
    assert lines[4:9] == ["| VAE (M1+M2) [3] | – | – | – | – | – | 36.02 ± 0.10 | – |",
                          "| Siddharth et al. [11] | – | – | – | – | – | 28.71 ± 2.38 | – |",
                          "| Single classifier | 3 | 34.00 ± 1.00 | – | 0 | 0 | 32.31 ± 1.56 | – |",
                          "| Paired classifier | 3 | 32.00 ± 1.00 | 1.20 ± 0.00 | 0 | 0 | 30.17 ± 2.77 | 0.82 ± 0.05 |",
                          "| JADE | 3 | 31.00 ± 1.00 | 1.00 ± 0.00 | 0 | 1 | 29.08 ± 0.92 | 0.72 ± 0.03 |"]
    assert report.markdown_table1(pd.DataFrame(rows), recipe="r1", claims=False).splitlines() == lines[:9]
    lines = lines[2:]   # the claims as before, two rows further down
    assert lines[7:10] == ["", "| claim | ours (pp) | 98.3 % interval | paper (pp) | p t-test (Holm) | p Wilcoxon (Holm) "
                           "| wins | verdict | detectable (pp) | seeds needed |", "|---|---|---|---|---|---|---|---|---|---|"]
    # the differences have no spread: no interval, no p-value, no power; wins counted; the paper's number beside
    assert lines[10] == "| paired beats single | -2.00 | – | -2.14 | – | – | 3/3 | too few seeds | – | – |"
    assert not any("matching helps" in l for l in lines)   # no ablation runs: no row
    assert report.markdown_table1(pd.DataFrame(rows)).splitlines()[0].startswith(
        "SVHN error (%) on the local protocol, mean ± sd")
    from jade_core.science.config import ConfigError
    mixed = pd.DataFrame(rows).assign(protocol=["local", "paper", "local"] * 3)
    with pytest.raises(ConfigError, match=r"these runs have local, paper: choose one \(jade table --protocol local\)"):
        report.markdown_table1(mixed)


def test_markdown_table1_skips_what_is_missing_and_prints_tests_when_there_is_spread():
    rows = [{"variant": v, "protocol": "local", "seed": s, "svhn_error": e + s + 0.3 * (s % 2) * (v == "jade"),
             "mnist_error": 1.0, "train_seconds": 60.0, "final_train_ce": 0.1, "attempts": 1}
            for s in range(4) for v, e in (("single", 33.0), ("jade", 30.0))]
    lines = report.markdown_table1(pd.DataFrame(rows)).splitlines()
    assert [l.split(" | ")[0] for l in lines[6:8]] == ["| Single classifier", "| JADE"]   # no paired row
    jade_single = next(l for l in lines if l.startswith("| JADE beats single"))
    fam = report.family_of(pd.DataFrame(rows))
    assert fam == [report.CLAIMS[2]]                                   # a family of one: the only testable claim
    c = report.claims_table(pd.DataFrame(rows), fam).set_index("claim").loc["JADE beats single"]
    assert jade_single == (f"| JADE beats single | {c.mean_difference:+.2f} | [{c.family_low:+.2f}, {c.family_high:+.2f}] "
                           f"| -3.23 | {c.p_t_holm:.3f} | {c.p_wilcoxon_holm:.3f} | 4/4 | {c.verdict} | "
                           f"{c.detectable:.2f} | {c.seeds_needed:.0f} |")
    assert any("| 95.0 % interval |" in l for l in lines)
    assert not any(l.startswith("| paired beats") or l.startswith("| JADE beats paired") for l in lines)


def test_claims_table_passes_alpha_to_the_interval():
    r = _runs([-2.0, -1.5, -3.0, -0.5])
    t = report.claims_table(r, [("a", "b", "a beats b")], alpha=0.2)
    assert t.ci_low[0] == pytest.approx(report.claim_test(r, "a", "b", alpha=0.2)["ci_low"])
    assert t.ci_low[0] > report.claim_test(r, "a", "b")["ci_low"]


def test_content_steadiness_by_hand_at_three_seeds(recwarn):
    ratios = {0: 0.5, 1: 0.25, 2: 1.0}
    rows = [{"variant": "paired", "seed": s, "content_within": 0.4} for s in ratios]
    rows += [{"variant": "jade", "seed": s, "content_within": 0.4 * r} for s, r in ratios.items()]
    rows += [{"variant": "jade", "seed": 7, "content_within": 0.1},            # a seed the control lacks
             {"variant": "paired", "seed": 8, "content_within": np.nan}]
    t = pd.DataFrame(rows)
    d = np.log(list(ratios.values()))
    c = report.content_steadiness(t)                                            # defaults: JADE against paired
    assert c == report.content_steadiness(t, "jade", "paired", "content_within")
    assert c["seeds"] == 3 and c["lower"] == 2 and c["ratio"] == pytest.approx(0.5)
    assert c["p"] == pytest.approx(stats.ttest_1samp(d, 0.0).pvalue) and not c["steadier"]   # p = 0.3: not steadier
    worse = report.content_steadiness(t.assign(content_within=np.where(
        t.variant == "jade", 0.6 * (1 + 0.02 * t.seed), 0.4)))              # JADE about 1.5x the control, every seed
    assert worse["ratio"] > 1 and worse["p"] < 0.05 and not worse["steadier"]
    better = report.content_steadiness(t.assign(content_within=np.where(
        t.variant == "jade", 0.2 * (1 + 0.01 * t.seed), 0.4)))              # half the control's, three seeds
    assert better["seeds"] == 3 and better["p"] < 0.05 and better["steadier"]
    flat = report.content_steadiness(t.assign(content_within=np.where(t.variant == "jade", 0.2, 0.4)))
    assert flat["ratio"] == pytest.approx(0.5) and np.isnan(flat["p"]) and not flat["steadier"]  # no spread: no test
    none = report.content_steadiness(t, "jade", "single")
    assert none["seeds"] == 0 and np.isnan(none["ratio"]) and not none["steadier"]
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_holm_caps_at_one_and_takes_integers():
    assert report.holm([0.6, 0.7]).tolist() == [1.0, 1.0]
    out = report.holm([0, 1])
    assert out.dtype == float and out.tolist() == [0.0, 1.0]


def test_claim_test_small_samples_ties_and_alpha(recwarn):
    two = report.claim_test(_runs([-1.0, -2.0]), "a", "b")          # two seeds with spread: tested
    assert two["a"] == "a" and two["b"] == "b"
    assert two["sd_difference"] == pytest.approx(np.std([-1, -2], ddof=1)) and not np.isnan(two["p_t"])
    tie = report.claim_test(_runs([-1.0, 0.0, 0.5, -0.2]), "a", "b")
    assert tie["a_wins"] == 2                                         # a tie and a loss are not wins
    r = _runs([-2.0, -1.5, -3.0, -0.5])
    c = report.claim_test(r, "a", "b", alpha=0.2)
    d = np.array([-2.0, -1.5, -3.0, -0.5])
    assert c["ci_low"] == pytest.approx(d.mean() - report.t_half_width(d, 0.2))
    assert c["differences"].tolist() == d.tolist()
    one = report.claim_test(_runs([-1.0]), "a", "b")
    empty = report.claim_test(_runs([-1.0]).iloc[:0], "a", "b")
    assert np.isnan(one["ci_high"]) and np.isnan(empty["ci_high"]) and np.isnan(empty["sd_difference"])
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_claims_table_two_seeds_and_a_small_reversal():
    two = report.claims_table(_runs([-1.0, -2.0]), [("a", "b", "a beats b")])
    assert two.verdict[0] == "inconclusive"                           # two seeds are enough to judge
    small = [0.5, 0.45, 0.55, 0.5, 0.52, 0.48, 0.5, 0.51]             # a is worse by half a point, every seed
    rev = report.claims_table(_runs(small), [("a", "b", "a beats b")])
    assert rev.verdict[0] == "contradicted"
