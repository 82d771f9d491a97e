import numpy as np
import pytest
import torch
from jade_core.science.config import resolve_config
from jade_core.science.data import DataError, build_splits, export_mirror, load_split
from jade_core.science.split import protocol_split, select_pool, select_validation


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
def test_local_protocol_uses_the_fixed_cut(data_dir, seed):
    """Pool and validation from official test indices 0..2,499, evaluation exactly 2,500..7,999."""
    cfg = resolve_config("single", "paper", data_dir=data_dir, seed=seed, val_per_class=50)
    s = build_splits(cfg, need_mnist=False)
    pool, val = set(s.info["pool_official_index"]), set(s.info["val_official_index"])
    assert len(pool) == 1000 and len(val) == 500 and not pool & val
    assert max(pool | val) < 2500
    assert s.info["n_svhn_train"] == 1000 and s.info["n_svhn_eval"] == 5500
    raw, labels, index, _ = load_split(data_dir, "svhn", "test")
    evaluation = np.flatnonzero((index >= 2500) & (index < 8000))
    assert torch.equal(s.svhn_eval[0], torch.from_numpy(raw[evaluation]).float() / 255)
    assert torch.equal(s.svhn_eval[1], torch.from_numpy(labels[evaluation]))
    assert np.bincount(s.svhn_train[1].numpy(), minlength=10).tolist() == [100] * 10
    assert np.bincount(s.svhn_val[1].numpy(), minlength=10).tolist() == [50] * 10
    # the training images are the pool's pixels
    pos = np.searchsorted(index, s.info["pool_official_index"])
    assert torch.equal(s.svhn_train[0], torch.from_numpy(raw[pos]).float() / 255)


def test_no_pool_or_validation_image_is_ever_an_evaluation_image(data_dir):
    """Across seeds and label budgets: the evaluation part never changes and never meets a pool or
    a validation image; pools and validation sets never meet within a run."""
    _, labels, index, _ = load_split(data_dir, "svhn", "test")
    evaluations = set()
    for budget in (10, 25, 50, 100):
        for seed in range(10):
            cut = protocol_split("local", labels, index, budget, 50, seed)
            pool, val, ev = (set(index[cut[k]].ravel().tolist()) for k in ("pool", "val", "eval"))
            assert not (pool | val) & ev and not pool & val
            assert len(pool) == 10 * budget and len(val) == 500
            evaluations.add(frozenset(ev))
    assert evaluations == {frozenset(range(2500, 8000))}


def test_validation_too_large_names_the_limit(data_dir):
    _, labels, index, _ = load_split(data_dir, "svhn", "test")
    with pytest.raises(DataError, match="val_per_class=60.*digit 9.*outside the labelled pool"):
        protocol_split("local", labels, index, 100, 60, 0)


def test_validation_never_in_pool_and_pool_independent_of_validation():
    labels = np.repeat(np.arange(10), 30)
    a = select_pool(labels, 10, 3)
    v = select_validation(labels, a.ravel(), 20, 3)
    assert not set(a.ravel()) & set(v) and len(v) == 200
    assert np.bincount(labels[v], minlength=10).tolist() == [20] * 10
    with pytest.raises(DataError, match="val_per_class=21"):
        select_validation(labels, a.ravel(), 21, 3)


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


def test_a_download_that_fails_or_hangs_gives_one_clear_error_and_a_timeout(tmp_path, monkeypatch):
    import socket
    import urllib.error

    import torchvision.datasets as tvd
    from jade_core.science import data as data_mod
    seen = {}

    def offline(*a, **k):  # what torchvision raises when every mirror fails
        seen["timeout"] = socket.getdefaulttimeout()
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz") from urllib.error.URLError("no route")
    monkeypatch.setattr(tvd, "MNIST", offline)
    with pytest.raises(DataError, match=r"download failed \(RuntimeError: Error downloading.*offline or behind a proxy"):
        load_split(tmp_path / "new", "mnist", "train", download=True)
    assert seen["timeout"] == data_mod.DOWNLOAD_TIMEOUT          # a silent proxy cannot hang it
    assert socket.getdefaulttimeout() is None                      # and the process default is restored

    monkeypatch.setattr(tvd, "SVHN", lambda *a, **k: (_ for _ in ()).throw(TimeoutError("timed out")))
    with pytest.raises(DataError, match="SVHN train not found.*download failed \\(TimeoutError: timed out"):
        load_split(tmp_path / "new", "svhn", "train", download=True)


def test_a_downloaded_mnist_file_is_checked_against_its_official_checksum(data_dir, tmp_path, monkeypatch):
    import torchvision.datasets as tvd

    def fake_download(root, train, download):  # "downloads" a corrupted label file
        raw = tmp_path / "MNIST" / "raw"
        raw.mkdir(parents=True)
        bad = bytearray(open(f"{data_dir}/MNIST/raw/t10k-labels-idx1-ubyte", "rb").read())
        bad[-1] ^= 1
        (raw / "t10k-labels-idx1-ubyte").write_bytes(bytes(bad))
        return object()
    monkeypatch.setattr(tvd, "MNIST", fake_download)
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte fails its checksum"):
        load_split(tmp_path, "mnist", "test", download=True)


def test_a_mirror_file_is_read_once_read_only_and_again_when_it_changes(tmp_path, data_dir):
    import shutil

    import numpy as np
    shutil.copy(f"{data_dir}/mnist_test.npz", tmp_path / "mnist_test.npz")
    a = load_split(tmp_path, "mnist", "test")
    assert load_split(tmp_path, "mnist", "test")[0] is a[0]        # one read per file in a process
    with pytest.raises(ValueError, match="read-only"):
        a[0][0, 0, 0] = 1                                          # no caller changes another's copy
    np.savez(tmp_path / "mnist_test.npz", x=a[0][:10], y=a[1][:10], index=a[2][:10])
    assert len(load_split(tmp_path, "mnist", "test")[1]) == 10     # a new file version is read again
