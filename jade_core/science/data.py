"""MNIST, SVHN, the few-label SVHN pool and the two SVHN protocols.

Two sources, tried in this order for each dataset, in one data directory
(``data_dir`` parameter, else ``$JADE_DATA_DIR``, else ``./data``):

1. a **mirror**: ``mnist_train.npz``, ``mnist_test.npz``, ``svhn_train.npz``
   (optional), ``svhn_test.npz`` with arrays ``x`` (uint8), ``y`` (int64,
   digits 0..9) and ``index`` (the official index), as in ``../shared/data``;
   ``jade export`` writes one from the official files;
2. **torchvision**'s ``MNIST``/``SVHN`` classes on the official files under the
   same directory (``MNIST/raw/*-ubyte``, ``train_32x32.mat``,
   ``test_32x32.mat``), downloaded only when ``download=True``.

SVHN protocols (recorded in every run):

- ``paper``: the labelled pool (``labels_per_class`` per class) is drawn from
  the SVHN *train* split; error is measured on the whole SVHN test set.
- ``local`` (``../shared/data/README.md``): where no SVHN train split exists
  (the offline mirror), one fixed cut of the official SVHN test digits 0..7,999:
  the **development part** (official test indices 0..2,499) holds every
  labelled pool and every validation image; the **evaluation part**
  (2,500..7,999, 5,500 digits) gives the reported error only, the same images
  for every seed, variant and label budget.

Validation images (``val_per_class`` per class) are drawn from the images of
the pool's split *outside* the pool (the development part under ``local``),
never from the pool itself: extra labelled data used only for choices.

MNIST: the first 45,000 training images train (the paper's "45K samples"),
the remaining 15,000 validate, the 10,000 test images give the MNIST error.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from .config import DataError, RunConfig
from .split import LOCAL_EVALUATION, protocol_split

SHAPES = {"mnist": (28, 28), "svhn": (3, 32, 32)}
MNIST_TRAIN_SIZE = 45000
MNIST_FULL_TRAIN = 60000  # the official MNIST training split; the paper trains on 45K of it, the rest validates

# sha256 of the four official, uncompressed MNIST IDX files (the names
# torchvision expects under MNIST/raw); a file that differs is refused.
MNIST_RAW_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fingerprint(*arrays) -> str:
    """Short sha256 of the bytes of the arrays: recorded in each run's config."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str(a.shape).encode() + str(a.dtype).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def check_arrays(x, y, dataset: str, where: str):
    """Validate the arrays of one split: dtypes, shapes, labels 0..9."""
    shape = SHAPES[dataset]
    if x.dtype != np.uint8:
        raise DataError(f"{where}: array 'x' must be uint8 pixels 0..255, got {x.dtype}. "
                        "Re-create the file with `jade export`.")
    if tuple(x.shape[1:]) != shape:
        raise DataError(f"{where}: array 'x' must have shape (N, {', '.join(map(str, shape))}), "
                        f"got {tuple(x.shape)}. Re-create the file with `jade export`.")
    if y.dtype != np.int64 or y.ndim != 1 or len(y) != len(x):
        raise DataError(f"{where}: array 'y' must be int64 of shape ({len(x)},), got {y.dtype} {tuple(y.shape)}.")
    if len(y) and (y.min() < 0 or y.max() > 9):
        raise DataError(f"{where}: labels must be digits 0..9 (SVHN's 10 stored as 0), "
                        f"found {y.min()}..{y.max()}.")


def load_npz(path: Path, dataset: str):
    """Load ``x``, ``y``, ``index`` from a mirror file, checked."""
    try:
        with np.load(path) as f:
            missing = {"x", "y"} - set(f.files)
            if missing:
                raise DataError(f"{path}: missing array(s) {sorted(missing)}; a mirror file holds "
                                "'x' (uint8), 'y' (int64) and 'index'. Re-create it with `jade export`.")
            x, y = f["x"], f["y"]
            index = f["index"] if "index" in f.files else np.arange(len(y))
    except DataError:
        raise
    except Exception as e:  # zip/pickle errors: a truncated or foreign file
        raise DataError(f"{path}: not a readable .npz file ({e}). Re-create it with `jade export`.") from e
    check_arrays(x, y, dataset, str(path))
    check_index(index, len(y), str(path))
    return x, y, index


@functools.lru_cache(maxsize=4)
def _load_npz_once(path: str, mtime_ns: int, size: int, dataset: str):
    """:func:`load_npz`, once per file version in a process (a chapter cuts several seeds from one file);
    the arrays come back read-only, so no caller can change another's copy."""
    arrays = load_npz(Path(path), dataset)
    for a in arrays:
        a.flags.writeable = False
    return arrays


def check_index(index, n: int, where: str) -> None:
    """``index`` gives each row's official index: one integer per image, >= 0 and strictly increasing
    (the official order). A permuted or reversed index would make the protocols' cut choose other
    images than the ones they record (the evaluation part as pool), so it is refused."""
    index = np.asarray(index)
    if index.shape != (n,) or not np.issubdtype(index.dtype, np.integer):
        raise DataError(f"{where}: 'index' must hold one integer per image ({n}), got {index.dtype} {index.shape}. "
                        "Re-create the file with `jade export`.")
    if n and (index.min() < 0 or not (np.diff(index) > 0).all()):
        raise DataError(f"{where}: 'index' is not the official order (it must be >= 0 and strictly increasing); "
                        "the rows would not be the images the protocols record. Re-create the file with `jade export`.")


DOWNLOAD_TIMEOUT = 60  # seconds a download may wait for the server before it is given up


@contextlib.contextmanager
def _downloading(what: str, root: Path, download: bool):
    """Around a torchvision call: with ``download``, a socket timeout (a proxy that never answers
    fails after :data:`DOWNLOAD_TIMEOUT` s instead of hanging), and one DataError naming the cause
    for a failed download or a missing file."""
    old = socket.getdefaulttimeout()
    if download:
        socket.setdefaulttimeout(DOWNLOAD_TIMEOUT)
    try:
        yield
    except (RuntimeError, OSError) as e:  # torchvision: "Dataset not found or corrupted" / "Error downloading"
        if download:
            cause = (f" The download failed ({type(e).__name__}: {e}); offline or behind a proxy? Use a mirror "
                     "written by `jade export --download` on a machine with internet.")
        else:
            cause = f" (torchvision: {e}; a present but corrupt file fails its checksum)"
        raise DataError(_not_found(what, root, download) + cause) from e
    finally:
        socket.setdefaulttimeout(old)


def _check_mnist_raw(raw: Path) -> None:
    """Refuse an MNIST IDX file whose sha256 is not the official one (downloaded or copied)."""
    for name, digest in MNIST_RAW_SHA256.items():
        p = raw / name
        if p.exists() and _sha256(p) != digest:
            raise DataError(f"{p} fails its checksum (sha256 differs from the official file). "
                            "Delete it and download again (download=True) or copy the official file.")


def _torchvision_mnist(root: Path, train: bool, download: bool):
    from torchvision.datasets import MNIST  # only when reading a torchvision root
    raw = root / "MNIST" / "raw"
    if raw.is_dir():
        _check_mnist_raw(raw)
    with _downloading("MNIST", root, download):
        ds = MNIST(str(root), train=train, download=download)
    _check_mnist_raw(raw)  # what a download wrote, too
    x = ds.data.numpy().astype(np.uint8)
    y = ds.targets.numpy().astype(np.int64)
    return x, y, np.arange(len(y))


def _torchvision_svhn(root: Path, split: str, download: bool):
    from torchvision.datasets import SVHN  # only when reading a torchvision root
    # torchvision checks the .mat file's md5 after a download and before loading it
    with _downloading(f"SVHN {split}", root, download):
        ds = SVHN(str(root), split=split, download=download)
    x = np.asarray(ds.data, dtype=np.uint8)
    y = np.asarray(ds.labels, dtype=np.int64) % 10
    return x, y, np.arange(len(y))


def _not_found(what: str, root: Path, download: bool) -> str:
    msg = (f"{what} not found in data directory {root}. Put a mirror there (npz files in the layout of "
           "../shared/data, written by `jade export` on a machine with internet) or the official files "
           "under torchvision's names, and pass it as data_dir or $JADE_DATA_DIR")
    if not download:
        msg += ", or allow a download with download=True (--download) when online"
    return msg + "."


def load_split(data_dir, dataset: str, split: str, download: bool = False):
    """Return ``(x, y, index, source)`` for ``dataset`` in {mnist, svhn}, ``split`` in {train, test}.

    ``x`` is uint8, (N, 28, 28) for MNIST and (N, 3, 32, 32) for SVHN.
    """
    root = Path(data_dir)
    if not root.is_dir() and not download:
        raise DataError(f"data directory {root} does not exist. Pass data_dir (or set $JADE_DATA_DIR) to a "
                        "mirror such as ../shared/data, or allow a download with download=True.")
    npz = root / f"{dataset}_{split}.npz"
    if npz.exists():
        st = npz.stat()
        x, y, index = _load_npz_once(str(npz.resolve()), st.st_mtime_ns, st.st_size, dataset)
        return x, y, index, f"mirror:{npz.name}"
    if download:
        root.mkdir(parents=True, exist_ok=True)
    if dataset == "mnist":
        x, y, index = _torchvision_mnist(root, split == "train", download)
    else:
        x, y, index = _torchvision_svhn(root, split, download)
    check_arrays(x, y, dataset, f"torchvision {dataset} {split}")
    return x, y, index, f"torchvision:{dataset}-{split}"


def available_protocols(data_dir, download: bool = False) -> list:
    """The SVHN protocols the data directory allows: ``paper`` needs an SVHN train split."""
    out = []
    for protocol, split in (("paper", "train"), ("local", "test")):
        try:
            load_split(data_dir, "svhn", split, download)
            out.append(protocol)
        except DataError:
            pass
    return out


def to_float(x: np.ndarray) -> torch.Tensor:
    """uint8 pixels to float32 in [0, 1], with a channel axis for MNIST."""
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).div_(255.0)  # a copy: x may be read-only
    return t.unsqueeze(1) if t.ndim == 3 else t


@dataclass
class Splits:
    """Every tensor one run needs, in memory, normalised once."""

    svhn_train: tuple            # (x float (N,3,32,32), y long)
    svhn_val: Optional[tuple]    # val_per_class per class from outside the pool (None when 0)
    svhn_eval: tuple             # the images the SVHN error is reported on
    mnist_train: tuple
    mnist_val: tuple
    mnist_test: tuple
    info: dict                   # protocol, sizes, sources, fingerprints, pool indices


def build_splits(cfg: RunConfig, need_mnist: bool = True) -> Splits:
    """Load the data and cut it as ``cfg.protocol`` says; checks run before any training."""
    info = {"protocol": cfg.protocol}
    if cfg.protocol == "paper":
        sx, sy, sidx, src = load_split(cfg.data_dir, "svhn", "train", cfg.download)
        ex, ey, eidx, esrc = load_split(cfg.data_dir, "svhn", "test", cfg.download)
        info["svhn_source"] = [src, esrc]
        info["evaluation"] = "the whole SVHN test set"
    else:
        sx, sy, sidx, src = load_split(cfg.data_dir, "svhn", "test", cfg.download)
        ex, ey, eidx = sx, sy, sidx
        info["svhn_source"] = [src]
        info["evaluation"] = (f"the evaluation part of the local protocol (official SVHN test indices "
                              f"{LOCAL_EVALUATION[0]}..{LOCAL_EVALUATION[1] - 1})")
    cut = protocol_split(cfg.protocol, sy, sidx, cfg.labels_per_class, cfg.val_per_class, cfg.seed,
                         eval_labels=ey, eval_size=cfg.eval_size)
    pool, val_sel, eval_sel = cut["pool"], cut["val"], cut["eval"]
    train_sel = pool.ravel()
    info.update(
        labels_per_class=cfg.labels_per_class,
        pool_official_index=sidx[train_sel].tolist(),
        val_official_index=sidx[val_sel].tolist(),
        n_svhn_train=len(train_sel), n_svhn_val=len(val_sel), n_svhn_eval=len(eval_sel),
        svhn_train_fingerprint=fingerprint(sx[train_sel], sy[train_sel]),
        svhn_eval_fingerprint=fingerprint(ex[eval_sel], ey[eval_sel]),
        svhn_eval_official_index=[int(eidx[eval_sel].min()), int(eidx[eval_sel].max())] if len(eval_sel) else [],
    )
    svhn = lambda x, y, sel: (to_float(x[sel]), torch.from_numpy(y[sel]))
    splits = dict(
        svhn_train=svhn(sx, sy, train_sel),
        svhn_val=svhn(sx, sy, val_sel) if len(val_sel) else None,
        svhn_eval=svhn(ex, ey, eval_sel),
    )
    if need_mnist:
        mx, my, _, msrc = load_split(cfg.data_dir, "mnist", "train", cfg.download)
        tx, ty, _, tsrc = load_split(cfg.data_dir, "mnist", "test", cfg.download)
        if len(my) <= MNIST_TRAIN_SIZE:
            raise DataError(f"the MNIST training set in {cfg.data_dir} has {len(my)} images; the paper's split "
                            f"needs more than {MNIST_TRAIN_SIZE} (45,000 train, the rest validation). Use the full "
                            "official MNIST (`jade export --download`).")
        for part, labels in (("first 45,000 (training)", my[:MNIST_TRAIN_SIZE]), ("rest (validation)", my[MNIST_TRAIN_SIZE:])):
            if len(np.unique(labels)) < 10:
                raise DataError(f"the {part} MNIST images in {cfg.data_dir} hold only digits "
                                f"{sorted(np.unique(labels).tolist())}: the file is sorted by label or incomplete. "
                                "Use the official MNIST order (`jade export --download`).")
        n_tr = min(cfg.mnist_train_size or MNIST_TRAIN_SIZE, MNIST_TRAIN_SIZE)
        n_val = min(cfg.mnist_val_size or len(my) - MNIST_TRAIN_SIZE, len(my) - MNIST_TRAIN_SIZE)
        n_te = min(cfg.mnist_test_size or len(ty), len(ty))
        splits.update(
            # labels copied (np.array): the loaded arrays are read-only and shared (_load_npz_once)
            mnist_train=(to_float(mx[:n_tr]), torch.from_numpy(np.array(my[:n_tr]))),
            mnist_val=(to_float(mx[MNIST_TRAIN_SIZE:MNIST_TRAIN_SIZE + n_val]),
                       torch.from_numpy(np.array(my[MNIST_TRAIN_SIZE:MNIST_TRAIN_SIZE + n_val]))),
            mnist_test=(to_float(tx[:n_te]), torch.from_numpy(np.array(ty[:n_te]))),
        )
        info.update(mnist_source=[msrc, tsrc], n_mnist_train=n_tr, n_mnist_val=n_val, n_mnist_test=n_te,
                    mnist_train_fingerprint=fingerprint(mx[:n_tr], my[:n_tr]),
                    mnist_test_fingerprint=fingerprint(tx[:n_te], ty[:n_te]))
    else:
        splits.update(mnist_train=None, mnist_val=None, mnist_test=None)
    return Splits(info=info, **splits)


def export_mirror(out_dir, data_dir=None, download: bool = False) -> list:
    """Write a mirror (``<dataset>_<split>.npz``) from the official files via torchvision.

    Run it once on a machine with internet (``download=True``), then copy
    ``out_dir`` to the offline machine and point ``data_dir`` at it. Splits
    that cannot be had are skipped and reported.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    src = Path(data_dir) if data_dir else out
    written = []
    for dataset, split in (("mnist", "train"), ("mnist", "test"), ("svhn", "train"), ("svhn", "test")):
        target = out / f"{dataset}_{split}.npz"
        try:
            if dataset == "mnist":
                x, y, index = _torchvision_mnist(src, split == "train", download)
            else:
                x, y, index = _torchvision_svhn(src, split, download)
        except DataError as e:
            written.append((str(target), f"skipped: {e}"))
            continue
        tmp = target.with_suffix(".tmp.npz")
        np.savez(tmp, x=x, y=y, index=index)
        tmp.replace(target)
        written.append((str(target), f"{len(y)} images"))
    return written
