"""The w_match dose-response read back from planted runs: by configuration, with intervals and verdicts."""
import json

import numpy as np
import pytest
from jade_core.experiments.selection import DOSE_SEEDS, DOSE_W_MATCH, dose_response_runs
from jade_core.reporting import dose
from jade_core.science.config import resolve_config


def _plant(kw, error, kl_per_dim, centroid=70.0):
    cfg = resolve_config(**kw)
    d = cfg.run_dir
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps({"config": cfg.to_dict(), "data": {
        "pool_official_index": list(range(100 * cfg.seed, 100 * cfg.seed + 1000))}}))  # seeds' pools overlap
    (d / "metrics.json").write_text(json.dumps({
        "svhn": {"error": error, "n": 5500}, "svhn_val": {"error": error + 1},
        "matching_val": {"kl_match_per_dim": [kl_per_dim] * 10, "centroid_accuracy": centroid}}))
    (d / "curve.csv").write_text("epoch,svhn_ce\n1,0.1\n")
    return d


def test_every_dose_against_no_matching_with_family_intervals(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                         # the grids' folders are relative: plant them here
    for w, kw in dose_response_runs():
        if w == 1000.0:
            continue                                    # one dose not run yet
        helps = 3.0 if w in (10.0, 30.0) else 0.0       # matching helps at two doses only
        spread = 0.0 if w in (0.0, 3.0) else 0.1 * (kw["seed"] % 2)   # 3: the same difference on every seed
        _plant(kw, 30.0 - helps + spread, 10.0 / (1 + w))
    other = dict(dose_response_runs()[0][1], w_cls=1.0)   # another configuration in the same folder
    _plant(other, 1.0, 0.0)
    runs = dose.dose_runs(tmp_path)
    assert len(runs) == (len(DOSE_W_MATCH) - 1) * len(DOSE_SEEDS) and 1.0 not in set(runs.svhn_error)
    s = dose.dose_summary(runs).set_index("w_match")
    assert s.loc[0.0, "verdict"] == "" and s.loc[1000.0, "seeds"] == 0
    assert s.loc[1000.0, "verdict"] == "too few seeds"
    assert s.loc[10.0, "vs_no_matching"] == pytest.approx(-3.0 + 0.1 * 2 / 5) and s.loc[10.0, "verdict"] == "reproduced"
    assert s.loc[300.0, "verdict"] == "inconclusive"
    assert s.loc[3.0, "verdict"] == "too few seeds"          # no spread: no interval
    assert s.loc[0.0, "matched"] == "0/5" and s.loc[100.0, "matched"] == "5/5"   # 10/101 <= 0.5 nats
    assert s.loc[30.0, "val_kl_per_dim"] == pytest.approx(10 / 31)
    e = runs[runs.w_match == 30.0].svhn_error.to_numpy()
    assert s.loc[30.0, "svhn_error_ci"] == pytest.approx(2.776445 * e.std(ddof=1) / np.sqrt(5), rel=1e-5)


def test_the_family_is_the_doses_with_an_interval(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    for w, kw in dose_response_runs():
        if w in (0.0, 10.0, 30.0):
            _plant(kw, 30.0 - (w > 0) + rng.normal(0, 0.5), 1.0)
    s = dose.dose_summary(dose.dose_runs(tmp_path)).set_index("w_match")
    d = (dose.dose_runs(tmp_path).pivot(index="seed", columns="w_match", values="svhn_error"))
    diff = (d[10.0] - d[0.0]).to_numpy()
    from scipy import stats
    half = stats.t.ppf(1 - 0.05 / 4, 4) * diff.std(ddof=1) / np.sqrt(5)   # m = 2 doses with an interval
    assert s.loc[10.0, "vs_high"] - s.loc[10.0, "vs_no_matching"] == pytest.approx(half)


def test_the_page_says_which_doses_help_and_whether_the_answer_is_provisional(tmp_path, monkeypatch):
    from jade_core.reporting import findings
    monkeypatch.chdir(tmp_path)
    pairs = dose_response_runs()
    for w, kw in pairs:
        if w != 1000.0:
            _plant(kw, 30.0 - 3.0 * (w == 10.0) + 0.1 * (kw["seed"] % 2) * (w > 0), 0.1 if w == 300.0 else 5.0)
    page = findings.dose_page(tmp_path)
    v = page["values"]
    assert v["dose_finished"] == str(len(pairs) - len(DOSE_SEEDS)) and v["dose_planned"] == str(len(pairs))
    assert v["dose_helps"] == "10" and v["dose_matched"] == "300" and v["dose_hurts"] == "none"
    assert any("share on average" in c for c in page["caveats"]) and any("in fp32 on cpu" in c for c in page["caveats"])
    assert page["caveats"][0].startswith(f"{len(pairs) - len(DOSE_SEEDS)} of the {len(pairs)} runs are finished")
    assert (v["dose_w_low"], v["dose_w_high"]) == ("1", "300")        # the KL's range over the doses finished


def test_an_end_of_the_grid_that_wins_is_said_to_need_extending(tmp_path, monkeypatch):
    from jade_core.reporting import findings
    monkeypatch.chdir(tmp_path)
    for w, kw in dose_response_runs():
        _plant(kw, 30.0 - 0.001 * w + 0.1 * (kw["seed"] % 2), 1.0)    # the strongest matching is best
    page = findings.dose_page(tmp_path)
    v, said = page["values"], " ".join(page["caveats"])
    assert v["dose_best"] == "1000" and "an end of the grid: by the grid's own rule" in said
    for p in (tmp_path / "results" / "matching-dose").glob("*w_match-1000.0*"):
        import shutil
        shutil.rmtree(p)                                              # while a dose is missing, no call yet
    page = findings.dose_page(tmp_path)
    v, said = page["values"], " ".join(page["caveats"])
    assert v["dose_best"] == "300" and "Not every dose has a finished run" in said
    assert v["dose_judged"].endswith(" of 7 so far")


def test_no_matching_that_wins_is_not_called_an_end_to_extend_and_the_kl_trend_is_read(tmp_path, monkeypatch):
    from jade_core.reporting import findings
    monkeypatch.chdir(tmp_path)
    for w, kw in dose_response_runs():
        jitter = np.random.default_rng([int(w), kw["seed"]]).normal(0, 0.05)   # differences vary by seed
        _plant(kw, 30.0 + 0.001 * w + jitter, 1000.0 / (1.0 + w))       # matching hurts; KL falls
    page = findings.dose_page(tmp_path)
    v, said = page["values"], " ".join(page["caveats"])
    assert v["dose_best"] == "0" and "at the grid's lower end, no matching at all" in said
    assert v["dose_judged"] == "7"                                  # the whole grid: no "so far"
    assert "The mean matching KL per content dimension falls at every step of the dose" in said
    assert "still above the rule's 0.5" in said                     # 1000/1001 nats at 1000 > 0.5
    import shutil
    shutil.rmtree(tmp_path / "results")
    for w, kw in dose_response_runs():
        _plant(kw, 30.0 + 0.001 * w, 0.01 if w == 300.0 else 1000.0 / (1.0 + w))      # 300 below the rule, 1000 not
    said = " ".join(findings.dose_page(tmp_path)["caveats"])
    assert "does not fall at every step" in said and "still above" in said


def test_the_detectable_difference_is_the_rules_at_the_observed_spread(tmp_path, monkeypatch):
    from jade_core.reporting.verdicts import detectable_by_rule
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(3)
    for w, kw in dose_response_runs():
        if w in (0.0, 10.0, 30.0):
            _plant(kw, 30.0 + rng.normal(0, 1.0), 1.0)
    runs = dose.dose_runs(tmp_path)
    s = dose.dose_summary(runs).set_index("w_match")
    d = runs.pivot(index="seed", columns="w_match", values="svhn_error")
    diff = (d[30.0] - d[0.0]).to_numpy()
    assert s.loc[30.0, "detectable"] == pytest.approx(detectable_by_rule(diff.std(ddof=1), 5, 2))
    assert np.isnan(s.loc[100.0, "detectable"]) and "| detectable (80 % power, pp) |" in dose.markdown_dose_table(s.reset_index())
