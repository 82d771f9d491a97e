import numpy as np
import pytest
import torch
from jade_core.science import latent
from jade_core.science.latent import content_style_ratio, normalised_variance_by_class, normalised_variance_random


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


@pytest.mark.slow
def test_figure2_cache_is_used_only_for_the_same_weights_images_and_code(smoke, tmp_path, monkeypatch):
    import warnings

    import pandas as pd
    import torch
    from jade_core.experiments import grid
    from jade_core.experiments.lifecycle import train
    from jade_core.experiments.runs import collect_table1
    from jade_core.reporting import report
    from jade_core.science import latent as lat
    from jade_core.science.config import resolve_config
    from jade_core.science.data import build_splits
    for v in ("single", "jade"):
        train(progress=False, **grid.place(dict(variant=v, **smoke)))     # where Table 1 keeps its runs
    runs = collect_table1(smoke["output_dir"])
    x, y = build_splits(resolve_config(**smoke)).svhn_eval
    monkeypatch.chdir(tmp_path)                                   # nothing may be written beside the cache
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    cache = tmp_path / "a" / "b" / "fig2.csv"                     # its folders are made
    first = report.latent_table(runs, (x, y), cache=cache)
    assert first.attrs["cache"] == f"0 of 2 rows read from {cache} (same weights, images and code), 2 computed"
    assert list(pd.read_csv(cache).columns) == report.LATENT_COLUMNS + ["key"] and not list((tmp_path / "cwd").iterdir())
    assert sorted(p.name for p in cache.parent.iterdir()) == ["fig2.csv"]
    assert first[["variant", "seed", "centroid_accuracy", "svhn_error"]].equals(
        runs[["variant", "seed", "centroid_accuracy", "svhn_error"]].reset_index(drop=True).astype({"seed": int}))
    assert report.latent_table(runs, (x, y)).equals(first)       # the cache changes nothing


    calls = []
    real = lat.latent_summary
    monkeypatch.setattr(lat, "latent_summary", lambda *a, **k: calls.append(1) or real(*a, **k))
    again = report.latent_table(runs, (x, y), cache=cache)
    assert calls == [] and again.equals(first)                    # same weights, images, code: all cached
    assert again.attrs["cache"] == f"2 of 2 rows read from {cache} (same weights, images and code), 0 computed"

    w = runs[runs.variant == "jade"].path.iloc[0] + "/weights.pt"
    state = torch.load(w, weights_only=True)
    state = {k: (t + 0.01 if t.is_floating_point() else t) for k, t in state.items()}
    torch.save(state, w)
    changed = report.latent_table(runs, (x, y), cache=cache)
    assert len(calls) == 1 and changed.attrs["cache"].startswith("1 of 2 rows read from")  # that run
    assert not changed[changed.variant == "jade"].content_within.equals(first[first.variant == "jade"].content_within)

    report.latent_table(runs, (x.flip(0), y), cache=cache)
    assert len(calls) == 3                                        # other images, same labels: every run recomputed
    report.latent_table(runs, (x.flip(0), y.flip(0)), cache=cache)
    assert len(calls) == 5                                        # other labels: every run recomputed
    planted = pd.read_csv(cache).assign(content_within=123.0)
    planted.to_csv(cache, index=False)
    assert (report.latent_table(runs, (x.flip(0), y.flip(0)), cache=cache).content_within == 123.0).all()
    planted.assign(key="stale").to_csv(cache, index=False)
    assert (report.latent_table(runs, (x.flip(0), y.flip(0)), cache=cache).content_within != 123.0).all()

    cache.write_text("not,a\ncache")                             # unreadable: said, and recomputed
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report.latent_table(runs, (x, y), cache=cache)
    (w,) = [c for c in caught if "Figure 2 cache" in str(c.message)]
    assert str(w.message).startswith(f"ignoring the Figure 2 cache {cache} (KeyError: ")

    seeds = []                                                     # each run's own seed reaches the analysis
    monkeypatch.setattr(lat, "latent_summary", lambda *a, **k: seeds.append(k.get("seed")) or real(*a, **k))
    report.latent_table(runs.assign(seed=[3, 4]), (x, y))
    assert seeds == [3, 4]


# --- Properties pinned one by one (found by mutation testing, results/mutation/latent.md) ---------

def test_defaults_are_the_papers_figure2_sizes():
    """Figure 2: 500 images per class (or per random group), against 2,500 random images; seed 0.
    (Called, not read from the signature: the defaults are what a call without them does.)"""
    z, y = planted(n=6000)
    paper = dict(n_reference=2500, seed=0)
    a, counts = normalised_variance_by_class(z, y)
    assert np.array_equal(a, normalised_variance_by_class(z, y, n_per_class=500, **paper)[0])
    assert np.array_equal(normalised_variance_random(z), normalised_variance_random(z, n_per_group=500, n_groups=10,
                                                                                    **paper))
    zt = torch.tensor(z, dtype=torch.float32)
    assert latent.latent_summary(_Planted(), zt, y) == latent.latent_summary(_Planted(), zt, y, n_per_class=500, **paper)


def test_whole_classes_give_the_exact_unbiased_variance_ratio():
    """With every image of a class and every image as reference, no sampling is left: the value is
    var_ddof1(class) / var_ddof1(all), drawn without replacement (a repeat would change it)."""
    rng = np.random.default_rng(3)
    y = np.repeat(np.arange(10), [2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
    z = rng.normal(size=(len(y), 4)) * [1.0, 0.01, 5.0, 0.3]   # small variances must stay finite
    by_class, counts = normalised_variance_by_class(z, y, n_per_class=100, n_reference=len(y))
    assert counts.dtype.kind == "i" and list(counts) == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    ref = z.var(axis=0, ddof=1)
    for c in range(10):
        assert np.allclose(by_class[c], z[y == c].var(axis=0, ddof=1) / ref, rtol=1e-12)


def test_random_groups_of_every_reference_image_are_exactly_one():
    rng = np.random.default_rng(4)
    z = rng.normal(size=(300, 5)) * 0.05
    r = normalised_variance_random(z, n_per_group=300, n_reference=300, n_groups=3)
    assert np.allclose(r, 1.0, rtol=1e-12)
    part = normalised_variance_random(z, n_per_group=40, n_reference=300, n_groups=3)
    assert not np.allclose(part, 1.0)           # a group of 40 is a sample: not exactly 1


def test_float32_latents_are_analysed_in_float64():
    z, y = planted(n=2000)
    z32 = z.astype(np.float32)
    as64 = z32.astype(np.float64)
    assert np.array_equal(normalised_variance_by_class(z32, y)[0], normalised_variance_by_class(as64, y)[0])
    assert np.array_equal(normalised_variance_random(z32), normalised_variance_random(as64))
    assert np.array_equal(latent.eta_squared(z32, y), latent.eta_squared(as64, y))


def test_the_analysis_is_seeded_and_the_seed_matters():
    z, y = planted(n=2000)
    assert np.array_equal(normalised_variance_random(z), normalised_variance_random(z))
    assert np.array_equal(normalised_variance_by_class(z, y)[0], normalised_variance_by_class(z, y, seed=0)[0])
    assert not np.array_equal(normalised_variance_by_class(z, y, seed=0)[0],
                              normalised_variance_by_class(z, y, seed=1)[0])


def test_classes_with_one_or_two_images(recwarn):
    """One image has no variance: NaN, computed without numpy's degrees-of-freedom warning; two images do."""
    rng = np.random.default_rng(5)
    y = np.r_[np.zeros(1, int), np.ones(2, int), np.repeat(np.arange(2, 10), 30)]
    z = rng.normal(size=(len(y), 3))
    by_class, counts = normalised_variance_by_class(z, y)
    assert np.isnan(by_class[0]).all() and np.isfinite(by_class[1:]).all()
    assert counts[0] == 1 and counts[1] == 2
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_reference_variance_of_a_constant_dimension_is_nan():
    z = np.random.default_rng(6).normal(size=(50, 3)) * 1e-3
    z[:, 1] = 7.0
    _, var = latent._reference(z, 50, np.random.default_rng(0))
    assert np.isnan(var[1]) and np.isfinite(var[[0, 2]]).all()


def test_content_style_ratio_is_content_over_style():
    normalised = np.hstack([np.full((10, 10), 0.5), np.full((10, 10), 2.0)])
    assert content_style_ratio(normalised) == pytest.approx(0.25)
    assert content_style_ratio(normalised[:, [0, 1, 10]], n_content=2) == pytest.approx(0.25)


def test_eta_squared_by_hand_shift_and_scale_free(recwarn):
    z = np.array([[0.0, 5.0], [2.0, 5.0], [4.0, 5.0], [6.0, 5.0]])   # dim 1 is constant
    labels = np.array([0, 0, 1, 1])
    # dim 0: class means 1, 5; grand 3; between = 2*4 + 2*4 = 16; total = 9 + 1 + 1 + 9 = 20
    eta = latent.eta_squared(z, labels)
    assert eta.dtype == np.float64 and eta[0] == pytest.approx(0.8) and np.isnan(eta[1])
    assert latent.eta_squared(z * 1e-3 + 100, labels)[0] == pytest.approx(0.8)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_latent_summary_uses_its_seed_and_names_its_counts():
    rng = np.random.default_rng(7)
    labels = np.repeat(np.arange(10), 300)
    z = rng.standard_normal((3000, 20))
    s3 = latent.latent_summary(_Planted(), torch.tensor(z, dtype=torch.float32), labels, seed=3)
    a3, _ = normalised_variance_by_class(z.astype(np.float32), labels, seed=3)
    assert s3["content_within"] == pytest.approx(np.nanmean(a3[:, :10]), rel=1e-12)
    assert s3["style_within"] == pytest.approx(np.nanmean(a3[:, 10:]), rel=1e-12)
    assert s3["min_class_count"] == 300


def test_the_ratio_over_seeds_is_the_geometric_mean_of_each_seeds_content_style_ratio():
    from jade_core.science.latent import content_style_ratio_over_seeds
    rng = np.random.default_rng(0)
    arrays = [rng.uniform(0.1, 2, size=(10, 20)) for _ in range(3)]
    per_seed = [content_style_ratio(a) for a in arrays]
    content = [np.nanmean(a[:, :10]) for a in arrays]
    style = [np.nanmean(a[:, 10:]) for a in arrays]
    assert content_style_ratio_over_seeds(content, style) == pytest.approx(np.exp(np.mean(np.log(per_seed))))
    assert content_style_ratio_over_seeds([1, 4], [2, 2]) == pytest.approx(1.0)     # 0.5 and 2 cancel
