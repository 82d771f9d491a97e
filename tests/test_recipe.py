"""The tuned recipe: augmentation, label smoothing, AdamW and the one-cycle schedule."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from jade_core.experiments.lifecycle import train
from jade_core.experiments.runs import config_differences, load_run
from jade_core.science import augment as A
from jade_core.science.config import ConfigError, RunConfig, resolve_config
from jade_core.science.losses import classifier_objective, elbo_terms
from jade_core.science.models import build_model
from jade_core.science.train import TrainingInterrupted, make_optimizer


def _images(n=6, seed=0):
    return torch.rand(n, 3, 32, 32, generator=torch.Generator().manual_seed(seed))


def test_plain_recipe_is_the_identity_and_draws_nothing():
    cfg, x, g = RunConfig(), _images(), torch.Generator().manual_seed(1)
    state = g.get_state()
    assert A.is_plain(cfg) and torch.equal(A.augment(x, cfg, g), x)
    assert torch.equal(g.get_state(), state)  # plain runs keep their batch order


def test_shift_moves_each_image_by_at_most_max_shift_pixels():
    x = _images(8)
    y = A.shift(x, 3, torch.Generator().manual_seed(2))
    for i in range(len(x)):
        # the interior of the shifted image is the input translated by one (dy, dx) with |dy|, |dx| <= 3
        hits = [(dy, dx) for dy in range(-3, 4) for dx in range(-3, 4)
                if torch.equal(y[i, :, 3 + dy:29 + dy, 3 + dx:29 + dx], x[i, :, 3:29, 3:29])]
        assert len(hits) == 1
    assert not torch.equal(y, x)


def test_invert_contrast_and_cutout():
    x, g = _images(), torch.Generator().manual_seed(3)
    assert torch.equal(A.invert(x, 1.0, g), 1.0 - x)
    assert torch.equal(A.contrast(x, 0.0, g), x)
    flat = torch.full((4, 3, 32, 32), 0.4)
    assert torch.allclose(A.contrast(flat, 0.5, g), flat)  # scaling about the mean keeps a flat image
    c = A.contrast(x, 0.5, g)
    assert c.min() >= 0 and c.max() <= 1 and not torch.equal(c, x)
    z = torch.zeros(50, 3, 32, 32)
    cut = A.cutout(z, 10, g, fill=1.0)
    blanked = cut[:, 0].flatten(1).sum(1)
    assert blanked.max() == 100 and blanked.min() > 0  # a 10x10 square, cut off at the border only
    assert torch.equal(cut[:, 0], cut[:, 1])  # the same square on every channel


def test_label_smoothing_reaches_both_objectives():
    torch.manual_seed(0)
    model = build_model("jade").eval()
    x, y = _images(4), torch.tensor([0, 1, 2, 3])
    torch.manual_seed(1)
    t0 = elbo_terms(model, x, y, "svhn", 0.1)
    torch.manual_seed(1)
    t1 = elbo_terms(model, x, y, "svhn", 0.1, label_smoothing=0.1)
    # the same z: the smoothed term is -CE(smooth) = -(0.9 CE + 0.1 mean_k(-log p_k)) per image
    torch.manual_seed(1)
    mu, logvar = model.posterior(x, "svhn")
    z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
    logp = model.classifier(z[:, :10]).float().log_softmax(-1)
    want = 0.9 * logp[torch.arange(4), y] + 0.1 * logp.mean(-1)
    assert torch.allclose(t1["cls"], want, atol=1e-5) and torch.allclose(t0["cls"], logp[torch.arange(4), y], atol=1e-5)
    clf = build_model("single").eval()
    loss, _ = classifier_objective(clf, x, y, label_smoothing=0.1)
    assert torch.allclose(loss, F.cross_entropy(clf(x, "svhn"), y, label_smoothing=0.1))
    assert not torch.allclose(loss, classifier_objective(clf, x, y)[0])


def test_onecycle_warms_up_then_decays_and_adamw_is_used():
    cfg = resolve_config("single", lr=0.01, optimizer="adamw", weight_decay=5e-4, lr_schedule="onecycle")
    model = build_model("single")
    opt, sched = make_optimizer(cfg, model, total_steps=100)
    assert isinstance(opt, torch.optim.AdamW)
    lrs = []
    for _ in range(100):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[0] == pytest.approx(0.01 / 25) and max(lrs) == pytest.approx(0.01, rel=1e-3)
    assert int(np.argmax(lrs)) in range(25, 35) and lrs[-1] < 1e-4
    opt, sched = make_optimizer(resolve_config("single"), model, 100)
    assert type(opt) is torch.optim.Adam and sched is None


@pytest.mark.slow
def test_recipe_run_resumes_to_the_same_result(smoke, tmp_path):
    kw = dict(variant="single", epochs=4, eval_every=2, optimizer="adamw", weight_decay=5e-4, lr_schedule="onecycle",
              aug_shift=2, aug_invert=0.5, aug_contrast=0.3, aug_cutout=6, label_smoothing=0.1, progress=False)
    ref = load_run(train(**kw, **{**smoke, "output_dir": str(tmp_path / "ref")}))
    with pytest.raises(TrainingInterrupted):
        train(**kw, stop_after_epoch=3, **smoke)
    resumed = load_run(train(**kw, **smoke))
    assert resumed.metrics["svhn"] == ref.metrics["svhn"]
    assert np.allclose(resumed.curve["loss"], ref.curve["loss"])
    plain = load_run(train(variant="single", epochs=4, eval_every=2, progress=False,
                           **{**smoke, "output_dir": str(tmp_path / "plain")}))
    assert not np.allclose(plain.curve["loss"], ref.curve["loss"])


def test_bad_recipe_values_are_refused():
    for bad in (dict(optimizer="sgd"), dict(lr_schedule="cosine"), dict(aug_invert=1.5), dict(aug_shift=-1),
                dict(label_smoothing=0.9)):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            resolve_config("single", **bad)


def test_a_field_added_later_at_its_default_keeps_old_runs():
    cfg = resolve_config("single")
    saved = {k: v for k, v in cfg.to_dict().items() if k not in ("aug_cutout", "label_smoothing")}
    assert config_differences(saved, cfg) == []
    assert config_differences(saved, resolve_config("single", aug_cutout=4)) != []
    assert math.isclose(RunConfig.defaults()["label_smoothing"], 0.0)


def test_a_run_saved_before_the_warmup_existed_had_none_though_the_default_is_now_a_ramp():
    """w_match_warmup's default changed (0 -> the chosen ramp) after runs were saved without the field: such a
    run is read as it trained, without a warm-up (RunConfig.WHEN_ADDED), not as today's default."""
    from jade_core.experiments.grid import semantic_key
    from jade_core.experiments.runs import saved_run_config
    assert RunConfig.w_match_warmup != RunConfig.WHEN_ADDED["w_match_warmup"] == 0
    old = {k: v for k, v in resolve_config("jade", w_match_warmup=0).to_dict().items() if k != "w_match_warmup"}
    assert saved_run_config(old).w_match_warmup == 0
    assert config_differences(old, resolve_config("jade", w_match_warmup=0)) == []
    assert config_differences(old, resolve_config("jade")) == ["w_match_warmup: saved 0, now 50"]
    assert semantic_key(old) == semantic_key(resolve_config("jade", w_match_warmup=0).to_dict())
