"""The studies name the settings they ran with, so changing the paper profile's defaults (as the re-made
Table 1 did: sweeps/table1.yml) leaves every committed study run found, none to retrain."""
from pathlib import Path

from jade_core.experiments import grid, studies
from jade_core.experiments.sweep import load_sweep
from jade_core.science import config

ROOT = Path(__file__).resolve().parents[1]
CHOSEN = {"precision": "fp32", "w_cls": 100000.0, "w_match": 100.0, "mnist_batch_size": 64}


def study_runs():
    runs = []
    for name in ("settings-search", "mnist-schedule",
                 "label-budget-first-search", "label-budget-first"):
        runs += load_sweep(ROOT / "sweeps" / f"{name}.yml")[1]
    return runs


def test_every_study_run_is_found_before_and_after_the_profile_changes(monkeypatch):
    monkeypatch.chdir(ROOT)
    runs = study_runs()
    before = grid.locate(runs)
    unfinished = [kw["output_dir"] for kw, p in zip(runs, before) if p is None]
    assert unfinished == [] and len(before) > 60
    monkeypatch.setitem(config.PROFILES, "paper", dict(CHOSEN))
    assert grid.locate(study_runs()) == before


def test_without_the_named_settings_the_switch_would_lose_them(monkeypatch):
    monkeypatch.chdir(ROOT)
    named = studies.study_settings("paper")
    search = [{k: v for k, v in kw.items() if k not in named} for kw in studies.sweep_runs(studies.BUDGET_SEARCH)]
    assert None not in grid.locate(studies.sweep_runs(studies.BUDGET_SEARCH))  # found with the settings named
    assert grid.locate(search) == [None] * 9                                 # lost at today's defaults without


def test_the_studies_share_the_settings_of_the_table1_they_compare_to():
    """The GPU label-budget study and the MNIST-schedule runs compare to the first Table 1
    (studies.STUDY_TABLE1_GRID): each names exactly that grid's settings, and those are not the defaults."""
    import yaml
    first = studies.study_settings("paper")
    assert first and any(config.RunConfig.defaults()[k] != v for k, v in first.items())
    for name in ("mnist-schedule", "label-budget-first-search", "label-budget-first"):
        base = yaml.safe_load((ROOT / "sweeps" / f"{name}.yml").read_text())["base"]
        assert {k: base[k] for k in first} == first, name
    assert studies.study_settings("smoke") == {}  # the smoke studies train at the defaults, as its Table 1


def test_the_final_sweep_files_say_what_the_rules_chose_on_the_committed_searches(monkeypatch):
    """sweeps/label-budget-first.yml trains the lengths choose_steps picks on the committed search runs, and
    sweeps/recipe-remake.yml the recipe choose_recipe picks; an edited file is refused, naming what differs."""
    import pytest
    monkeypatch.chdir(ROOT)
    steps = studies.budget_choice()["steps"]
    final = studies.sweep_runs(studies.BUDGET_FINAL)
    studies.check_budget_final(steps, final)                     # no error: the file is the rule's choice
    wrong = {**steps, "50": {**steps["50"], "jade": 4800}}
    with pytest.raises(config.ConfigError, match="jade at 50 labels: the rule chose 4800 steps, the file trains 1200"):
        studies.check_budget_final(wrong, final)
    chosen = studies.recipe_choice(studies.recipe_search_runs())
    recipe_final = studies.sweep_runs(studies.RECIPE_REMAKE_FINAL)
    studies.check_recipe_final(chosen["recipe"], recipe_final)
    with pytest.raises(config.ConfigError, match="aug_cutout: chosen 10, the file 0"):
        studies.check_recipe_final(chosen["recipe"], [{**kw, "aug_cutout": 0} for kw in recipe_final])


def test_the_recipe_searches_on_search_seeds_and_reports_table1s_first_five_seeds():
    """sweeps/recipe-remake*.yml: the candidates on the search seeds; the final runs on Table 1's first five
    seeds, none a search seed, with the recipe the search chose (jade study recipe-remake refuses another)."""
    from jade_core.experiments.selection import SEARCH_SEEDS
    search = studies.sweep_runs(studies.RECIPE_REMAKE_SEARCH)
    assert sorted({kw["seed"] for kw in search}) == list(SEARCH_SEEDS)
    final = studies.sweep_runs(studies.RECIPE_REMAKE_FINAL)
    table1_seeds = sorted({kw["seed"] for kw in studies.sweep_runs(ROOT / "sweeps" / "table1.yml")})
    assert sorted({kw["seed"] for kw in final}) == table1_seeds[:5] and not set(table1_seeds) & set(SEARCH_SEEDS)
    studies.check_recipe_final(studies.recipe_choice(search)["recipe"], final)


def test_the_final_stage_before_the_search_names_the_command_that_makes_it(tmp_path):
    import pytest
    search = tmp_path / "search.yml"
    search.write_text(f"name: s\nprofile: smoke\nbase: {{variant: single}}\nseeds: [100, 101]\n"
                      f"output_dir: {tmp_path}/search/{{run}}\nruns:\n  - {{run: a}}\n")
    with pytest.raises(config.ConfigError, match=r"2 of the 2 search runs of the recipe-remake study are not "
                                                  r"finished.*`jade study recipe-remake --stage search` first"):
        studies.run_study("recipe-remake", stage="final", search_file=search, final_file=search)
