"""The tuned recipe's sweep files say what its declared rule chose on the committed search runs."""
from pathlib import Path

from jade_core.experiments import studies
from jade_core.science import config

ROOT = Path(__file__).resolve().parents[1]
CHOSEN = {"precision": "fp32", "w_cls": 100000.0, "w_match": 100.0, "mnist_batch_size": 64}


def test_the_final_sweep_files_say_what_the_rules_chose_on_the_committed_searches(monkeypatch):
    """sweeps/recipe-remake.yml trains the recipe choose_recipe picks on the committed search runs; an edited
    file is refused, naming what differs."""
    import pytest
    monkeypatch.chdir(ROOT)
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
