"""The studies name the settings they ran with, so changing the paper profile's defaults (as the re-made
Table 1 will: sweeps/table1-remake.yml) leaves every committed study run found, none to retrain."""
import json
from pathlib import Path

from jade_core.experiments import grid, studies
from jade_core.experiments.sweep import load_sweep
from jade_core.science import config

ROOT = Path(__file__).resolve().parents[1]
CHOSEN = {"precision": "fp32", "w_cls": 100000.0, "w_match": 100.0, "mnist_batch_size": 64}


def study_runs():
    runs = []
    for name in ("settings-search", "matching-search", "mnist-schedule", "recipe-search"):
        runs += load_sweep(ROOT / "sweeps" / f"{name}.yml")[1]
    choice = json.loads((ROOT / studies.BUDGET_DIR / "choice.json").read_text())
    runs += studies.budget_search_runs() + studies.budget_final_runs(choice["steps"])
    recipe = json.loads((ROOT / studies.RECIPE_DIR / "choice.json").read_text())
    search = studies.recipe_search_runs(str(ROOT / studies.RECIPE_SEARCH))
    chosen = next(kw for kw in search if kw["output_dir"].endswith(recipe["chosen"]))
    runs += studies.recipe_final_runs(studies.recipe_overrides(chosen))
    return runs


def test_every_study_run_is_found_before_and_after_the_profile_changes(monkeypatch):
    monkeypatch.chdir(ROOT)
    runs = study_runs()
    before = grid.locate(runs)
    unfinished = [kw["output_dir"] for kw, p in zip(runs, before) if p is None]
    assert unfinished == ["results/tuning/jade-mean-wmatch-1"] and len(before) > 60  # stopped by design
    monkeypatch.setitem(config.PROFILES, "paper", dict(CHOSEN))
    assert grid.locate(study_runs()) == before


def test_without_the_named_settings_the_switch_would_lose_them(monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setitem(studies.PLANS, "paper", studies.BudgetPlan(settings=()))
    monkeypatch.setitem(config.PROFILES, "paper", dict(CHOSEN))
    assert grid.locate(studies.budget_search_runs()) == [None] * 9
