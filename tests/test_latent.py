import numpy as np
import pytest
import torch
from jade_core import latent
from jade_core.latent import content_style_ratio, normalised_variance_by_class, normalised_variance_random


def planted(n=6000, seed=0):
    """Content dims 0..9 = class code + small noise; style dims 10..19 = noise unrelated to class."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    codes = rng.normal(0, 3, (10, 10))
    z = np.concatenate([codes[y] + rng.normal(0, 0.3, (n, 10)), rng.normal(0, 2, (n, 10))], axis=1)
    return z, y


def test_planted_content_dims_are_found():
    z, y = planted()
    by_class, counts = normalised_variance_by_class(z, y)
    assert by_class.shape == (10, 20) and (counts == 500).all()
    assert by_class[:, :10].max() < 0.1          # content: fixed class -> little variance
    assert np.allclose(by_class[:, 10:], 1, atol=0.25)  # style: keeps its variance
    assert content_style_ratio(by_class) < 0.1


def test_random_groups_keep_every_dimension():
    z, _ = planted()
    r = normalised_variance_random(z)
    assert r.shape == (10, 20) and np.allclose(r, 1, atol=0.3)
    assert content_style_ratio(r) == pytest.approx(1, abs=0.15)


def test_no_structure_gives_ratio_near_one_and_small_classes_are_counted():
    rng = np.random.default_rng(1)
    z, y = rng.normal(size=(3000, 20)), np.r_[np.repeat(np.arange(10), 290), np.zeros(100, int)]
    by_class, counts = normalised_variance_by_class(z, y, n_per_class=500)
    assert counts[1] == 290 and counts[0] == 390
    assert content_style_ratio(by_class) == pytest.approx(1, abs=0.15)


def test_zero_variance_dimension_is_nan_not_inf():
    z, y = planted()
    z[:, 3] = 1.0
    by_class, _ = normalised_variance_by_class(z, y)
    assert np.isnan(by_class[:, 3]).all() and np.isfinite(content_style_ratio(by_class))


class _Planted(torch.nn.Module):
    """A 'model' whose posterior means are its input: the test plants them."""

    def features(self, x, dataset="svhn"):
        return x


def test_latent_summary_finds_planted_content_and_style():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 300)
    content = np.eye(10)[labels] * 5 + 0.1 * rng.standard_normal((3000, 10))  # a function of the class
    style = rng.standard_normal((3000, 10))                                    # independent of it
    z = torch.tensor(np.hstack([content, style]), dtype=torch.float32)
    s = latent.latent_summary(_Planted(), z, labels)
    assert s["content_within"] < 0.05 and 0.8 < s["style_within"] < 1.2
    assert s["content_eta2"] > 0.95 and s["style_eta2"] < 0.02
    # a classifier's 10-d bottleneck: content only
    c = latent.latent_summary(_Planted(), z[:, :10], labels)
    assert "style_within" not in c and c["content_within"] == pytest.approx(s["content_within"], rel=1e-6)


def test_figure2_cache_is_used_only_for_the_same_weights_images_and_code(smoke, tmp_path, monkeypatch):
    import pandas as pd
    import torch
    from jade_core import latent as lat
    from jade_core import report
    from jade_core.config import resolve_config
    from jade_core.data import build_splits
    from jade_core.runs import collect_table1
    from jade_core.train import train

    for v in ("single", "jade"):
        train(variant=v, progress=False, **smoke)
    runs = collect_table1(smoke["output_dir"])
    x, y = build_splits(resolve_config(**smoke)).svhn_eval
    cache = tmp_path / "fig2.csv"
    first = report.latent_table(runs, (x, y), cache=cache)
    assert report.latent_table(runs, (x, y)).equals(first)       # the cache changes nothing

    calls = []
    real = lat.latent_summary
    monkeypatch.setattr(lat, "latent_summary", lambda *a, **k: calls.append(1) or real(*a, **k))
    again = report.latent_table(runs, (x, y), cache=cache)
    assert calls == [] and again.equals(first)                    # same weights, images, code: all cached

    w = runs[runs.variant == "jade"].path.iloc[0] + "/weights.pt"
    state = torch.load(w, weights_only=True)
    state = {k: (t + 0.01 if t.is_floating_point() else t) for k, t in state.items()}
    torch.save(state, w)
    changed = report.latent_table(runs, (x, y), cache=cache)
    assert len(calls) == 1                                        # other weights: that run recomputed
    assert not changed[changed.variant == "jade"].content_within.equals(first[first.variant == "jade"].content_within)

    report.latent_table(runs, (x[:-1], y[:-1]), cache=cache)
    assert len(calls) == 3                                        # other images: every run recomputed
    planted = pd.read_csv(cache).assign(content_within=123.0)
    planted.to_csv(cache, index=False)
    assert (report.latent_table(runs, (x[:-1], y[:-1]), cache=cache).content_within == 123.0).all()
    planted.assign(key="stale").to_csv(cache, index=False)
    assert (report.latent_table(runs, (x[:-1], y[:-1]), cache=cache).content_within != 123.0).all()
