"""The caveats computed from runs (jade_core.experiments.audit), on planted runs with known answers, and the
committed runs' own state."""
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from jade_core.experiments import audit
from jade_core.science.config import ConfigError

RESULTS = Path(__file__).resolve().parents[1] / "results"


def _run(d: Path, seed, pool, error=30.0, curve="epoch,seconds,svhn_ce\n1,3.5,1.2\n", precision="fp32", k=2):
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps({"config": {"seed": seed, "labels_per_class": k, "precision": precision,
                                                          "device": "cpu"},
                                               "data": {"pool_official_index": list(pool)},
                                               "versions": {"torch": "9.9"}}))
    (d / "metrics.json").write_text(json.dumps({"svhn": {"error": error}}))
    (d / "curve.csv").write_text(curve)
    return d


def test_a_search_run_reported_again_is_found_even_when_retrained(tmp_path):
    r = tmp_path / "results"
    pool = range(20)
    search = _run(r / "tuning" / "cand" / "runs" / "jade" / "local-seed0", 0, pool)
    same = _run(r / "runs" / "jade" / "local-seed0", 0, pool, curve="epoch,seconds,svhn_ce\n1,9.1,1.2\n")  # timing differs
    other = _run(r / "runs" / "jade" / "local-seed1", 1, pool, error=31.0)
    c = audit.search_copies([same, other], r)
    assert c.to_dict("records") == [{"reported": str(same), "search": str(search)}]
    assert audit.search_copies([other], r).empty


def test_pool_overlap_by_hand(tmp_path):
    # k = 2 per digit, pools stored digit by digit; seed 1 shares digit 0 entirely and nothing else
    a = _run(tmp_path / "a", 0, range(20))
    b = _run(tmp_path / "b", 1, [0, 1] + list(range(100, 118)))
    o = audit.pool_overlap([a, b])
    assert o["seeds"] == 2 and o["mean"] == pytest.approx(2 / 20) and o["digit"] == 0 and o["worst_digit"] == 1.0
    assert np.isnan(audit.pool_overlap([a])["mean"])


def test_caveats_say_the_arithmetic_and_the_copies(tmp_path):
    r = tmp_path / "results"
    a = _run(r / "runs" / "single" / "x", 0, range(20), precision="bf16")
    b = _run(r / "runs" / "single" / "y", 1, range(20, 40))
    c = audit.caveats(pd.DataFrame({"path": [str(a), str(b)]}), r, default_precision="fp32")
    assert c["copies_text"].startswith("No reported run")
    assert "1 in bf16 on cpu (torch 9.9); 1 in fp32 on cpu (torch 9.9)" in c["arithmetic_text"]
    assert "1 of them are not in the default precision (fp32)" in c["arithmetic_text"]
    assert "share on average 0 %" in c["overlap_text"]


def test_no_table1_run_is_a_search_run_or_on_a_search_seed():
    from jade_core.experiments.runs import collect_table1
    from jade_core.experiments.selection import SEARCH_SEEDS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table1 = collect_table1(RESULTS)
    assert len(table1) == 40 and not set(table1.seed) & set(SEARCH_SEEDS)
    assert audit.search_copies(list(table1.path), RESULTS).empty


def test_no_reported_study_run_is_a_search_run():
    """The tuned recipe's table (its search on the search seeds) and the equal-steps label-budget study (no search
    at all) report no search run or copy of one, and no seed a search ran on."""
    from jade_core.experiments.studies import STUDIES, recipe_search_seeds, reported_recipe
    from jade_core.reporting import budget
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = reported_recipe(RESULTS)
        recipe = rep["runs"]
        reported = [*recipe.path, *budget.equal_steps_runs(RESULTS).path]
    assert len(recipe) == 3 * len(rep["seeds"]) and audit.search_copies(reported, RESULTS).empty
    assert not set(recipe.seed) & set(recipe_search_seeds(STUDIES[rep["study"]][0]))


def test_the_budget_answer_reads_the_finished_equal_steps_study_and_no_search_run():
    """The budget chapter answers from the equal-steps study, finished (every model at every budget on seeds 0-9,
    Table 1 as its 100-label point), none of whose runs is a search run or a copy of one."""
    from jade_core.reporting import budget, findings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = findings.budget_page(RESULTS, "paper", None)
    planned = budget.equal_steps_planned(RESULTS, "paper")
    assert len(budget.own_runs(b["runs"], planned)) == len(planned) == 90
    assert b["values"]["b_status"] == "all 90 runs of the grid have finished"
    assert audit.search_copies(list(b["runs"].path), RESULTS).empty
    # the study's seeds were made by the code of several commits: one of the oldest retrained by newer code
    # (jade verify --record, shown under the chapter's provenance table) reproduces every recorded error
    from jade_core.reporting.report import verify_records
    lines = verify_records(RESULTS / "verify", list(b["runs"].path))
    assert any("label-budget-equal-steps/runs/jade/local-ep1200-l10-restart240-evalevery40-seed0" in l for l in lines)
    assert lines and all("reproduced within 0.0 pp" in l for l in lines)


def test_first_per_class_takes_the_first_k_of_each_digit():
    y = np.array([3, 1, 3, 0, 1, 3] + list(range(4, 10)) * 2)
    sel = audit.first_per_class(y, 2)
    assert sorted(y[sel].tolist()) == sorted([0, 1, 1, 3, 3] + list(range(4, 10)) * 2)
    assert 5 not in sel.tolist()                                   # the third 3 is left out


def test_small_validation_errors_read_the_same_from_recorded_predictions_and_from_weights(smoke):
    import json

    from jade_core.experiments.lifecycle import train
    path = train(variant="single", progress=False, **smoke)
    recorded = audit.small_validation_errors([path], per_class=2)
    m = json.loads((path / "metrics.json").read_text())
    assert len(m["svhn_val"]["pred"]) == len(m["svhn_val"]["true"]) == m["svhn_val"]["n"] == 50
    for k in ("pred", "true"):                                     # as a run made before the check
        del m["svhn_val"][k]
    (path / "metrics.json").write_text(json.dumps(m))
    from_weights = audit.small_validation_errors([path], per_class=2, data_dir=smoke["data_dir"])
    assert recorded.equals(from_weights) and recorded.svhn_val_error_all[0] == pytest.approx(m["svhn_val"]["error"])
    m["svhn_val"]["error"] += 10                                   # weights that are not the run's
    (path / "metrics.json").write_text(json.dumps(m))
    with pytest.raises(ConfigError, match="not the run's"):
        audit.small_validation_errors([path], per_class=2, data_dir=smoke["data_dir"])
