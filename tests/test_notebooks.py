"""The book: matrix coverage, clean sources, parameters, papermill execution (smoke profile)."""
import json
from pathlib import Path

import pytest
from jade_core.tooling.book import load_matrix, toc_chapters

pytestmark = pytest.mark.slow  # end to end: the README test command runs it, `-m "not slow"` skips it

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"


def test_every_toc_chapter_is_in_every_profile_of_the_matrix():
    from jade_core.tooling.ledger import PAGE
    chapters = [c for c in toc_chapters() if c != PAGE]   # the numbers page is generated, not executed
    assert chapters[0] == "intro" and {"table1", "figure2", "jade"} <= set(chapters) and PAGE in toc_chapters()
    for profile, entries in load_matrix().items():
        shown = {e["notebook"] for e in entries if e.get("site", True)}
        assert set(chapters) <= shown, f"{profile} matrix lacks {set(chapters) - shown}"
        assert all((BOOK / f"{e['notebook']}.ipynb").exists() for e in entries)


@pytest.mark.parametrize("name", sorted(p.stem for p in BOOK.glob("*.ipynb")))
def test_sources_carry_no_outputs_and_one_parameters_cell(name):
    nb = json.loads((BOOK / f"{name}.ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    params = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1
    src = "".join(params[0]["source"])
    for p in ("profile", "seed", "data_dir"):
        assert f"{p} =" in src
    assert all("#" in line for line in src.splitlines() if "=" in line), "each parameter has a comment"
    import papermill  # papermill's own reading of the cell: a comment it cannot parse hides the parameter
    assert {"profile", "seed", "data_dir"} <= set(papermill.inspect_notebook(str(BOOK / f"{name}.ipynb")))
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.notebooks
def test_a_chapter_runs_alone_with_papermill(data_dir, tmp_path):
    import papermill as pm
    out = tmp_path / "single.ipynb"
    (ROOT / "_build" / "smoke-figures" / "single-local-seed3-curve.png").unlink(missing_ok=True)
    pm.execute_notebook(str(BOOK / "single.ipynb"), str(out), kernel_name="python3", cwd=str(ROOT),
                        parameters={"seed": 3, "profile": "smoke", "data_dir": data_dir,
                                    "output_dir": str(tmp_path / "runs")},
                        progress_bar=False)
    import json
    glued = {o["metadata"]["scrapbook"]["name"]: o["data"]["application/papermill.record/text/plain"] for c in json.loads(out.read_text())["cells"]
             for o in c.get("outputs", []) if "scrapbook" in o.get("metadata", {})}
    assert glued["single_protocol"] == "'local'" and float(glued["single_svhn_error"].strip("'")) > 0
    assert glued["single_run"].strip("'").endswith("runs/single/local-seed3")
    assert (tmp_path / "runs" / "remake" / "runs" / "single" / "local-seed3" / "metrics.json").exists()  # Table 1's folder
    assert (tmp_path / "runs" / "figures" / "single-local-seed3-curve.png").exists()  # figures follow output_dir
    assert not (ROOT / "_build" / "smoke-figures" / "single-local-seed3-curve.png").exists()


@pytest.mark.notebooks
@pytest.mark.parametrize("params, message", [
    ({"profile": "fast"}, "parameter profile='fast': accepts one of smoke, paper"),
    ({"seed": -1}, "parameter seed=-1: accepts an integer >= 0"),
    ({"data_dir": "/no/such/dir"}, "parameter data_dir='/no/such/dir': the directory does not exist"),
])
def test_bad_parameters_fail_in_the_first_cell_with_a_clear_message(params, message, data_dir, tmp_path):
    import papermill as pm
    params = {"profile": "smoke", "data_dir": data_dir, **params}
    with pytest.raises(pm.PapermillExecutionError) as e:
        pm.execute_notebook(str(BOOK / "derivation.ipynb"), str(tmp_path / "out.ipynb"), kernel_name="python3", cwd=str(ROOT),
                            parameters=params, progress_bar=False)
    assert e.value.ename == "ConfigError" and message in e.value.evalue


@pytest.mark.notebooks
def test_a_chapter_opened_in_book_folder_finds_the_project_folders(data_dir, tmp_path):
    """Jupyter runs a notebook in book/: default results and figures still resolve to the project root."""
    import papermill as pm
    out = tmp_path / "single.ipynb"
    pm.execute_notebook(str(BOOK / "single.ipynb"), str(out), kernel_name="python3", cwd=str(BOOK),
                        parameters={"seed": 0, "profile": "smoke", "data_dir": data_dir}, progress_bar=False)
    assert (ROOT / "_build" / "smoke-results" / "remake" / "runs" / "single" / "local-seed0" / "metrics.json").exists()
    assert (ROOT / "_build" / "smoke-figures" / "single-local-seed0-curve.png").exists()
    assert not (BOOK / "_build").exists() and not (BOOK / "results").exists()


def test_staged_notebooks_hide_injected_parameters_and_progress_bars(tmp_path):
    from jade_core.tooling.book import stage_notebook
    nb = {"cells": [
        {"cell_type": "code", "metadata": {"tags": ["injected-parameters"]}, "source": "seed = 1", "outputs": []},
        {"cell_type": "code", "metadata": {}, "source": "train()", "outputs": [
            {"output_type": "stream", "name": "stderr", "text": "jade seed 0: 25%|##"},
            {"output_type": "stream", "name": "stdout", "text": "SVHN error 30 %"}]}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    src, dst = tmp_path / "a.ipynb", tmp_path / "b.ipynb"
    src.write_text(json.dumps(nb))
    stage_notebook(src, dst)
    staged = json.loads(dst.read_text())
    assert "remove-cell" in staged["cells"][0]["metadata"]["tags"]
    assert [o["name"] for o in staged["cells"][1]["outputs"]] == ["stdout"]


def test_unknown_parameters_are_the_injected_names_the_parameters_cell_lacks():
    from jade_core.tooling.notebook import unknown_parameters
    params = 'profile = "paper"   # smoke | paper\nseed = 0  # the run\n'
    injected = '# Parameters\nprofile = "smoke"\nseeds = [1, 2]\nlr = 0.1\n'
    assert unknown_parameters(["", params, injected, "check()"]) == (["seeds", "lr"], ["profile", "seed"])
    assert unknown_parameters(["", params, '# Parameters\nseed = 3\n'])[0] == []
    assert unknown_parameters(["", params, "x = 1"]) == ([], [])        # not run by papermill


@pytest.mark.notebooks
def test_an_unknown_parameter_is_refused_with_the_known_ones(data_dir, tmp_path):
    import papermill as pm
    with pytest.raises(pm.PapermillExecutionError) as e:
        pm.execute_notebook(str(BOOK / "derivation.ipynb"), str(tmp_path / "out.ipynb"), kernel_name="python3",
                            cwd=str(ROOT), parameters={"profile": "smoke", "data_dir": data_dir, "sed": 3},
                            progress_bar=False)
    assert e.value.ename == "ConfigError"
    assert "unknown parameter sed: this chapter's parameters are profile, seed, data_dir" in e.value.evalue


def test_notebooks_run_side_by_side_only_after_the_runs_they_read():
    from jade_core.tooling.book import plan_waves
    names = [e["notebook"] for e in load_matrix()["smoke"]]
    assert plan_waves(names, 1) == [list(range(len(names)))]            # one job: the matrix order
    first, middle, last = ([names[k] for k in w] for w in plan_waves(names, 2))
    assert set(first) == {"single", "paired", "jade"}                    # the chapters that train runs
    assert {"table1", "figure2", "swaps", "budget"} <= set(middle) and last == ["intro"]
    assert sorted(k for w in plan_waves(names, 2) for k in w) == list(range(len(names)))
