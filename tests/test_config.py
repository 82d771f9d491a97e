import pytest
from jade_core.science.config import ConfigError, RunConfig, resolve_config


def test_profiles_resolve_and_overrides_win():
    cfg = resolve_config("single", "smoke", seed=3, lr=0.01, data_dir="x")
    assert cfg.epochs == 2 and cfg.seed == 3 and cfg.lr == 0.01 and cfg.output_dir == "_build/smoke-results"
    paper = resolve_config("jade", "paper", data_dir="x")
    assert paper.labels_per_class == 100 and paper.mnist_train_size == 45000 and paper.output_dir == "results"
    assert str(paper.run_dir).endswith("runs/jade/local-seed0")


@pytest.mark.parametrize("kw, word", [
    (dict(variant="vae"), "variant"), (dict(protocol="svhn"), "protocol"), (dict(profile="fast"), "profile"),
    (dict(epochs=0), "epochs"), (dict(batch_size=-1), "batch_size"), (dict(seed=-2), "seed"),
    (dict(epochs=1.5), "epochs"), (dict(lr=0), "lr"), (dict(val_per_class=-1), "val_per_class"),
    (dict(colour="red"), "colour"), (dict(precision="fp8"), "precision"),
])
def test_bad_parameters_name_themselves(kw, word):
    kw = dict(kw)  # the parametrize dict is shared between runs of this test in one process
    variant = kw.pop("variant", "jade")
    profile = kw.pop("profile", "paper")
    with pytest.raises(ConfigError, match=word):
        resolve_config(variant, profile, data_dir="x", **kw)


def test_semantic_ignores_paths_and_device():
    a = resolve_config("jade", data_dir="a", output_dir="o1").semantic()
    b = resolve_config("jade", data_dir="b", output_dir="o2", device="cuda").semantic()
    assert a == b
    assert set(RunConfig.NON_SEMANTIC).isdisjoint(a)
