"""The run grids: one definition (sweeps/*.yml), runs selected by their recorded configuration."""
import json
import shutil
import textwrap
from pathlib import Path

import pytest
from jade_core.experiments import grid
from jade_core.experiments.runs import collect_table1
from jade_core.reporting.report import markdown_table1
from jade_core.science.config import ConfigError

RESULTS = Path(__file__).resolve().parents[1] / "results"


def _copy_table1(dst: Path) -> None:
    """The committed Table 1 and ablation runs (sweeps/table1.yml: under results/remake/), without their
    weights (a table reads none)."""
    shutil.copytree(RESULTS / "remake", dst / "remake", ignore=shutil.ignore_patterns("weights.pt"))


def _run(root: Path, variant: str, seed: int) -> Path:
    """The folder of Table 1's ``variant`` run of ``seed`` under ``root``, whatever it is called (found by
    configuration: the folder also holds Table 1's JADE made before the warm-up)."""
    (kw,) = [kw for label, kw in grid.expected("table1", "paper", root) if label == variant and kw["seed"] == seed]
    (path,) = grid.locate([kw])
    assert path is not None, (variant, seed)
    return path


def test_renaming_every_run_folder_leaves_table1_unchanged(tmp_path):
    _copy_table1(tmp_path)
    before = markdown_table1(collect_table1(tmp_path))
    for i, run in enumerate(sorted(tmp_path.glob("**/runs/*/*/metrics.json"))):
        run.parent.rename(run.parent.with_name(f"renamed-by-hand-{i}"))
    after = collect_table1(tmp_path)
    assert len(after) == 40 and markdown_table1(after) == before
    assert grid.missing("table1", "paper", results=tmp_path) == []       # renamed runs are not retrained


def test_a_run_of_another_configuration_in_the_folder_is_not_table1s(tmp_path):
    _copy_table1(tmp_path)
    src = _run(tmp_path, "jade", 3)
    cfg = json.loads((src / "config.json").read_text())
    cfg["config"]["w_match"] = 300.0                                    # now a run of another configuration
    (src / "config.json").write_text(json.dumps(cfg))
    t = collect_table1(tmp_path)
    assert sorted(t[t.variant == "jade"].seed) == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    assert [kw["seed"] for kw in grid.missing("table1", "paper", results=tmp_path)] == [3]


def test_the_same_run_twice_is_refused_with_both_folders(tmp_path):
    _copy_table1(tmp_path)
    a = _run(tmp_path, "single", 1)
    shutil.copytree(a, a.with_name("copy-of-seed1"))
    with pytest.raises(ConfigError, match="two finished runs of single seed 1 have the same configuration"):
        collect_table1(tmp_path)


def test_an_unreadable_run_is_listed_not_dropped_quietly(tmp_path):
    _copy_table1(tmp_path)
    bad = _run(tmp_path, "paired", 2)
    (bad / "metrics.json").write_text((bad / "metrics.json").read_text()[:200])
    with pytest.warns(UserWarning, match=f"skipping .*{bad.name}"):
        t = collect_table1(tmp_path)
    assert len(t) == 39 and [p for p, _ in t.attrs["skipped"]] == [str(bad)]


def test_one_edit_adds_an_ablation(tmp_path, monkeypatch):
    sweeps = tmp_path / "sweeps"
    sweeps.mkdir()
    text = (grid.SWEEPS / "table1.yml").read_text()
    text += '  - {run: jade-wm10, label: jade_wm10, variant: jade, w_match: 10.0, output_dir: "{results}/ablation/w_match-10"}\n'
    (sweeps / "table1.yml").write_text(text)
    monkeypatch.setattr(grid, "SWEEPS", sweeps)
    new = [kw for label, kw in grid.expected("table1", "paper") if label == "jade_wm10"]
    assert sorted(kw["seed"] for kw in new) == list(range(10))
    assert {kw["output_dir"] for kw in new} == {"results/ablation/w_match-10"}
    assert len(grid.missing("table1", "paper")) == 10                  # only the new runs are to train


def test_an_unknown_grid_names_the_known_ones():
    with pytest.raises(ConfigError, match="no grid 'nope'.*Known grids: .*table1"):
        grid.expected("nope", "paper")


def test_seeds_per_profile_and_a_missing_profile(tmp_path):
    f = tmp_path / "g.yml"
    f.write_text(textwrap.dedent("""\
        name: g
        seeds: {paper: [3, 4]}
        runs:
          - {run: a, variant: single}
          - {run: b, variant: paired, seed: 9}
    """))
    from jade_core.experiments.sweep import expand_sweep
    _, runs = expand_sweep(f, profile="paper")
    assert [(label, kw["seed"]) for label, kw in runs] == [("single", 3), ("single", 4), ("paired", 9)]
    with pytest.raises(ConfigError, match="seeds are given for paper, not for the smoke profile"):
        expand_sweep(f, profile="smoke")
    f.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        expand_sweep(f)


def test_tidy_runs_of_one_grid_renames_its_runs_only(tmp_path):
    from jade_core.tooling.cli import main
    _copy_table1(tmp_path)
    other = tmp_path / "study" / "runs" / "single" / "named-by-hand"
    shutil.copytree(_run(tmp_path, "single", 0), other)                   # a study's run, named by hand
    for run in sorted((tmp_path / "remake" / "runs").glob("*/*")):
        run.rename(run.with_name("by-hand-" + run.name))
    assert main(["tidy-runs", str(tmp_path), "--grid", "table1"]) in (0, None)
    names = sorted(p.name for p in (tmp_path / "remake" / "runs" / "jade").iterdir())
    assert [n for n in names if not n.startswith("by-hand-")] == [f"local-seed{s}" for s in range(10)]
    assert len(names) == 20          # Table 1's JADE made before the warm-up: another grid's, left alone
    assert other.exists()                                                  # not the grid's: left alone
    assert main(["tidy-runs", str(tmp_path)]) in (0, None) and not other.exists()   # everything's tidy-up


def test_a_run_of_a_table1_configuration_is_placed_where_the_grid_keeps_it():
    """A variant chapter or `jade train` with any seed reuses, or trains, Table 1's run in Table 1's folder."""
    assert grid.place(dict(variant="jade", profile="paper", seed=13))["output_dir"] == "results/remake"
    assert grid.place(dict(variant="jade", profile="paper", seed=3, w_match=0.0))["output_dir"] == \
        "results/remake/ablation/w_match-0"                              # the ablation's row
    assert grid.place(dict(variant="jade", profile="paper", seed=3, w_match=10.0))["output_dir"] == "results"
    assert grid.place(dict(variant="single", profile="smoke", seed=0, output_dir="x"))["output_dir"] == "x/remake"
    kw = grid.place(dict(variant="paired", profile="paper", seed=4))
    (found,) = grid.locate([kw])                                         # the committed run: reused, not retrained
    assert found is not None and found.parents[2].resolve() == (RESULTS / "remake").resolve()
