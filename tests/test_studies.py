"""The studies beyond the paper: label budget and tuned recipe (jade_core.experiments.studies, selection rules)."""
import json

import pandas as pd
import pytest
from jade_core.experiments import studies
from jade_core.experiments.runs import finished_runs, load_run
from jade_core.experiments.selection import choose_recipe
from jade_core.science.config import ConfigError

pytestmark = pytest.mark.slow  # end to end: the README test command runs it, `-m "not slow"` skips it

def _run(root, variant, seed):
    """The one finished run of ``variant`` and ``seed`` under ``root`` (its name carries its configuration)."""
    (path,) = [p for p in finished_runs(root) if p.parent.name == variant and p.name.endswith(f"-seed{seed}")]
    return load_run(path)


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
