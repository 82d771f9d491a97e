"""Run folders: lock, plain-data checkpoints, the plateau restart rule, matching numbers."""
import math

import pytest
import torch
from jade_core.experiments.lifecycle import train
from jade_core.experiments.runs import RunBusy, load_run, partial_dir, run_lock
from jade_core.science.config import ConfigError, resolve_config
from jade_core.science.data import DataError
from jade_core.science.train import TrainingInterrupted, init_seed


def test_a_locked_run_folder_is_refused(smoke):
    cfg = resolve_config("single", **smoke)
    with run_lock(cfg.run_dir):
        with pytest.raises(RunBusy, match="another process is training.*wait"):
            train(cfg, progress=False)
    assert not partial_dir(cfg.run_dir).exists() and not cfg.run_dir.exists()
    assert load_run(train(cfg, progress=False)).metrics["svhn"]["n"] == 400  # free again


class Planted:
    """An object whose unpickling would run code."""

    def __reduce__(self):
        return (print, ("code ran",))


def test_checkpoint_with_a_pickled_object_is_refused(smoke):
    cfg = resolve_config("jade", epochs=3, **smoke)
    with pytest.raises(TrainingInterrupted):
        train(cfg, progress=False, stop_after_epoch=1)
    ck = partial_dir(cfg.run_dir) / "checkpoint.pt"
    state = torch.load(ck, weights_only=True)
    state["curve"] = Planted()
    torch.save(state, ck)
    with pytest.raises(ConfigError, match="not a checkpoint of plain tensors.*Delete"):
        train(cfg, progress=False)


def test_plateau_rule_restarts_from_the_next_initialisation(smoke):
    # a learning rate so small that the training loss stays at chance
    cfg = resolve_config("single", lr=1e-9, epochs=2, restart_epoch=1, max_restarts=2, **smoke)
    run = load_run(train(cfg, progress=False))
    m = run.metrics
    assert m["attempts"] == 3 and [r["attempt"] for r in m["restarts"]] == [0, 1]
    assert all(r["svhn_train_ce"] >= 0.9 * math.log(10) for r in m["restarts"])
    assert m["init_seed"] == init_seed(cfg, 2) != init_seed(cfg, 0)
    assert m["plateau"] is True  # still failed after the last attempt: flagged, kept in the record
    assert list(run.curve.epoch) == [1, 2]  # the curve is the final attempt's


def test_no_restart_when_training_leaves_the_plateau(smoke):
    cfg = resolve_config("single", epochs=2, restart_epoch=1, max_restarts=2, lr=3e-3, **smoke)
    m = load_run(train(cfg, progress=False)).metrics
    # either it learned in one epoch (no restart) or the rule recorded why it restarted
    assert all(r["svhn_train_ce"] >= 0.9 * math.log(10) for r in m["restarts"])
    assert m["attempts"] == len(m["restarts"]) + 1


@pytest.mark.slow
def test_jade_records_matching_on_curve_and_in_metrics(smoke):
    run = load_run(train(variant="jade", progress=False, **smoke))
    assert {"val_kl_match", "val_kl_match_per_dim", "val_centroid_accuracy"} <= set(run.curve.columns)
    for part in ("matching_val", "matching_eval"):
        m = run.metrics[part]
        assert len(m["kl_match_per_dim"]) == 10
        assert m["kl_match"] == pytest.approx(sum(m["kl_match_per_dim"]), rel=1e-6)
        assert 0 <= m["centroid_accuracy"] <= 100
    assert run.metrics["matching_eval"]["n"] == run.metrics["svhn"]["n"]


@pytest.mark.slow
def test_weights_the_variant_never_reads_do_not_block_reuse(smoke):
    path = train(variant="paired", progress=False, **smoke)
    assert train(variant="paired", progress=False, w_match=5.0, w_cls=2.0, **smoke) == path
    from jade_core.experiments import grid
    jade = train(progress=False, **grid.place(dict(variant="jade", **smoke)))  # where Table 1 keeps it
    other = train(variant="jade", progress=False, w_match=5.0, **smoke)   # JADE reads it: another configuration,
    assert other.name == "local-wm5-seed0" and jade.name == "local-seed0"  # so another folder
    from jade_core.experiments.runs import collect_table1
    table = collect_table1(smoke["output_dir"])                            # and Table 1 counts the profile's only
    assert list(table[table.variant == "jade"].path) == [str(jade)]


@pytest.mark.slow
def test_a_folders_name_does_not_decide_membership_and_a_copy_is_refused(smoke):
    import shutil

    from jade_core.experiments.runs import collect_metrics, finished_runs, rename_to_scheme
    path = train(variant="jade", progress=False, w_match=5.0, **smoke)
    moved = path.with_name("local-seed0")            # named as the scheme before names carried the configuration
    path.rename(moved)
    assert finished_runs(smoke["output_dir"]) == [moved]                 # still the run it is
    assert collect_metrics(smoke["output_dir"]).config.tolist() == ["wm5"]  # labelled by its configuration
    shutil.copytree(moved, moved.with_name("my-copy"))
    with pytest.raises(ConfigError, match="local-seed0 and .*my-copy hold the same run"):
        finished_runs(smoke["output_dir"])
    shutil.rmtree(moved.with_name("my-copy"))
    assert rename_to_scheme(smoke["output_dir"]) == [(moved, path)]     # `jade tidy-runs`: names for people
    assert train(variant="jade", progress=False, w_match=5.0, **smoke) == path   # and is reused there


def test_a_run_without_weights_is_finished_and_says_what_it_lacks(smoke):
    path = train(variant="single", progress=False, **smoke)
    (path / "weights.pt").unlink()
    assert train(variant="single", progress=False, **smoke) == path  # reused, not retrained
    assert load_run(path, weights=False).metrics["svhn"]["n"] == 400
    with pytest.raises(ConfigError, match="no weights.pt.*not kept in git.*--force"):
        load_run(path)


@pytest.mark.slow
def test_a_corrupt_run_is_skipped_with_a_warning_naming_it(smoke):
    from jade_core.experiments.runs import collect_metrics
    good = train(variant="single", progress=False, **smoke)
    bad = train(variant="single", seed=1, progress=False, **smoke)
    (bad / "metrics.json").write_text('{"svhn": {"err')  # truncated
    with pytest.warns(UserWarning, match="skipping .*seed1.*unreadable"):
        table = collect_metrics(smoke["output_dir"])
    assert list(table.seed) == [0] and table.path.iloc[0] == str(good)


def test_too_small_mnist_mirror_is_refused(tmp_path, data_dir):
    import shutil

    import numpy as np
    for f in ("svhn_test.npz", "mnist_test.npz"):
        shutil.copy(f"{data_dir}/{f}", tmp_path / f)
    with np.load(f"{data_dir}/mnist_train.npz") as d:
        np.savez(tmp_path / "mnist_train.npz", x=d["x"][:1000], y=d["y"][:1000], index=d["index"][:1000])
    with pytest.raises(DataError, match="has 1000 images.*more than 45000"):
        train(variant="paired", profile="smoke", data_dir=str(tmp_path), output_dir=str(tmp_path / "out"),
              progress=False)


@pytest.mark.slow
def test_evaluate_reproduces_the_recorded_errors_and_verify_retrains(smoke, capsys):
    import json as _json

    from jade_core.tooling.cli import main
    path = train(variant="paired", progress=False, **smoke)
    assert main(["evaluate", str(path), "--data-dir", smoke["data_dir"]]) == 0
    out = _json.loads(capsys.readouterr().out)
    assert out["error_percent"] == out["recorded"]
    record = path.parent / "verify-records"
    assert main(["verify", str(path), "--data-dir", smoke["data_dir"], "--record", str(record)]) == 0
    assert "reproduced within 0.0 pp" in capsys.readouterr().out
    (written,) = record.glob("*.txt")
    assert written.name == f"paired-{path.name}.txt"
    from jade_core.reporting.report import verify_records
    (line,) = verify_records(record, [path])                   # the Table 1 chapter's line of this run
    assert line.startswith("`jade verify ") and "svhn: recorded" in line and "**reproduced within 0.0 pp (largest difference 0.000 pp).**" in line
    assert verify_records(record, []) == []                    # a run the table does not read: not shown


def test_a_finished_run_is_not_reused_on_other_data(smoke, tmp_path):
    import shutil

    import numpy as np
    train(variant="single", progress=False, **smoke)
    other = tmp_path / "other-data"
    other.mkdir()
    for f in ("mnist_train.npz", "mnist_test.npz"):
        shutil.copy(f"{smoke['data_dir']}/{f}", other / f)
    with np.load(f"{smoke['data_dir']}/svhn_test.npz") as d:
        x = d["x"].copy()
        x[:2500] = 255 - x[:2500]  # same layout, other pixels in the development part
        np.savez(other / "svhn_test.npz", x=x, y=d["y"], index=d["index"])
    with pytest.raises(ConfigError, match="trained on other data.*svhn_train_fingerprint"):
        train(variant="single", progress=False, **{**smoke, "data_dir": str(other)})


def test_copies_and_crash_leftovers_are_not_runs(smoke):
    import shutil

    from jade_core.experiments.runs import collect_metrics
    path = train(variant="single", progress=False, **smoke)
    shutil.copytree(path, path.with_name(path.name + ".bak"))
    shutil.copytree(path, path.with_name(path.name + ".old"))
    assert len(collect_metrics(smoke["output_dir"])) == 1
    train(variant="single", progress=False, **smoke)  # the next call clears the left-over .old
    assert not path.with_name(path.name + ".old").exists()
    # a crash between the two renames of a replacement: only .old is left, and it is put back
    shutil.move(str(path), str(path.with_name(path.name + ".old")))
    assert train(variant="single", progress=False, **smoke) == path and path.exists()


@pytest.mark.parametrize("args, words", [
    (["train", "--seed", str(2**63)], "seed must be <= 2147483647"),
    (["train", "--device", "cuda", "--profile", "smoke"], "no CUDA GPU"),
])
def test_cli_mistakes_give_one_line(args, words, data_dir, capsys, monkeypatch):
    from jade_core.tooling.cli import main
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(args + ["--data-dir", data_dir]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_output_dir_that_is_a_file_and_unknown_classify_dataset(smoke, tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        train(variant="single", progress=False, **{**smoke, "output_dir": str(f)})
    run = load_run(train(variant="single", progress=False, **smoke))
    with pytest.raises(ConfigError, match="unknown dataset 'foo'"):
        run.classify(__import__("numpy").zeros((1, 3, 32, 32), "uint8"), dataset="foo")


@pytest.mark.slow
def test_disk_full_while_saving_keeps_the_last_checkpoint(smoke, monkeypatch):
    import jade_core.experiments.runs as runs_mod
    cfg = resolve_config("single", epochs=3, **smoke)
    with pytest.raises(TrainingInterrupted):
        train(cfg, progress=False, stop_after_epoch=1)
    ck = partial_dir(cfg.run_dir) / "checkpoint.pt"
    before = ck.read_bytes()

    def full(obj, path):
        raise RuntimeError("[enforce fail at inline_container.cc:603] . unexpected pos 64 vs 0: No space left on device")
    monkeypatch.setattr(runs_mod.torch, "save", full)
    with pytest.raises(ConfigError, match="disk full.*last checkpoint written is kept"):
        train(cfg, progress=False)
    assert ck.read_bytes() == before and not list(ck.parent.glob("*.tmp"))
    monkeypatch.undo()
    assert load_run(train(cfg, progress=False)).metrics["epochs"] == 3  # resumes once there is space


def test_mnist_sorted_by_label_is_refused(tmp_path, data_dir):
    import shutil

    import numpy as np
    for f in ("svhn_test.npz", "mnist_test.npz"):
        shutil.copy(f"{data_dir}/{f}", tmp_path / f)
    with np.load(f"{data_dir}/mnist_train.npz") as d:
        order = np.argsort(d["y"], kind="stable")
        # the index kept in order (a permuted index is refused first, by the index check)
        np.savez(tmp_path / "mnist_train.npz", x=d["x"][order], y=d["y"][order], index=d["index"])
    with pytest.raises(DataError, match="sorted by label"):
        train(variant="paired", profile="smoke", data_dir=str(tmp_path), output_dir=str(tmp_path / "out"),
              progress=False)


def test_provenance_says_which_runs_were_trained_by_other_training_code(tmp_path):
    import json
    import subprocess

    from jade_core.experiments.runs import provenance, source_hash

    def git(*a):
        return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *a], cwd=tmp_path / "repo",
                              check=True, capture_output=True, text=True).stdout.strip()
    pkg = tmp_path / "repo" / "jade_core"
    pkg.mkdir(parents=True)
    (pkg / "train.py").write_text("a = 1\n")
    (pkg / "plotting.py").write_text("p = 1\n")
    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "one")
    first = git("rev-parse", "HEAD")
    import hashlib  # the source hash of that commit, as recorded
    h = hashlib.sha256()
    for f in sorted(pkg.glob("*.py")):
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    first_src = h.hexdigest()[:16]
    (pkg / "plotting.py").write_text("p = 2\n")                      # not training code
    git("commit", "-qam", "two")
    second = git("rev-parse", "HEAD")
    (pkg / "train.py").write_text("a = 2\n")                         # training code, in the working tree

    def run(name, commit, src):
        d = tmp_path / name
        d.mkdir()
        (d / "config.json").write_text(json.dumps({"versions": {"git_commit": commit, "jade_core_source": src}}))
        return d
    runs = [run("a", first, first_src), run("b", second, "x"), run("c", "stale+dirty", first_src),
            run("d", None, None), run("e", "whatever+dirty", "nowhere"), run("f", None, "here")]
    table = provenance(runs, repo=tmp_path / "repo", here="here").set_index("code")
    assert table.loc[first[:10], "runs"] == 2                        # a, and c traced by its source hash
    assert table.loc[first[:10], "training code"] == "training code changed since: train.py"
    assert table.loc[second[:10], "training code"] == "training code changed since: train.py"
    assert table.loc["whatever+d", "training code"] == "cannot be compared: trained with uncommitted changes"
    assert table.loc["–", "training code"].startswith("not recorded")
    assert table.loc["here", "training code"] == "the code of this checkout"
    git("commit", "-qam", "three")                                   # now the working tree is committed
    assert provenance([runs[1]], repo=tmp_path / "repo", here="here").iloc[0]["training code"] == \
        "training code changed since: train.py"
    (pkg / "train.py").write_text("a = 1\n")                          # back to the first commit's training code
    assert provenance([runs[1]], repo=tmp_path / "repo", here="here").iloc[0]["training code"] == \
        "same training code as this checkout"
    # a move into a sub-package that rewrites only imports and docstrings is the same training code
    (pkg / "train.py").write_text("a = 1\n")
    (pkg / "science").mkdir()
    git("mv", "jade_core/train.py", "jade_core/science/train.py")
    (pkg / "science" / "train.py").write_text('"""Moved."""\nfrom ..experiments import runs\n\na = 1  # same\n')
    moved = provenance([run("g", first, first_src)], repo=tmp_path / "repo", here="here")
    assert moved["training code"].tolist() == ["same training code as this checkout"]
    (pkg / "science" / "train.py").write_text("a = 3\n")                # and a change of code is not
    assert provenance([run("h", first, first_src)], repo=tmp_path / "repo", here="here")["training code"].tolist() == \
        ["training code changed since: train.py"]
    assert len(source_hash()) == 16


def test_train_flags_are_generated_from_every_config_field():
    import argparse
    import dataclasses

    from jade_core.science.config import RunConfig
    from jade_core.tooling.cli import _add_train_args
    p = argparse.ArgumentParser()
    _add_train_args(p)
    dests = {a.dest for a in p._actions}
    assert {f.name for f in dataclasses.fields(RunConfig)} <= dests          # no hand-kept subset
    a = p.parse_args(["--w-match", "3", "--no-channels-last", "--optimizer", "adamw", "--mnist-test-size", "50",
                      "--seed", "1", "2", "--label-smoothing", "0.1"])
    assert (a.w_match, a.channels_last, a.optimizer, a.mnist_test_size, a.seed, a.label_smoothing) == \
        (3.0, False, "adamw", 50, [1, 2], 0.1)
    assert a.epochs is None and a.lr_schedule is None                         # unset: the profile's value
    help_text = p.format_help()
    assert "passes over the labelled SVHN pool" in help_text                  # help = the field's comment
    with pytest.raises(SystemExit):
        p.parse_args(["--optimizer", "sgd"])


def test_a_run_is_reused_by_its_configuration_whatever_its_folder_is_called(smoke, monkeypatch):
    """Changing the profile's defaults renames where a run is expected (RunConfig.run_name tags what differs
    from them); the finished run of the same configuration is still reused, by train and by the runner,
    not trained again beside it."""
    from jade_core.experiments.sweep import run_all
    from jade_core.science import config
    first = train(variant="single", progress=False, lr=0.002, **smoke)
    assert "lr0.002" in first.name
    monkeypatch.setitem(config.PROFILES, "smoke", {**config.PROFILES["smoke"], "lr": 0.002})  # the new default
    assert "lr" not in resolve_config("single", **smoke).run_name
    assert train(variant="single", progress=False, **smoke) == first          # reused where it is
    assert run_all([dict(variant="single", seed=0, **smoke)], dry_run=True)[0] == {"run": str(first), "status": "reused",
                                                                          "seconds": 0.0}
    renamed = first.with_name("named-by-hand")
    first.rename(renamed)
    assert train(variant="single", progress=False, **smoke) == renamed
    assert [p for p in renamed.parent.iterdir() if not p.name.startswith(".")] == [renamed]   # none trained beside it
    other = resolve_config("single", **{**smoke, "lr": 0.003})                 # another configuration: not this run
    assert run_all([dict(variant="single", seed=0, lr=0.003, **smoke)], dry_run=True)[0]["status"] == "to train"
    assert other.run_dir != renamed


def test_a_folder_with_the_runs_name_but_another_configuration_is_not_that_run(smoke, tmp_path):
    """Reuse is by recorded configuration, never by folder name: a run named under earlier defaults can carry
    the name today's defaults give another configuration (the matching-dose runs made without the warm-up of
    w_match are called what today's warm-up runs would be). same_run must not return it, and training then
    refuses to overwrite it, naming the difference."""
    import json
    import shutil

    from jade_core.experiments.runs import same_run

    made = resolve_config("jade", **{**smoke, "output_dir": str(tmp_path)}, w_match_warmup=0)
    train(made, progress=False)
    want = resolve_config("jade", **{**smoke, "output_dir": str(tmp_path)}, w_match_warmup=1)
    assert want.run_dir != made.run_dir
    shutil.move(made.run_dir, want.run_dir)  # the old run now sits under the new configuration's name
    assert same_run(want) is None
    with pytest.raises(ConfigError, match="w_match_warmup: saved 0, now 1"):
        train(want, progress=False)
    assert same_run(made) == want.run_dir  # the old configuration still finds its run, by what it recorded
    assert json.loads((want.run_dir / "config.json").read_text())["config"]["w_match_warmup"] == 0


def test_jade_evaluate_reproduces_a_committed_run_from_any_working_folder(data_dir, tmp_path):
    """`jade evaluate FOLDER` evaluates the folder it is given (its data check reads that folder's record, not
    the folder today's defaults would name), from another working directory too, and reproduces the errors
    the run recorded."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    run = next(p.parent for p in sorted((root / "results" / "remake" / "runs" / "single").glob("*/weights.pt")))
    out = subprocess.run([sys.executable, "-m", "jade_core", "evaluate", str(run), "--data-dir", str(data_dir)],
                         cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(root)})
    assert out.returncode == 0, out.stderr[-500:]
    got = json.loads(out.stdout)
    assert got["error_percent"]["svhn"] == pytest.approx(got["recorded"]["svhn"], abs=1e-9)
