"""The hop from a configuration to the loss: each weight of RunConfig reaches exactly its term of Eq. 2
through train.variant_loss (the function fit calls with the run's configuration)."""
import pytest
import torch
from jade_core.science.config import RunConfig, resolve_config
from jade_core.science.losses import classifier_objective, jade_objective
from jade_core.science.models import build_model
from jade_core.science.train import variant_loss


def _batch(n=6):
    g = torch.Generator().manual_seed(1)
    ls = torch.arange(n) % 10
    return torch.rand(n, 3, 32, 32, generator=g), ls, torch.rand(n + 2, 1, 28, 28, generator=g), torch.cat([ls, ls[:2]])


def test_each_weight_reaches_its_own_term():
    cfg = resolve_config("jade", data_dir=".", w_rec=2.0, w_cls=3.0, w_kl=5.0, w_match=7.0)
    model = build_model("jade")
    torch.manual_seed(0)
    loss, t = variant_loss(cfg, model, *_batch())
    by_hand = -(2.0 * (t["svhn_rec"] + t["mnist_rec"]) + 3.0 * (t["svhn_cls"] + t["mnist_cls"])
                - 5.0 * (t["svhn_kl_style"] + t["svhn_kl_content"] + t["mnist_kl_style"] + t["mnist_kl_content"])) \
        + 7.0 * t["kl_match"]
    assert float(loss.detach()) == pytest.approx(float(by_hand.detach()), rel=1e-5)


@pytest.mark.parametrize("changes", [dict(svhn_sigma=0.3), dict(rec_reduction="mean"), dict(label_smoothing=0.1),
                                     dict(w_rec=0.5, w_cls=10.0, w_kl=2.0, w_match=0.0)])
def test_variant_loss_passes_every_field_by_name(changes):
    cfg = resolve_config("jade", data_dir=".", **changes)
    model = build_model("jade")
    torch.manual_seed(0)
    a, _ = variant_loss(cfg, model, *_batch())
    torch.manual_seed(0)
    b, _ = jade_objective(model, *_batch(), sigma=cfg.svhn_sigma, w_rec=cfg.w_rec, w_cls=cfg.w_cls, w_kl=cfg.w_kl,
                          w_match=cfg.w_match, rec_reduction=cfg.rec_reduction, label_smoothing=cfg.label_smoothing)
    assert float(a.detach()) == float(b.detach())


def test_the_matching_weight_of_an_epoch_is_ramped():
    cfg = resolve_config("jade", data_dir=".", w_match=8.0, w_match_warmup=4)
    model = build_model("jade")
    losses = {}
    for epoch in (0, 3, None):
        torch.manual_seed(0)
        loss, t = variant_loss(cfg, model, *_batch(), epoch=epoch)
        losses[epoch] = float((loss - (cfg.w_match * (1 if epoch in (3, None) else 0.25)) * t["kl_match"]).detach())
    assert losses[0] == pytest.approx(losses[3], rel=1e-5) == pytest.approx(losses[None], rel=1e-5)


def test_the_classifiers_read_label_smoothing_and_nothing_of_jade():
    for v in ("single", "paired"):
        cfg = resolve_config(v, data_dir=".", label_smoothing=0.2, w_cls=1.0, w_match=0.0)
        model = build_model(v)
        model.eval()
        xs, ls, xm, lm = _batch()
        a, _ = variant_loss(cfg, model, xs, ls, xm, lm) if v == "paired" else variant_loss(cfg, model, xs, ls)
        b, _ = (classifier_objective(model, xs, ls, xm, lm, label_smoothing=0.2) if v == "paired"
                else classifier_objective(model, xs, ls, label_smoothing=0.2))
        assert float(a.detach()) == float(b.detach())


def test_a_zero_matching_weight_has_no_warmup_so_the_ablation_is_one_run():
    """A ramp of w_match = 0 is 0 at every epoch: the loss is the same with or without it, so resolve_config gives
    the run one identity (Table 1's ablation keeps its runs when JADE's row gains a warm-up); a weight above 0
    keeps its warm-up."""
    with_ramp, without = (resolve_config("jade", data_dir=".", w_match=0.0, w_match_warmup=w) for w in (50, 0))
    assert with_ramp.w_match_warmup == 0 and with_ramp.semantic() == without.semantic()
    assert with_ramp.run_dir == without.run_dir
    assert resolve_config("jade", data_dir=".", w_match=1.0, w_match_warmup=50).w_match_warmup == 50
    model = build_model("jade")
    for cfg in (resolve_config("jade", data_dir=".", w_match=0.0), RunConfig(w_match=0.0, w_match_warmup=50)):
        torch.manual_seed(0)
        loss, _ = variant_loss(cfg, model, *_batch(), epoch=0)
        torch.manual_seed(0)
        later, _ = variant_loss(cfg, model, *_batch(), epoch=None)
        assert float(loss.detach()) == float(later.detach())   # the ramp of a zero weight changes nothing
