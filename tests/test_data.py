import numpy as np
import pytest
import torch

from jade_core.config import resolve_config
from jade_core.data import DataError, build_splits, export_mirror, load_split, select_pool


def test_mirror_shapes_and_dtypes(data_dir):
    x, y, idx, src = load_split(data_dir, "svhn", "test")
    assert x.shape == (8000, 3, 32, 32) and x.dtype == np.uint8 and y.dtype == np.int64 and src.startswith("mirror")
    x, y, _, _ = load_split(data_dir, "mnist", "train")
    assert x.shape == (60000, 28, 28)


def test_pool_is_balanced_reproducible_and_seed_dependent():
    labels = np.repeat(np.arange(10), 50)
    a, b, c = select_pool(labels, 7, 1), select_pool(labels, 7, 1), select_pool(labels, 7, 2)
    assert a.shape == (10, 7) and np.array_equal(a, b) and not np.array_equal(a, c)
    assert all((labels[a[k]] == k).all() for k in range(10))
    assert len(np.unique(a)) == 70


def test_pool_too_large_names_the_limit():
    with pytest.raises(DataError, match="labels_per_class=60.*only 50"):
        select_pool(np.repeat(np.arange(10), 50), 60, 0)


@pytest.mark.parametrize("seed", [0, 4])
def test_local_protocol_pool_never_overlaps_evaluation(data_dir, seed):
    cfg = resolve_config("single", "paper", data_dir=data_dir, seed=seed, val_per_class=10)
    s = build_splits(cfg, need_mnist=False)
    pool = set(s.info["pool_official_index"])
    assert len(pool) == 1000 and s.info["n_svhn_train"] == 900 and s.info["n_svhn_val"] == 100
    assert s.info["n_svhn_eval"] == 7000
    _, _, index, _ = load_split(data_dir, "svhn", "test")
    x_eval = s.svhn_eval[0]
    # every evaluation image is a test digit outside the pool: compare pixels
    raw, _, _, _ = load_split(data_dir, "svhn", "test")
    outside = np.setdiff1d(np.arange(8000), np.searchsorted(index, sorted(pool)))
    assert torch.equal(x_eval, torch.from_numpy(raw[outside]).float() / 255)
    assert np.bincount(s.svhn_train[1].numpy(), minlength=10).tolist() == [90] * 10


def test_paper_protocol_without_train_split_says_what_to_do(data_dir):
    cfg = resolve_config("single", "paper", data_dir=data_dir, protocol="paper")
    with pytest.raises(DataError, match="SVHN train not found.*jade export"):
        build_splits(cfg, need_mnist=False)


def test_missing_directory(tmp_path):
    with pytest.raises(DataError, match="does not exist.*JADE_DATA_DIR"):
        load_split(tmp_path / "nope", "mnist", "train")


@pytest.mark.parametrize("arrays, word", [
    (dict(x=np.zeros((5, 3, 32, 32), np.uint8)), "missing array"),
    (dict(x=np.zeros((5, 3, 32, 32), np.float32), y=np.zeros(5, np.int64)), "uint8"),
    (dict(x=np.zeros((5, 32, 32, 3), np.uint8), y=np.zeros(5, np.int64)), "shape"),
    (dict(x=np.zeros((5, 3, 32, 32), np.uint8), y=np.full(5, 10, np.int64)), "0..9"),
])
def test_bad_npz_is_refused(tmp_path, arrays, word):
    np.savez(tmp_path / "svhn_test.npz", **arrays)
    with pytest.raises(DataError, match=word):
        load_split(tmp_path, "svhn", "test")


def test_torchvision_offline_path_matches_mirror(data_dir, tmp_path):
    # a directory holding only the official IDX files, as torchvision names them
    (tmp_path / "MNIST").symlink_to(f"{data_dir}/MNIST")
    x, y, _, src = load_split(tmp_path, "mnist", "test")
    xm, ym, _, _ = load_split(data_dir, "mnist", "test")
    assert src.startswith("torchvision") and np.array_equal(x, xm) and np.array_equal(y, ym)


def test_torchvision_checksum_failure(data_dir, tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for f in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte"):
        (raw / f).symlink_to(f"{data_dir}/MNIST/raw/{f}")
    bad = bytearray(open(f"{data_dir}/MNIST/raw/t10k-labels-idx1-ubyte", "rb").read())
    bad[-1] ^= 1
    (raw / "t10k-labels-idx1-ubyte").write_bytes(bytes(bad))
    with pytest.raises(DataError, match="checksum"):
        load_split(tmp_path, "mnist", "test")


def test_export_writes_a_mirror_from_official_files(data_dir, tmp_path):
    written = dict(export_mirror(tmp_path / "mirror", data_dir=data_dir))
    assert "skipped" in written[str(tmp_path / "mirror" / "svhn_train.npz")]
    x, y, _, src = load_split(tmp_path / "mirror", "mnist", "test")
    xm, ym, _, _ = load_split(data_dir, "mnist", "test")
    assert src.startswith("mirror") and np.array_equal(x, xm) and np.array_equal(y, ym)
