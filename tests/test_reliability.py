"""Nothing lost, nothing silent: one test per item of the reliability issue (runs, book, sweeps, data)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from jade_core.experiments import sweep
from jade_core.experiments.lifecycle import train
from jade_core.science.config import ConfigError, JadeError, resolve_config
from jade_core.tooling import book
from jade_core.tooling.cli import main


# 1. the book deletes no run folder
def test_the_book_deletes_no_run_folder(monkeypatch, tmp_path):
    planted = book.ROOT / "_build" / "smoke-results" / "runs" / "jade" / "planted-by-a-test"
    planted.mkdir(parents=True, exist_ok=True)
    (planted / "note.txt").write_text("mine")
    monkeypatch.setattr(book, "train_grids", lambda *a, **k: [])
    monkeypatch.setattr(book, "load_matrix", lambda: {"smoke": []})
    try:
        book.execute("smoke", jobs=1)
        assert (planted / "note.txt").read_text() == "mine"
    finally:
        shutil.rmtree(planted)


def test_reuse_only_refuses_and_lists_missing_grid_runs(monkeypatch):
    monkeypatch.setattr(book, "chapter_grids", lambda profile, only=None: ["table1"])
    kw = resolve_config("single", "smoke", seed=7).to_dict()
    monkeypatch.setattr(book, "missing", lambda *a, **k: [{k: kw[k] for k in ("variant", "profile", "seed")}])
    with pytest.raises(book.BuildError, match=r"--reuse-only: 1 run\(s\) the chapters read are not finished:"
                                             r"\n  _build/smoke-results/runs/single/local-seed7"):
        book.train_grids("smoke", reuse_only=True)


# 2. a corrupt run is said on the page; the paper profile refuses it unless accepted
def test_a_corrupt_run_is_said_on_the_page_and_refused_in_the_paper_profile(monkeypatch, capsys):
    from jade_core.tooling import notebook as nb
    runs = pd.DataFrame({"variant": ["jade"]})
    runs.attrs["skipped"] = [("results/runs/jade/local-seed3", "unreadable run files (JSONDecodeError: x)")]
    monkeypatch.delenv(nb.ACCEPT_SKIPPED, raising=False)
    with pytest.raises(JadeError, match=r"1 run\(s\) of this table cannot be read: results/runs/jade/local-seed3 "
                                        r"\(unreadable run files.*--accept-skipped"):
        nb.report_skipped(runs, "paper")
    text = nb.report_skipped(runs, "smoke")                              # shown, not fatal
    assert "could not be read and are not in this table" in text and "local-seed3" in text
    monkeypatch.setenv(nb.ACCEPT_SKIPPED, "1")
    nb.report_skipped(runs, "paper")


# 3. one failing run never stops a sweep (local workers and Dask alike: the same collector)
def test_a_run_whose_worker_keeps_dying_is_reported_and_the_others_go_on():
    class Fut:
        def __init__(self, result=None, error=None):
            self._r, self._e = result, error

        def result(self):
            if self._e:
                raise self._e
            return self._r
    killed = type("KilledWorker", (Exception,), {})
    ok = Fut({"run": "a", "status": "done", "seconds": 1.0})
    dead = Fut(error=killed("Attempted to run task jade-run:x on 4 different workers, but all those workers died"))
    futures = {dead: dict(variant="single", profile="smoke", seed=5), ok: dict(variant="single", profile="smoke")}
    out = list(sweep.collect(futures, [dead, ok]))
    assert out[0]["status"] == "failed" and out[0]["run"].endswith("runs/single/local-seed5")
    assert out[0]["error"].startswith("KilledWorker: Attempted to run task") and out[1]["status"] == "done"


@pytest.mark.slow
def test_an_unreachable_scheduler_and_zero_workers_are_one_line(capsys):
    assert main(["matrix", "--profile", "smoke", "--workers", "0"]) == 2
    assert "workers must be an integer >= 1" in capsys.readouterr().err
    pytest.importorskip("distributed")
    t = time.time()
    assert main(["matrix", "--profile", "smoke", "--scheduler", "tcp://127.0.0.1:1"]) == 2
    err = capsys.readouterr().err
    assert "could not reach the Dask scheduler at tcp://127.0.0.1:1" in err and "Traceback" not in err
    assert time.time() - t < 60


# 4. kill -9 of the parent ends its workers
@pytest.mark.slow
def test_workers_die_with_a_killed_parent(tmp_path):
    script = tmp_path / "pool.py"
    script.write_text(textwrap.dedent("""\
        import os, sys, time
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context
        from jade_core.experiments.sweep import die_with_parent
        if __name__ == "__main__":
            pool = ProcessPoolExecutor(2, mp_context=get_context("spawn"), initializer=die_with_parent)
            print(" ".join(str(f.result()) for f in [pool.submit(os.getpid) for _ in range(4)]), flush=True)
            time.sleep(120)
    """))
    p = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                         env={**os.environ, "PYTHONPATH": str(book.ROOT)})
    pids = {int(x) for x in p.stdout.readline().split()}
    assert pids
    p.send_signal(signal.SIGKILL)
    p.wait()
    deadline = time.time() + 20
    while time.time() < deadline and any(Path(f"/proc/{pid}").exists() and "Z" not in
                                         Path(f"/proc/{pid}/stat").read_text().split()[2] for pid in pids):
        time.sleep(0.2)
    alive = [pid for pid in pids if Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]]
    assert not alive, f"workers {alive} outlived their killed parent"


# 5. pure reuse takes no lock (a read-only checkout)
def test_pure_reuse_takes_no_lock(smoke, monkeypatch):
    path = train(variant="single", progress=False, **smoke)
    import jade_core.experiments.lifecycle as tr

    def read_only(*a, **k):
        raise OSError(30, "Read-only file system")
    monkeypatch.setattr(tr, "run_lock", read_only)
    assert train(variant="single", progress=False, **smoke) == path


# 6. a finished run is checked before reuse
@pytest.mark.slow
@pytest.mark.parametrize("damage", ["truncate", "empty", "pickle", "other-variant"])
def test_damaged_weights_are_not_reused(smoke, damage):
    path = train(variant="single", progress=False, **smoke)
    w = path / "weights.pt"
    if damage == "truncate":
        w.write_bytes(w.read_bytes()[:300])
    elif damage == "empty":
        w.write_bytes(b"")
    elif damage == "pickle":
        import pickle
        w.write_bytes(pickle.dumps(os.getcwd))                                    # code, not tensors
    else:
        from jade_core.science.models import build_model
        torch.save(build_model("jade").state_dict(), w)
    with pytest.raises(ConfigError, match=r"weights.pt is not a single model's weights .*--force"):
        train(variant="single", progress=False, **smoke)


# 7. jade evaluate compares the data fingerprints
def test_evaluate_refuses_other_data(smoke, tmp_path, capsys):
    path = train(variant="single", progress=False, **smoke)
    other = tmp_path / "shuffled"
    other.mkdir()
    for f in ("mnist_train.npz", "mnist_test.npz"):
        shutil.copy(f"{smoke['data_dir']}/{f}", other / f)
    with np.load(f"{smoke['data_dir']}/svhn_test.npz") as d:
        np.savez(other / "svhn_test.npz", x=d["x"], y=np.random.default_rng(0).permutation(d["y"]), index=d["index"])
    assert main(["evaluate", str(path), "--data-dir", str(other)]) == 2
    err = capsys.readouterr().err
    assert "was trained on other data" in err and "Traceback" not in err


# 8. check-data checks the index array and allows local only where train would
def _mirror(tmp_path, data_dir, svhn_index=None, svhn_rows=None):
    d = tmp_path / "mirror"
    d.mkdir(exist_ok=True)
    for f in ("mnist_train.npz", "mnist_test.npz"):
        shutil.copy(f"{data_dir}/{f}", d / f)
    with np.load(f"{data_dir}/svhn_test.npz") as s:
        rows = svhn_rows if svhn_rows is not None else slice(None)
        x, y, idx = s["x"][rows], s["y"][rows], s["index"][rows]
    np.savez(d / "svhn_test.npz", x=x, y=y, index=idx if svhn_index is None else svhn_index(idx))
    return d


def test_check_data_refuses_a_reversed_index(tmp_path, data_dir, capsys):
    d = _mirror(tmp_path, data_dir, svhn_index=lambda i: i[::-1].copy())
    assert main(["check-data", "--data-dir", str(d)]) == 1
    out = capsys.readouterr().out
    assert "'index' is not the official order" in out and "protocols this directory allows: none" in out
    with pytest.raises(JadeError, match="'index' is not the official order"):
        train(variant="single", profile="smoke", data_dir=str(d), output_dir=str(tmp_path / "o"), progress=False)


def test_check_data_allows_local_only_with_an_evaluation_part(tmp_path, data_dir, capsys):
    d = _mirror(tmp_path, data_dir, svhn_rows=slice(0, 2500))
    main(["check-data", "--data-dir", str(d)])
    out = capsys.readouterr().out
    assert "evaluation part (2500..7999) 0" in out and "protocols this directory allows: none" in out


# 9. numbers checked finite and in range before any data are loaded
@pytest.mark.parametrize("field, value", [("w_match", float("nan")), ("w_cls", float("inf")),
                                          ("svhn_sigma", float("nan")), ("lr", float("nan")), ("lr", 1e38)])
def test_non_finite_or_absurd_numbers_are_refused_at_once(field, value, capsys):
    with pytest.raises(ConfigError, match=f"{field} must be a finite number"):
        resolve_config("jade", data_dir="/nonexistent", **{field: value})
    flag = "--" + field.replace("_", "-")
    assert main(["train", flag, str(value), "--data-dir", "/nonexistent"]) == 2
    assert "finite number" in capsys.readouterr().err


def test_threads_are_bounded_by_the_machine(smoke):
    with pytest.raises(ConfigError, match="threads=1000 but this machine has"):
        train(variant="single", progress=False, threads=1000, **smoke)


# 10. raw tracebacks become one line
@pytest.mark.parametrize("broken", ["config-empty", "config-json", "config-key", "metrics-json", "metrics-key",
                                    "curve"])
@pytest.mark.slow
def test_evaluate_and_reuse_of_corrupt_run_files_are_one_line(smoke, broken, capsys):
    path = train(variant="single", progress=False, **smoke)
    f = {"config": path / "config.json", "metrics": path / "metrics.json", "curve": path / "curve.csv"}[broken.split("-")[0]]
    if broken == "config-key":
        d = json.loads(f.read_text())
        d["config"]["no_such_field"] = 1
        f.write_text(json.dumps(d))
    elif broken == "metrics-key":
        d = json.loads(f.read_text())
        del d["svhn"]
        f.write_text(json.dumps(d))
    elif broken == "curve":
        f.write_bytes(b"\x00\xff garbled")
    else:
        f.write_text("" if broken.endswith("empty") else "{ not json")
    assert main(["evaluate", str(path), "--data-dir", smoke["data_dir"]]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "--force" in err and len(err.strip().splitlines()) == 1


def test_disk_full_while_writing_json_leaves_no_tmp(tmp_path, monkeypatch):
    from jade_core.experiments.runs import write_json

    def full(self, *a, **k):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(ConfigError, match="is the disk full"):
        write_json(tmp_path / "metrics.json", {"a": 1})
    monkeypatch.undo()
    assert not list(tmp_path.iterdir())


def test_a_malformed_sweep_file_and_a_failed_book_are_one_line(tmp_path, capsys):
    f = tmp_path / "s.yml"
    f.write_text("name: [unclosed\n")
    assert main(["sweep", str(f), "--dry-run"]) == 2
    assert "is not valid YAML" in capsys.readouterr().err
    assert issubclass(book.BuildError, JadeError)


# 11. the small ones
def test_the_lock_message_names_a_flag_that_exists(smoke, capsys):
    from jade_core.experiments import grid
    from jade_core.experiments.runs import run_lock
    cfg = resolve_config(**grid.place(dict(variant="single", **smoke)))  # where `jade train` puts Table 1's run
    with run_lock(cfg.run_dir):
        assert main(["train", "--variant", "single", "--profile", "smoke", "--data-dir", smoke["data_dir"],
                     "--output-dir", smoke["output_dir"]]) == 2
    err = capsys.readouterr().err
    assert "`jade train --wait`" in err
    assert main(["train", "--help"]) == 0 if False else True
    from jade_core.tooling.cli import main as m
    with pytest.raises(SystemExit):
        m(["train", "--wait", "--help"])
    assert "--wait" in capsys.readouterr().out


@pytest.mark.slow
def test_a_killed_force_run_beside_a_finished_one_is_not_ignored(smoke):
    from jade_core.science.train import TrainingInterrupted
    path = train(variant="single", progress=False, epochs=3, **smoke)
    with pytest.raises(TrainingInterrupted):
        train(variant="single", progress=False, epochs=3, force=True, stop_after_epoch=1, **smoke)
    with pytest.raises(ConfigError, match=r"is finished, and .*\.partial holds an unfinished retraining"):
        train(variant="single", progress=False, epochs=3, **smoke)
    assert train(variant="single", progress=False, epochs=3, force=True, **smoke) == path


@pytest.mark.slow
def test_a_stray_tmp_is_not_carried_into_the_run_and_a_checkpoint_past_the_end_is_refused(smoke):
    from jade_core.experiments.runs import partial_dir
    from jade_core.science.train import TrainingInterrupted
    with pytest.raises(TrainingInterrupted):
        train(variant="single", progress=False, epochs=3, stop_after_epoch=1, **smoke)
    cfg = resolve_config("single", epochs=3, **smoke)
    (partial_dir(cfg.run_dir) / "config.json.tmp").write_text("{")
    path = train(cfg, progress=False)
    assert not list(path.glob("*.tmp"))
    with pytest.raises(TrainingInterrupted):
        train(variant="single", progress=False, epochs=4, stop_after_epoch=3, **smoke)
    with pytest.raises(ConfigError, match="beyond this run's 2 epochs"):
        two = resolve_config("single", epochs=4, **smoke)
        ck = partial_dir(two.run_dir) / "checkpoint.pt"
        shutil.copytree(partial_dir(two.run_dir), partial_dir(resolve_config("single", epochs=2, **smoke).run_dir))
        cfg2 = resolve_config("single", epochs=2, **smoke)
        d = json.loads((partial_dir(cfg2.run_dir) / "config.json").read_text())
        d["config"]["epochs"] = 2
        (partial_dir(cfg2.run_dir) / "config.json").write_text(json.dumps(d))
        assert ck.exists()
        train(cfg2, progress=False)


def test_accept_skipped_reaches_the_chapters(monkeypatch):
    import jade_core.tooling.cli as cli
    from jade_core.tooling import notebook as nb
    seen = {}
    monkeypatch.delenv(nb.ACCEPT_SKIPPED, raising=False)
    monkeypatch.setattr(cli, "build_book", lambda **kw: seen.update(env=os.environ.get(nb.ACCEPT_SKIPPED)))
    assert main(["book", "--profile", "smoke", "--accept-skipped"]) == 0
    assert seen["env"] == "1"


@pytest.mark.slow
@pytest.mark.parametrize("where", ["finished", "partial"])
def test_train_with_an_unreadable_config_json_is_one_line(smoke, where, capsys):
    from jade_core.experiments.runs import partial_dir
    from jade_core.science.train import TrainingInterrupted
    if where == "finished":
        from jade_core.experiments import grid
        path = train(progress=False, **grid.place(dict(variant="single", **smoke)))  # where `jade train` looks
        fix = "--force"
    else:
        with pytest.raises(TrainingInterrupted):
            train(variant="single", progress=False, epochs=3, stop_after_epoch=1, **smoke)
        path = partial_dir(resolve_config("single", epochs=3, **smoke).run_dir)
        fix = "to train this run afresh"
    (path / "config.json").write_text("")
    args = ["train", "--variant", "single", "--profile", "smoke", "--data-dir", smoke["data_dir"],
            "--output-dir", smoke["output_dir"]] + (["--epochs", "3"] if where == "partial" else [])
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "config.json cannot be read" in err and fix in err and "Traceback" not in err


def test_jade_refuses_to_train_inside_another_checkout_whose_code_differs(monkeypatch, tmp_path, capsys):
    """Inside another checkout (a worktree of a fixed commit) the imported jade_core is not that checkout's:
    its training commands stop with one line that names both and the fix, before anything trains; a checkout
    with the same code, or a folder that is no checkout, runs as usual; inspecting commands always run."""
    from jade_core.experiments.runs import PKG, foreign_checkout
    other = tmp_path / "worktree"
    shutil.copytree(PKG, other / "jade_core", ignore=shutil.ignore_patterns("__pycache__"))
    (other / "results").mkdir()
    assert foreign_checkout(other / "results") is None  # the same code: nothing differs
    assert foreign_checkout(tmp_path) is None and foreign_checkout(PKG.parent / "book") is None
    (other / "jade_core" / "science" / "losses.py").write_text("# another commit's losses\n")
    assert foreign_checkout(other / "results") == other.resolve()
    monkeypatch.chdir(other / "results")
    from jade_core.tooling import cli
    monkeypatch.setattr(cli, "run_all", lambda *a, **k: pytest.fail("trained inside a foreign checkout"))
    for argv in (["sweep", str(PKG.parent / "sweeps" / "table1.yml"), "--dry-run"], ["study", "recipe-remake", "--dry-run"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and str(other.resolve()) in err and "pip install -e ." in err and "PYTHONPATH=$PWD" in err
    assert main(["tidy-runs", str(tmp_path), "--dry-run"]) == 0  # renames nothing, trains nothing: allowed


@pytest.mark.slow
def test_ctrl_c_ends_a_sweep_promptly_and_starts_no_queued_run(data_dir, tmp_path):
    """SIGINT to `jade sweep` alone (as Ctrl-C or a scheduler sends it): it returns within seconds with exit code
    130 and one line saying what finished and how to resume; the queued runs never start, and a run that was
    training is left resumable, not finished."""
    sweep = tmp_path / "s.yml"
    sweep.write_text(f"name: s\nprofile: smoke\nbase: {{variant: jade, epochs: 40}}\nseeds: [0, 1, 2, 3, 4, 5]\n"
                     f"output_dir: {tmp_path}/out\nruns: [{{run: a}}]\n")
    p = subprocess.Popen([sys.executable, "-m", "jade_core", "sweep", str(sweep), "--workers", "1", "--data-dir",
                          str(data_dir)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env={**os.environ, "PYTHONPATH": str(book.ROOT)}, cwd=tmp_path,
                         # a shell without job control starts background commands with SIGINT ignored, and a child
                         # inherits that: give it the default disposition a terminal's Ctrl-C meets
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while time.time() < deadline and not list((tmp_path / "out").glob("runs/jade/*.partial/checkpoint.pt")):
        time.sleep(0.5)
    assert time.time() < deadline, "no run started"
    p.send_signal(signal.SIGINT)
    t0 = time.time()
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130 and time.time() - t0 < 30, (p.returncode, err[-400:])
    assert "interrupted:" in err and "run the same command again" in err and "Traceback" not in err
    finished = list((tmp_path / "out").glob("runs/jade/*/metrics.json"))
    assert len(finished) < 6 and list((tmp_path / "out").glob("runs/jade/*.partial"))
