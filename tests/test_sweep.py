"""The run matrix as a list of runs, trained on worker processes."""
import json

import pytest
from jade_core.experiments.lifecycle import train
from jade_core.science.config import RunConfig, resolve_config
from jade_core.tooling.book import run_matrix


def test_every_grid_a_chapter_names_is_complete_and_every_committed_run_belongs_to_one(monkeypatch):
    """Derived from book/matrix.yml and the sweep files, never from counts or folder names: every run of every
    grid that a chapter of the paper profile names is finished under results/ with its row's configuration
    (found by the configuration it recorded), and every run committed under results/ is one of them."""
    from jade_core.experiments import grid
    from jade_core.tooling.book import ROOT, chapter_grids
    monkeypatch.chdir(ROOT)
    named = set()
    for name in chapter_grids("paper"):
        runs = [kw for _, kw in grid.expected(name, "paper")]
        found = grid.locate(runs)
        missing = [str(resolve_config(**kw).run_dir) for kw, p in zip(runs, found) if p is None]
        assert not missing, f"{name}: {len(missing)} runs missing, e.g. {missing[:2]}"
        named |= {str(p) for p in found}
    from jade_core.tooling.book import remaking_grids
    for name in remaking_grids():  # being re-made: may be partly finished, never read by a chapter yet
        assert name not in chapter_grids("paper"), f"{name} is both read by a chapter and being re-made"
        named |= {str(p) for p in grid.locate([kw for _, kw in grid.expected(name, "paper")]) if p is not None}
    committed = {str(m.parent.relative_to(ROOT)) for m in (ROOT / "results").glob("**/runs/*/*/metrics.json")}
    assert not committed - named, f"committed runs no chapter names: {sorted(committed - named)[:3]}"

def test_matrix_runs_on_workers_equal_a_direct_run_and_are_reused(data_dir, tmp_path):
    out = str(tmp_path / "grid")  # its own folder: never the smoke book's _build/smoke-results
    first = run_matrix("smoke", workers=2, data_dir=data_dir, variants=["single"], results=out, grids=["table1"])
    assert sorted(r["status"] for r in first) == ["done", "done"]
    again = run_matrix("smoke", workers=2, data_dir=data_dir, variants=["single"], results=out, grids=["table1"])
    assert [r["status"] for r in again] == ["reused", "reused"]
    worker_run = next(r["run"] for r in again if r["run"].endswith("seed0"))
    direct = train(variant="single", profile="smoke", seed=0, data_dir=data_dir, output_dir=str(tmp_path / "direct"),
                   progress=False)
    metrics = lambda p: {k: v for k, v in json.loads((p / "metrics.json").read_text()).items() if k != "train_seconds"}
    from pathlib import Path
    assert metrics(Path(worker_run)) == metrics(direct)


@pytest.mark.slow
def test_the_same_runs_on_a_dask_cluster_give_the_same_metrics(data_dir, tmp_path):
    """Runs as tasks on a distributed.LocalCluster (127.0.0.1 only) equal local-worker runs."""
    import shutil
    from pathlib import Path

    import pytest
    distributed = pytest.importorskip("distributed")
    out = str(tmp_path / "grid")
    local = run_matrix("smoke", workers=2, data_dir=data_dir, variants=["single"], results=out, grids=["table1"])
    saved = {}
    for r in local:
        p = Path(r["run"])
        saved[p] = json.loads((p / "metrics.json").read_text())
        shutil.move(str(p), str(tmp_path / p.name))  # make the cluster train them again (its own folder)
    with distributed.LocalCluster(host="127.0.0.1", n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        on_dask = run_matrix("smoke", data_dir=data_dir, variants=["single"], grids=["table1"],
                             scheduler=cluster.scheduler_address, results=out)
    assert sorted(r["status"] for r in on_dask) == ["done", "done"]
    for p, m in saved.items():
        again = json.loads((p / "metrics.json").read_text())
        assert {k: v for k, v in again.items() if k != "train_seconds"} == \
               {k: v for k, v in m.items() if k != "train_seconds"}


def _refused(f, text: str, match: str) -> None:
    """The sweep file ``f`` with ``text`` is refused by load_sweep with an error matching ``match``."""
    from jade_core.experiments.sweep import load_sweep
    from jade_core.science.config import ConfigError
    f.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_sweep(f)


def test_sweep_files_resolve_and_grids_expand(tmp_path):
    from pathlib import Path

    from jade_core.experiments.sweep import load_sweep
    root = Path(__file__).resolve().parents[1]
    name, runs = load_sweep(root / "sweeps" / "warmup-search.yml")
    assert name == "warmup-search" and {kw["seed"] for kw in runs} == {100, 101, 102}
    assert all(str(resolve_config(**kw).run_dir).startswith("results/search/settings/") for kw in runs)
    f = tmp_path / "grid.yml"
    f.write_text("name: g\nbase: {epochs: 2}\noutput_dir: out/{run}\ngrid: {variant: [single, jade], seed: [0, 1, 2]}\n")
    _, grid = load_sweep(f)
    assert len(grid) == 6 and {kw["seed"] for kw in grid} == {0, 1, 2}
    assert len({str(resolve_config(**kw).run_dir) for kw in grid}) == 6
    _refused(f, "name: bad\nruns: [{run: a, colour: red}]\n", "unknown parameter.*colour")
    _refused(f, "name: clash\nruns: [{run: a, w_match: 1.0}, {run: b, w_match: 1.0}]\n", "share a run folder")


def test_seeds_given_on_the_command_line_replace_the_files_and_may_come_before_it_lists_them(tmp_path, capsys):
    """``jade sweep FILE --seeds 5 6``: the file's runs for seeds 5 and 6 only (a long grid made a few seeds a
    sitting), the same runs the file makes once it lists those seeds; refused for a file whose runs name
    their own seeds, or for an empty list (each seed's type and range: resolve_config)."""
    from jade_core.experiments.sweep import load_sweep
    from jade_core.science.config import ConfigError
    from jade_core.tooling.cli import main
    f = tmp_path / "g.yml"
    f.write_text("name: g\noutput_dir: out\nseeds: {smoke: [0], paper: [0, 1]}\ngrid: {variant: [single, jade]}\n")
    dirs = lambda runs: sorted(str(resolve_config(**kw).run_dir) for kw in runs)
    picked = load_sweep(f, seeds=[5, 6])[1]
    assert sorted((kw["variant"], kw["seed"]) for kw in picked) == [("jade", 5), ("jade", 6), ("single", 5), ("single", 6)]
    f.write_text(f.read_text().replace("paper: [0, 1]", "paper: [0, 1, 5, 6]"))
    assert set(dirs(picked)) < set(dirs(load_sweep(f)[1])) and len(load_sweep(f)[1]) == 8
    assert main(["sweep", str(f), "--seeds", "6", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "seed6" in out and "seed5" not in out and "2 runs" in out
    with pytest.raises(ConfigError, match="seeds must be"):
        load_sweep(f, seeds=[])
    f.write_text("name: g\nruns: [{run: a, variant: single, seed: 3}]\n")
    with pytest.raises(ConfigError, match="gives no seeds"):
        load_sweep(f, seeds=[5])


def test_lengths_in_steps_give_every_budget_the_same_number_of_steps(tmp_path):
    """``steps:`` in a sweep file: each run's epochs, validation interval and plateau check come from its own
    steps per epoch, so a pool of 10 labels per class (2 steps of 64 an epoch) and one of 100 (16 steps)
    train, validate and restart at the same step; a count that is not a whole number of epochs is refused."""
    from jade_core.experiments.sweep import load_sweep
    f = tmp_path / "budget.yml"
    f.write_text("name: b\nseeds: [0]\nsteps: {paper: {train: 2400, validate: 80, restart: 480, warmup: 800}}\n"
                 "grid: {labels_per_class: [10, 25, 100], variant: [jade]}\n")
    cfgs = [resolve_config(**kw) for kw in load_sweep(f)[1]]
    assert [c.epochs for c in cfgs] == [1200, 600, 150]
    assert [c.epochs * c.steps_per_epoch for c in cfgs] == [2400] * 3
    assert [c.eval_every * c.steps_per_epoch for c in cfgs] == [80] * 3
    assert [c.restart_epoch * c.steps_per_epoch for c in cfgs] == [480] * 3
    assert [c.w_match_warmup * c.steps_per_epoch for c in cfgs] == [800] * 3  # the first third, as Table 1's
    assert cfgs[-1].w_match_warmup == RunConfig().w_match_warmup
    assert cfgs[-1].epochs == RunConfig().epochs  # 100 labels: Table 1's length
    _refused(f, "name: b\nseeds: [0]\nsteps: {train: 2401}\ngrid: {labels_per_class: [10], variant: [single]}\n",
             "not a whole number of epochs of 2 steps")
    _refused(f, "name: b\nseeds: [0]\nsteps: {train: 2400}\ngrid: {labels_per_class: [10], epochs: [3]}\n",
             "sets epochs and steps.train")
    _refused(f, "name: b\nseeds: [0]\nsteps: {smoke: {train: 20}}\ngrid: {labels_per_class: [10]}\n",
             "not for the paper profile")


def test_a_grid_may_give_its_own_lengths_and_name_its_fields_in_the_folder(tmp_path):
    """``steps`` inside a grid (a list of length maps) overrides the sweep's; ``{labels_per_class}`` in
    output_dir is the run's own value; a field the run does not set is refused by name."""
    from jade_core.experiments.sweep import load_sweep
    f = tmp_path / "first.yml"
    f.write_text("name: b\nseeds: [0]\noutput_dir: 'out/labels-{labels_per_class}'\n"
                 "steps: {train: 4800}\n"
                 "grids:\n"
                 "  - {labels_per_class: [10], variant: [single]}\n"
                 "  - {labels_per_class: [50], variant: [jade], steps: [{train: 1200, validate: 80}]}\n")
    a, b = [resolve_config(**kw) for kw in load_sweep(f)[1]]
    assert (a.epochs * a.steps_per_epoch, str(a.output_dir)) == (4800, "out/labels-10")
    assert (b.epochs * b.steps_per_epoch, b.eval_every * b.steps_per_epoch, str(b.output_dir)) == (1200, 80, "out/labels-50")
    _refused(f, "name: b\nseeds: [0]\noutput_dir: 'out/{colour}'\ngrid: {variant: [single]}\n", "names 'colour'")


def test_the_recipe_study_the_book_reports_is_a_grid_the_paper_matrix_requires():
    """The Table 1 chapter names the tuned recipe's grid, so that `jade book --profile paper` remakes its runs where
    they are missing and `--reuse-only` refuses without them."""
    from jade_core.tooling.book import chapter_grids
    assert "recipe-remake" in chapter_grids("paper", only=["table1"])


def test_a_smoke_build_refuses_a_grid_that_would_write_into_the_committed_results(tmp_path, monkeypatch):
    """A grid whose sweep file writes to a fixed folder (not under {results}) would put smoke runs among the
    committed ones: the smoke build refuses before anything trains, naming the fix."""
    from jade_core.experiments import grid
    from jade_core.tooling import book
    sweeps = tmp_path / "sweeps"
    sweeps.mkdir()
    (sweeps / "fixed.yml").write_text("name: fixed\nbase: {variant: single, seed: 0}\noutput_dir: results/fixed/{run}\n"
                                      "runs: [{run: a}]\n")
    (sweeps / "under.yml").write_text("name: under\nbase: {variant: single, seed: 0}\noutput_dir: '{results}/u/{run}'\n"
                                      "runs: [{run: a}]\n")
    monkeypatch.setattr(grid, "SWEEPS", sweeps)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(book, "load_matrix", lambda: {"smoke": [{"notebook": "x", "grids": ["fixed"]}],
                                                      "paper": [{"notebook": "x", "grids": ["under"]}]})
    with pytest.raises(book.BuildError, match=r"outside its folder .*smoke-results \(first: results/fixed/a/runs"):
        book.train_grids("smoke", dry_run=True)
    monkeypatch.setattr(book, "load_matrix", lambda: {"smoke": [{"notebook": "x", "grids": ["under"]}]})
    assert [r["status"] for r in book.train_grids("smoke", dry_run=True)] == ["to train"]


def test_a_sweep_file_is_checked_against_its_format_before_anything_expands(tmp_path):
    """Each mistake a user writes is one ConfigError line naming it: a misspelt key (with the nearest known one),
    a key twice, a wrong type, a binary file, and a grid too large to expand (counted, not expanded)."""
    from jade_core.experiments.sweep import load_sweep
    from jade_core.science.config import ConfigError
    f = tmp_path / "s.yml"
    _refused(f, "name: s\nbsae: {epochs: 2}\nseeds: [0]\nruns: [{run: a}]\n", "unknown key 'bsae' .did you mean 'base'")
    _refused(f, "name: s\noutput_dri: out\nseeds: [0]\nruns: [{run: a}]\n", "did you mean 'output_dir'")
    _refused(f, "name: s\nseeds: [0]\nseeds: [1]\nruns: [{run: a}]\n", "the key 'seeds' appears twice .line 3.")
    _refused(f, "name: s\nbase: [1, 2]\nseeds: [0]\nruns: [{run: a}]\n", "base must be a mapping, got list")
    f.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(ConfigError, match="not a text file"):
        load_sweep(f)
    huge = "name: s\nseeds: [0, 1]\ngrid: {" + ", ".join(f"f{i}: [{', '.join(map(str, range(10)))}]" for i in range(10)) + "}\n"
    _refused(f, huge, "describes 20,000,000,000 runs, more than 5,000")
    f.write_text("name: s\nseeds: [0, 1]\ngrid: {variant: [single, jade], lr: [0.001, 0.002]}\n")
    assert len(load_sweep(f)[1]) == 8
    with pytest.raises(ConfigError, match="describes 8 runs, more than 4"):
        load_sweep(f, max_runs=4)


def test_an_unknown_chapter_in_only_is_refused_with_the_nearest_one():
    """`jade book --only tabel1` used to rebuild the site from old notebooks and exit 0."""
    from jade_core.tooling import book
    with pytest.raises(book.BuildError, match="--only names no chapter of the smoke profile: 'tabel1' .did you mean 'table1'"):
        book.execute("smoke", only=["tabel1"])


def test_a_second_build_of_a_profile_fails_at_once_naming_the_first():
    import os

    from jade_core.tooling import book
    with book.build_lock("smoke"):
        with pytest.raises(book.BuildError, match=f"another build of this profile is running .process {os.getpid()}"):
            with book.build_lock("smoke"):
                pass
        with book.build_lock("paper"):  # another profile builds into other folders
            pass
    with book.build_lock("smoke"):  # released
        pass
