"""The studies beyond the paper: label budget and tuned recipe (jade_core.experiments.studies, selection rules)."""
import json

import pandas as pd
import pytest
from jade_core.experiments import studies
from jade_core.experiments.runs import finished_runs, load_run
from jade_core.experiments.selection import choose_recipe, choose_steps
from jade_core.science.config import ConfigError, resolve_config

pytestmark = pytest.mark.slow  # end to end: the README test command runs it, `-m "not slow"` skips it

def _run(root, variant, seed):
    """The one finished run of ``variant`` and ``seed`` under ``root`` (its name carries its configuration)."""
    (path,) = [p for p in finished_runs(root) if p.parent.name == variant and p.name.endswith(f"-seed{seed}")]
    return load_run(path)


def test_budget_runs_count_steps_not_epochs(monkeypatch):
    # at the defaults' settings (the committed study names the first version's: they would tag every name)
    monkeypatch.setitem(studies.PLANS, "paper", studies.BudgetPlan(settings=()))
    for labels, spe in ((10, 2), (25, 4), (50, 8), (100, 16)):
        kw = studies.budget_run("jade", labels, 3, 2400, "x")
        assert studies.steps_per_epoch(labels) == spe
        assert kw["epochs"] * spe == 2400 and kw["eval_every"] * spe == 80 and kw["restart_epoch"] * spe == 480
        name = resolve_config(**kw, data_dir=".").run_dir.relative_to("x/runs/jade").as_posix()
        # named by what differs from Table 1's run: nothing at 100 labels, the pool and the length below it
        assert name == ("local-seed3" if labels == 100 else f"local-ep{2400 // spe}-l{labels}-restart"
                        f"{480 // spe}-evalevery{80 // spe}-seed3")
    assert studies.budget_run("single", 100, 0, 2400, "x")["epochs"] == 150  # Table 1's length
    with pytest.raises(ConfigError, match="whole number of epochs"):
        studies.budget_run("single", 50, 0, 2404, "x")
    final = studies.budget_final_runs({str(b): {"single": 1200, "paired": 2400, "jade": 4800}
                                       for b in studies.PLANS["paper"].budgets}, "r")
    assert len(final) == 5 * 3 * 3
    j10 = [kw for kw in final if kw["variant"] == "jade" and kw["labels_per_class"] == 10]
    assert all(kw["epochs"] == 2400 and kw["output_dir"] == "r/labels-10" for kw in j10)


def test_choose_steps_takes_the_lowest_validation_error_and_fewer_steps_on_ties():
    curve = pd.DataFrame({"step": [80, 1200, 2400, 4800], "svhn_val_error": [80.0, 30.0, 25.0, 25.0]})
    assert choose_steps(curve) == {"chosen": 2400, "errors": {1200: 30.0, 2400: 25.0, 4800: 25.0}}
    curve.loc[3, "svhn_val_error"] = 24.9
    assert choose_steps(curve)["chosen"] == 4800
    assert choose_steps(curve.iloc[:2])["errors"] == {1200: 30.0}  # a candidate off the curve is skipped
    with pytest.raises(ValueError, match="no candidate"):
        choose_steps(curve.iloc[:1])


def test_choose_recipe_is_the_lowest_single_validation_error():
    t = pd.DataFrame({"candidate": ["a", "b", "c"], "svhn_val_error": [14.0, 12.5, 13.0]})
    assert choose_recipe(t) == "b"
    assert studies.recipe_overrides({"variant": "single", "seed": 0, "output_dir": "o", "aug_shift": 3,
                                     "device": "cuda", "profile": "paper"}) == {"aug_shift": 3, "profile": "paper"}


def test_budget_study_end_to_end(smoke, tmp_path, monkeypatch):
    monkeypatch.setitem(studies.PLANS, "smoke", studies.BudgetPlan(budgets=(5,), step_candidates=(4, 8), eval_steps=2,
                                                                   restart_steps=100, seeds=(0, 1)))
    root = str(tmp_path / "budget")
    out = studies.run_study("budget", workers=1, root=root, profile="smoke", data_dir=smoke["data_dir"])
    assert [r["status"] for r in out].count("done") == 3 + 6 and not [r for r in out if r["status"] == "failed"]
    choice = json.loads((tmp_path / "budget" / "choice.json").read_text())
    for v in ("single", "paired", "jade"):
        search = _run(tmp_path / "budget/length/labels-5", v, 0)
        assert search.metrics["steps"] == 8 and list(search.curve["step"]) == [2, 4, 6, 8]
        errors = search.curve.set_index("step")["svhn_val_error"]
        want = min((4, 8), key=lambda s: (errors[s], s))
        assert choice["steps"]["5"][v] == want
        final = _run(tmp_path / "budget/labels-5", v, 1)
        assert final.metrics["steps"] == want and final.config.labels_per_class == 5
    again = studies.run_study("budget", workers=1, root=root, profile="smoke", data_dir=smoke["data_dir"])
    assert {r["status"] for r in again} == {"reused"}


def test_recipe_study_end_to_end(smoke, tmp_path, monkeypatch):
    monkeypatch.setattr(studies, "RECIPE_SEEDS", (0,))
    sweep = tmp_path / "search.yml"
    sweep.write_text(f"""name: s
profile: smoke
base: {{variant: single, seed: 0, epochs: 2, optimizer: adamw, lr_schedule: onecycle, aug_shift: 2}}
output_dir: {tmp_path}/recipe/search/{{run}}
runs:
  - {{run: a}}
  - {{run: b, aug_cutout: 6, lr: 0.01}}
""")
    root = str(tmp_path / "recipe")
    out = studies.run_study("recipe", workers=1, root=root, recipe_search=str(sweep), data_dir=smoke["data_dir"])
    assert not [r for r in out if r["status"] == "failed"] and len(out) == 2 + 3
    choice = json.loads((tmp_path / "recipe" / "choice.json").read_text())
    errs = {r["candidate"]: r["svhn_val_error"] for r in choice["table"]}
    assert choice["chosen"] == min(errs, key=errs.get)
    for v in ("single", "paired", "jade"):
        run = _run(tmp_path / "recipe", v, 0)
        assert run.config.optimizer == "adamw" and run.config.aug_shift == 2 and run.config.profile == "smoke"
        assert (run.config.aug_cutout == 6) == (choice["chosen"] == "b")
