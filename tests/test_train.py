import json
import os

import numpy as np
import pandas as pd
import pytest
from jade_core.experiments.lifecycle import train
from jade_core.experiments.runs import FILES, collect_metrics, load_run
from jade_core.science.config import ConfigError
from jade_core.science.data import load_split
from jade_core.science.train import TrainingInterrupted


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["single", "paired", "jade"])
def test_smoke_run_writes_a_complete_folder(smoke, variant):
    path = train(variant=variant, progress=False, **smoke)
    assert all((path / f).exists() for f in FILES)
    assert not (path / "checkpoint.pt").exists()
    run = load_run(path)
    info = json.loads((path / "config.json").read_text())
    assert info["config"]["protocol"] == "local" and info["versions"]["torch"]
    assert info["data"]["svhn_train_fingerprint"] and len(info["data"]["pool_official_index"]) == 50
    assert 0 <= run.metrics["svhn"]["error"] <= 100 and run.metrics["svhn"]["n"] == 400
    assert np.asarray(run.metrics["svhn"]["confusion"]).sum() == 400
    assert ("mnist" in run.metrics) == (variant != "single")
    assert list(run.curve["epoch"]) == [1, 2]
    if variant == "jade":
        assert {"kl_match", "svhn_rec", "mnist_kl_style"} <= set(run.curve.columns)


@pytest.mark.slow
def test_same_seed_same_result(smoke, tmp_path):
    a = load_run(train(variant="jade", progress=False, **smoke))
    b = load_run(train(variant="jade", progress=False, **{**smoke, "output_dir": str(tmp_path / "other")}))
    assert a.metrics["svhn"] == b.metrics["svhn"]
    assert np.allclose(a.curve["loss"], b.curve["loss"])


@pytest.mark.slow
def test_interrupted_run_resumes_to_the_same_result(smoke, tmp_path):
    kw = dict(variant="jade", epochs=3, progress=False)
    ref = load_run(train(**kw, **{**smoke, "output_dir": str(tmp_path / "ref")}))
    with pytest.raises(TrainingInterrupted):
        train(**kw, stop_after_epoch=1, **smoke)
    resumed = load_run(train(**kw, **smoke))
    assert resumed.metrics["svhn"] == ref.metrics["svhn"] and resumed.metrics["mnist"] == ref.metrics["mnist"]
    assert np.allclose(resumed.curve["loss"], ref.curve["loss"])


@pytest.mark.slow
def test_finished_run_is_reused_and_never_overwritten(smoke):
    path = train(variant="single", progress=False, **smoke)
    stamp = os.stat(path / "weights.pt").st_mtime_ns
    assert train(variant="single", progress=False, **smoke) == path
    assert os.stat(path / "weights.pt").st_mtime_ns == stamp
    other = train(variant="single", lr=0.5, progress=False, **smoke)   # another configuration: its own folder
    assert other.name == "local-lr0.5-seed0" and os.stat(path / "weights.pt").st_mtime_ns == stamp
    # a folder holding another configuration than its name says (a default changed since it was
    # trained, or a config edited by hand) is never overwritten silently
    info = json.loads((path / "config.json").read_text())
    info["config"]["lr"] = 0.25
    (path / "config.json").write_text(json.dumps(info))
    with pytest.raises(ConfigError, match="different configuration.*lr: saved 0.25, now 0.001"):
        train(variant="single", progress=False, **smoke)
    assert os.stat(path / "weights.pt").st_mtime_ns == stamp
    train(variant="single", force=True, progress=False, **smoke)
    assert load_run(path).config.lr == 0.001


def test_bad_input_fails_before_training_and_keeps_results(smoke, tmp_path):
    path = train(variant="single", progress=False, **smoke)
    before = {f: (path / f).read_bytes() for f in FILES}
    from jade_core.science.data import DataError
    for kw, error, word in ((dict(epochs=0), ConfigError, "epochs"), (dict(variant="vae"), ConfigError, "variant"),
                            (dict(labels_per_class=600), DataError, "labels_per_class"),
                            (dict(data_dir=str(tmp_path / "none")), DataError, "does not exist"),
                            (dict(protocol="paper"), DataError, "SVHN train")):
        with pytest.raises(error, match=word):
            train(**{"variant": "single", "seed": 7, "progress": False, **smoke, **kw})
    assert before == {f: (path / f).read_bytes() for f in FILES}
    assert [p.name for p in path.parent.iterdir() if not p.name.endswith(".lock")] == [path.name]


@pytest.mark.slow
def test_loaded_run_classifies_uint8_images(smoke, data_dir):
    run = load_run(train(variant="paired", progress=False, **smoke))
    x, y, _, _ = load_split(data_dir, "svhn", "test")
    pred = run.classify(x[:7])
    assert pred.shape == (7,) and pred.dtype.kind == "i" and ((0 <= pred) & (pred <= 9)).all()
    xm, _, _, _ = load_split(data_dir, "mnist", "test")
    assert run.classify(xm[:3], "mnist").shape == (3,)
    with pytest.raises(ConfigError, match="uint8"):
        run.classify(x[:2].astype(np.float32))


@pytest.mark.slow
def test_collect_metrics_lists_finished_runs(smoke):
    for s in (0, 1):
        train(variant="single", seed=s, progress=False, **smoke)
    paired = load_run(train(variant="paired", lr=0.002, progress=False, **smoke))
    df = collect_metrics(smoke["output_dir"])
    assert sorted(df[df.variant == "single"].seed) == [0, 1] and set(df.variant) == {"single", "paired"}
    p = df[df.variant == "paired"].iloc[0]
    assert p.config == "lr0.002" and set(df[df.variant == "single"].config) == {""}
    assert p.mnist_val_error == paired.metrics["mnist_val"]["error"] and p.mnist_error == paired.metrics["mnist"]["error"]
    assert p.svhn_val_error == paired.metrics["svhn_val"]["error"] and pd.isna(df.mnist_val_error).sum() == 2


@pytest.mark.slow
def test_the_loop_is_a_function_of_model_data_and_config(smoke):
    """fit() needs no run folder: given a fresh state, the data and the configuration it gives what train() records."""
    import torch
    from jade_core.science.config import resolve_config
    from jade_core.science.data import build_splits
    from jade_core.science.train import FitState, fit
    cfg = resolve_config("paired", **smoke)
    splits = build_splits(cfg, need_mnist=True)
    torch.set_num_threads(cfg.threads)
    total = cfg.epochs * cfg.steps_per_epoch
    seen = []
    state = fit(cfg, splits, FitState.fresh(cfg, 0, total), checkpoint=lambda s: seen.append(s.epoch), progress=False)
    run = load_run(train(cfg, progress=False))
    assert seen == [1, 2] and state.epoch == cfg.epochs                  # eval_every = 1 in the smoke profile
    assert pd.DataFrame(state.curve).drop(columns="seconds").equals(run.curve.drop(columns="seconds"))
    for k, v in state.model.state_dict().items():
        assert torch.equal(v, run.model.state_dict()[k])
