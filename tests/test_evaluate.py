"""Evaluation, property by property: error and confusion by hand, batching, modes, precision, and the
cross-domain matching report on planted posteriors (results/mutation/evaluate.md)."""
import math

import numpy as np
import pytest
import torch
from jade_core.science import evaluate as ev
from jade_core.science.models import PairedClassifier


class _Posterior(torch.nn.Module):
    """A JADE stand-in whose posterior means are its input rows and whose log-variances are ``lv``."""

    def __init__(self, lv=0.0):
        super().__init__()
        self.lv, self.seen = lv, []

    def posterior(self, x, dataset):
        self.seen.append((dataset, self.training, len(x)))
        return x.clone(), torch.full_like(x, self.lv)


class _Logits(torch.nn.Module):
    """A classifier stand-in: logits are the input rows; records the mode and dataset it was called in."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x, dataset="svhn"):
        self.seen.append((dataset, self.training, len(x)))
        return x

    def features(self, x, dataset="svhn"):
        return self.forward(x, dataset)


def test_error_rate_by_hand_and_empty():
    assert ev.error_rate(torch.tensor([0, 1, 2, 3]), torch.tensor([0, 1, 0, 0])) == 50.0
    assert ev.error_rate([1, 1, 1], [1, 1, 1]) == 0.0
    assert math.isnan(ev.error_rate([], []))


def test_confusion_matrix_default_ten_classes_counts_every_image():
    y = torch.tensor([0, 1, 2, 9, 9, 9])
    p = torch.tensor([0, 1, 3, 9, 9, 8])
    c = ev.confusion_matrix(y, p)
    assert c.shape == (10, 10) and c.sum() == 6 and np.trace(c) == 4
    assert c[2, 3] == 1 and c[9, 8] == 1 and c[9, 9] == 2


def test_predict_batches_are_concatenated_in_order_in_eval_mode_and_the_mode_is_restored():
    m = _Logits().train()
    x = torch.eye(10)[torch.tensor([3, 1, 4, 1, 5, 9, 2, 6, 5])]
    pred = ev.predict(m, x, "mnist", batch=2)
    assert pred.tolist() == [3, 1, 4, 1, 5, 9, 2, 6, 5] and pred.dtype == torch.long
    assert [s[2] for s in m.seen] == [2, 2, 2, 2, 1]               # batches of 2, the rest last
    assert {s[:2] for s in m.seen} == {("mnist", False)} and m.training
    empty = ev.predict(m, torch.empty(0, 10))
    assert empty.dtype == torch.long and len(empty) == 0


def test_evaluate_reports_error_count_and_confusion_of_the_split():
    m = _Logits()
    y = torch.tensor([0, 1, 2, 3])
    x = torch.eye(10)[torch.tensor([0, 1, 0, 0])]
    out = ev.evaluate(m, (x, y), "mnist")
    assert out["error"] == 50.0 and out["n"] == 4
    assert np.array_equal(out["confusion"], ev.confusion_matrix(y, torch.tensor([0, 1, 0, 0])).tolist())
    assert m.seen[0][0] == "mnist"


def test_bf16_autocast_and_channels_last():
    with ev.autocast("bf16"):
        assert torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16
    with ev.autocast("fp32"):
        assert not torch.is_autocast_enabled("cpu")
    x = torch.rand(2, 3, 4, 4)
    y = ev.prepare(x, True)
    assert y.is_contiguous(memory_format=torch.channels_last) and torch.equal(x, y)
    assert ev.prepare(x, False) is x


def test_posterior_stats_batches_and_modes():
    m = _Posterior(lv=-1.5).train()
    z = torch.randn(7, 20)
    mu, lv = ev.posterior_stats(m, z, "mnist", batch=3)
    assert torch.equal(mu, z) and (lv == -1.5).all() and lv.shape == (7, 20)
    assert [s[2] for s in m.seen] == [3, 3, 1] and {s[:2] for s in m.seen} == {("mnist", False)} and m.training
    feats, none = ev.posterior_stats(_Logits(), z, batch=4)
    assert none is None and torch.equal(feats, z)
    real = PairedClassifier().eval()
    x = torch.rand(5, 3, 32, 32)
    assert torch.allclose(ev.posterior_stats(real, x)[0], real.features(x), atol=1e-6)


def _planted_domains(n_per_class=20, seed=0):
    """SVHN and MNIST content means on the same class codes; MNIST style dims far away (must not enter)."""
    g = torch.Generator().manual_seed(seed)
    codes = 4.0 * torch.randn(10, 10, generator=g)
    y = torch.arange(10).repeat_interleave(n_per_class)
    zs = torch.cat([codes[y], torch.randn(len(y), 10, generator=g)], 1)
    zm = torch.cat([codes[y], 100 + torch.randn(len(y), 10, generator=g)], 1)
    return zs, y, zm, y.clone()


def test_matching_report_on_planted_matched_and_shifted_domains():
    zs, ys, zm, ym = _planted_domains()
    out = ev.matching_report(_Posterior(), (zs, ys), (zm, ym))
    assert out["centroid_accuracy"] == 100.0 and out["n"] == len(ys)
    assert out["kl_match"] == pytest.approx(0.0, abs=1e-9)          # same content, same variance: KL 0
    assert len(out["kl_match_per_dim"]) == 10
    shifted = zs.clone()
    shifted[:, 2] += 1.0                                             # content dim 2 one unit away, unit variance
    out = ev.matching_report(_Posterior(), (shifted, ys), (zm, ym))
    assert out["kl_match_per_dim"][2] == pytest.approx(0.5) and out["kl_match"] == pytest.approx(0.5)
    assert sum(out["kl_match_per_dim"]) == pytest.approx(out["kl_match"])
    # centroids from another MNIST set: labels moved by one class, every SVHN image is then "wrong"
    out = ev.matching_report(_Posterior(), (zs, ys), (zm, ym), mnist_ref=(zm, (ym + 1) % 10))
    assert out["centroid_accuracy"] == 0.0 and out["kl_match"] == pytest.approx(0.0, abs=1e-9)


def test_matching_report_pairs_each_svhn_image_with_a_same_class_mnist_image_at_random():
    zs, ys, zm, ym = _planted_domains()
    zm = zm.clone()
    zm[:, 0] += torch.arange(len(zm), dtype=torch.float32) % 20 * 0.1  # MNIST images of a class differ
    a = ev.matching_report(_Posterior(), (zs, ys), (zm, ym), seed=0)
    assert a == ev.matching_report(_Posterior(), (zs, ys), (zm, ym), seed=0)
    b = ev.matching_report(_Posterior(), (zs, ys), (zm, ym), seed=1)
    assert a["kl_match"] != b["kl_match"]
    # every pair is within the class: at most 0.5 * 1.9^2 on dim 0, 0 elsewhere
    assert 0 < a["kl_match"] <= 0.5 * 1.9 ** 2 and a["kl_match_per_dim"][1:] == [0.0] * 9


def test_matching_report_of_a_classifier_has_no_kl():
    zs, ys, zm, ym = _planted_domains()
    out = ev.matching_report(_Logits(), (zs[:, :10], ys), (zm[:, :10], ym))
    assert out["centroid_accuracy"] == 100.0 and "kl_match" not in out


def test_autocast_asks_for_bf16_whatever_the_default_and_refuses_other_precisions():
    before = torch.get_autocast_dtype("cpu")
    torch.set_autocast_dtype("cpu", torch.float16)     # another default: bf16 must be asked for
    try:
        with ev.autocast("bf16"):
            assert torch.get_autocast_dtype("cpu") == torch.bfloat16
    finally:
        torch.set_autocast_dtype("cpu", before)
    with pytest.raises(ValueError, match="precision must be 'fp32' or 'bf16', not 'fp16'"):
        ev.autocast("fp16")


def test_prepare_moves_to_the_device():
    assert ev.prepare(torch.rand(2, 3), False, "meta").device.type == "meta"


def test_evaluation_passes_precision_memory_format_and_device_through(monkeypatch):
    """What evaluate and matching_report are given reaches every batch (monkeypatched recorders)."""
    seen = []
    monkeypatch.setattr(ev, "prepare", lambda x, channels_last, device="cpu": seen.append(
        ("prepare", channels_last, device)) or x)
    real = ev.autocast
    monkeypatch.setattr(ev, "autocast", lambda precision, device="cpu": seen.append(
        ("autocast", precision, device)) or real("fp32"))
    ev.evaluate(_Logits(), (torch.eye(10)[:3], torch.arange(3)), "svhn", "bf16", True, "cuda:7")
    assert set(seen) == {("prepare", True, "cuda:7"), ("autocast", "bf16", "cuda:7")}
    seen.clear()
    zs, ys, zm, ym = _planted_domains(n_per_class=2)
    ev.matching_report(_Posterior(), (zs, ys), (zm, ym), "bf16", True, "cuda:7", mnist_ref=(zm, ym))
    assert set(seen) == {("prepare", True, "cuda:7"), ("autocast", "bf16", "cuda:7")}
    assert sum(s[0] == "prepare" for s in seen) == 3                # SVHN, MNIST and the reference set


def test_matching_report_default_seed_and_classes_of_one_image():
    zs, ys, zm, ym = _planted_domains()
    zm = zm.clone()
    zm[:, 0] += torch.arange(len(zm), dtype=torch.float32) % 20 * 0.1
    assert ev.matching_report(_Posterior(), (zs, ys), (zm, ym)) == ev.matching_report(
        _Posterior(), (zs, ys), (zm, ym), seed=0)
    keep = torch.cat([torch.tensor([0]), torch.nonzero(ys != 0).flatten()])   # class 0 has one SVHN image
    out = ev.matching_report(_Posterior(), (zs[keep], ys[keep]), (zm, ym))
    assert np.isfinite(out["kl_match"]) and out["kl_match"] <= 0.5 * 1.9 ** 2
    no_zero = torch.nonzero(ys != 0).flatten()                                # and none: the rest still paired
    out = ev.matching_report(_Posterior(), (zs[no_zero], ys[no_zero]), (zm, ym))
    assert np.isfinite(out["kl_match"]) and out["kl_match"] <= 0.5 * 1.9 ** 2
