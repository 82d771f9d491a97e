"""The studies beyond the paper: label budget and tuned recipe (jade_core.experiments.studies, selection rules)."""
import json

import pandas as pd
import pytest
from jade_core.experiments import studies
from jade_core.experiments.runs import finished_runs, load_run
from jade_core.experiments.selection import choose_recipe, choose_steps
from jade_core.science.config import ConfigError

pytestmark = pytest.mark.slow  # end to end: the README test command runs it, `-m "not slow"` skips it

def _run(root, variant, seed):
    """The one finished run of ``variant`` and ``seed`` under ``root`` (its name carries its configuration)."""
    (path,) = [p for p in finished_runs(root) if p.parent.name == variant and p.name.endswith(f"-seed{seed}")]
    return load_run(path)


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
    t = pd.DataFrame({"candidate": ["a", "a", "b", "b", "c"], "seed": [100, 101, 100, 101, 100],
                      "svhn_val_error": [10.0, 20.0, 14.0, 14.0, 12.0]})
    assert choose_recipe(t[t.candidate != "c"]) == "b"          # the mean over seeds: 15 against 14
    assert choose_recipe(t) == "a"                               # only seed 100 has every candidate
    assert choose_recipe(t.assign(svhn_val_error=[14.0, 20.0, 14.0, 14.0, 15.0])) == "a"  # a tie: the first
    with pytest.raises(ValueError, match="no seed has a finished run of every recipe candidate"):
        choose_recipe(t.assign(seed=[100, 101, 100, 101, 102]))
    assert studies.recipe_overrides({"variant": "single", "seed": 0, "output_dir": "o", "aug_shift": 3,
                                     "device": "cuda", "profile": "paper"}) == {"aug_shift": 3, "profile": "paper"}


def test_budget_study_end_to_end(smoke, tmp_path):
    """search -> rule -> choice.json -> the final file checked against the choice -> final runs; a final file
    that trains another length is refused, naming it, before anything of the final stage trains."""
    search_file, final_file = tmp_path / "search.yml", tmp_path / "final.yml"
    search_file.write_text(f"""name: s
profile: smoke
base: {{seed: 0}}
output_dir: "{tmp_path}/budget/length/labels-{{labels_per_class}}"
steps: {{train: 8, validate: 2, restart: 100}}
grid: {{labels_per_class: [5], variant: [single, paired, jade]}}
""")
    root = str(tmp_path / "budget")
    studies.run_study("budget", workers=1, root=root, search_file=search_file, final_file=search_file,
                      stage="search", candidates=(4, 8), data_dir=smoke["data_dir"])
    choice = studies.budget_choice(search_file, (4, 8), data_dir=smoke["data_dir"])["steps"]["5"]
    grids = "\n".join(f"  - {{labels_per_class: [5], variant: [{v}], steps: [{{train: {n}, validate: 2, restart: 100}}]}}"
                      for v, n in choice.items())
    final_file.write_text(f"""name: f
profile: smoke
seeds: [0, 1]
output_dir: "{tmp_path}/budget/labels-{{labels_per_class}}"
grids:
{grids}
""")
    out = studies.run_study("budget", workers=1, root=root, search_file=search_file, final_file=final_file,
                            candidates=(4, 8), data_dir=smoke["data_dir"])
    assert [r["status"] for r in out].count("done") == 6 and not [r for r in out if r["status"] == "failed"]
    written = json.loads((tmp_path / "budget" / "choice.json").read_text())
    for v in ("single", "paired", "jade"):
        search = _run(tmp_path / "budget/length/labels-5", v, 0)
        assert search.metrics["steps"] == 8 and list(search.curve["step"]) == [2, 4, 6, 8]
        errors = search.curve.set_index("step")["svhn_val_error"]
        assert written["steps"]["5"][v] == min((4, 8), key=lambda s: (errors[s], s))
        final = _run(tmp_path / "budget/labels-5", v, 1)
        assert final.metrics["steps"] == written["steps"]["5"][v] and final.config.labels_per_class == 5
    again = studies.run_study("budget", workers=1, root=root, search_file=search_file, final_file=final_file,
                              candidates=(4, 8), data_dir=smoke["data_dir"])
    assert {r["status"] for r in again} == {"reused"}
    wrong = 12 - choice["jade"]  # the other candidate
    final_file.write_text(final_file.read_text().replace(f"[jade], steps: [{{train: {choice['jade']}",
                                                         f"[jade], steps: [{{train: {wrong}"))
    with pytest.raises(ConfigError, match=f"jade at 5 labels: the rule chose {choice['jade']} steps, the file trains {wrong}"):
        studies.run_study("budget", workers=1, root=root, search_file=search_file, final_file=final_file,
                          candidates=(4, 8), data_dir=smoke["data_dir"])


def test_recipe_study_end_to_end(smoke, tmp_path):
    sweep, final_file = tmp_path / "search.yml", tmp_path / "final.yml"
    sweep.write_text(f"""name: s
profile: smoke
base: {{variant: single, epochs: 2, optimizer: adamw, lr_schedule: onecycle, aug_shift: 2}}
seeds: [0, 1]
output_dir: {tmp_path}/recipe/search/{{run}}
runs:
  - {{run: a}}
  - {{run: b, aug_cutout: 6, lr: 0.01}}
""")
    root = str(tmp_path / "recipe")
    studies.run_study("recipe-remake", workers=1, root=root, search_file=sweep, final_file=sweep, stage="search",
                      data_dir=smoke["data_dir"])
    chosen = studies.recipe_choice(studies.recipe_search_runs(str(sweep), data_dir=smoke["data_dir"]))["chosen"]
    extra = "aug_cutout: 6, lr: 0.01, " if chosen == "b" else ""
    final_file.write_text(f"""name: f
profile: smoke
base: {{epochs: 2, optimizer: adamw, lr_schedule: onecycle, aug_shift: 2, {extra}}}
seeds: [0]
output_dir: {tmp_path}/recipe
grid: {{variant: [single, paired, jade]}}
""")
    out = studies.run_study("recipe-remake", workers=1, root=root, search_file=sweep, final_file=final_file,
                            data_dir=smoke["data_dir"])
    assert not [r for r in out if r["status"] == "failed"] and len(out) == 2 * 2 + 3
    choice = json.loads((tmp_path / "recipe" / "choice.json").read_text())
    table = pd.DataFrame(choice["table"])
    assert sorted(zip(table.candidate, table.seed)) == [("a", 0), ("a", 1), ("b", 0), ("b", 1)]
    errs = table.groupby("candidate").svhn_val_error.mean()   # the rule reads the mean over the seeds
    assert choice["chosen"] == chosen == errs.idxmin()
    for v in ("single", "paired", "jade"):
        run = _run(tmp_path / "recipe", v, 0)
        assert run.config.optimizer == "adamw" and run.config.aug_shift == 2 and run.config.profile == "smoke"
        assert (run.config.aug_cutout == 6) == (choice["chosen"] == "b")
    final_file.write_text(final_file.read_text().replace("aug_shift: 2", "aug_shift: 1"))
    with pytest.raises(ConfigError, match="aug_shift: chosen 2, the file 1"):
        studies.run_study("recipe-remake", workers=1, root=root, search_file=sweep, final_file=final_file,
                          data_dir=smoke["data_dir"])
