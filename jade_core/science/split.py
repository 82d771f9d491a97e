"""Which SVHN images a run learns from, validates on and is scored on: the split logic, pure numpy.

- :func:`select_pool`: the labelled pool, ``labels_per_class`` images of each digit, chosen by the seed;
- :func:`select_validation`: validation images outside the pool, from a separate random stream;
- :func:`local_parts` / :func:`protocol_split`: the protocols. ``local`` is the fixed cut of
  ``../shared/data/README.md``: every pool and validation image from the development part
  (official SVHN test indices 0..2,499), the reported error on the evaluation part
  (2,500..7,999), the same for every seed, model and budget. ``paper``: pool and validation
  from the SVHN train split, error on the whole test split.

Nothing here reads files or tensors: :mod:`jade_core.science.data` loads the images and applies these positions.
"""
from __future__ import annotations

import numpy as np

from .config import DataError

# The fixed cut of the local protocol, in official SVHN test indices.
LOCAL_DEVELOPMENT = (0, 2500)     # pools and validation images
LOCAL_EVALUATION = (2500, 8000)   # reported error only


def select_pool(labels: np.ndarray, per_class: int, seed: int, where: str = "SVHN") -> np.ndarray:
    """Positions (in ``labels``) of a class-balanced labelled pool: ``per_class`` images of each digit.

    Chosen by ``seed`` alone (numpy's PCG64), so the same seed gives the same
    pool on every machine. Returned as (10, per_class), row c holding digit c
    in the order drawn.
    """
    rng = np.random.default_rng(seed)
    out = []
    for c in range(10):
        idx = np.flatnonzero(labels == c)
        if per_class > len(idx):
            raise DataError(f"labels_per_class={per_class} but {where} has only {len(idx)} images of digit {c}. "
                            f"Choose labels_per_class <= {min(np.bincount(labels, minlength=10))}.")
        out.append(rng.choice(idx, size=per_class, replace=False))
    return np.stack(out)  # (10, per_class)


def select_validation(labels: np.ndarray, exclude: np.ndarray, per_class: int, seed: int,
                      where: str = "SVHN") -> np.ndarray:
    """Positions of ``per_class`` validation images of each digit, none of them in ``exclude`` (the pool).

    A separate random stream from the pool's (seeded by ``seed`` and a fixed
    tag), so the pool of a seed does not depend on ``per_class``.
    """
    rng = np.random.default_rng([seed, 0x7A1])
    free = np.ones(len(labels), dtype=bool)
    free[np.asarray(exclude, dtype=int).ravel()] = False
    out = []
    for c in range(10):
        idx = np.flatnonzero((labels == c) & free)
        if per_class > len(idx):
            raise DataError(f"val_per_class={per_class} but {where} has only {len(idx)} images of digit {c} "
                            f"left outside the labelled pool. Choose val_per_class <= {len(idx)} "
                            "or a smaller labels_per_class.")
        out.append(rng.choice(idx, size=per_class, replace=False))
    return np.concatenate(out).astype(int)  # ten arrays, empty ones included when per_class is 0


def local_parts(official_index: np.ndarray) -> tuple:
    """Positions of the development and evaluation parts of the local protocol's fixed cut."""
    official_index = np.asarray(official_index)
    dev = np.flatnonzero((official_index >= LOCAL_DEVELOPMENT[0]) & (official_index < LOCAL_DEVELOPMENT[1]))
    ev = np.flatnonzero((official_index >= LOCAL_EVALUATION[0]) & (official_index < LOCAL_EVALUATION[1]))
    return dev, ev


def protocol_split(protocol: str, labels: np.ndarray, official_index: np.ndarray, labels_per_class: int,
                   val_per_class: int, seed: int, eval_labels: np.ndarray | None = None,
                   eval_size: int | None = None) -> dict:
    """The SVHN split of one run: positions of ``pool`` (10, k), ``val`` and ``eval``.

    ``local``: ``labels``/``official_index`` are the SVHN test digits of the
    mirror; pool and validation come from the development part, evaluation is
    the whole evaluation part (or a fixed, seed-independent subset of
    ``eval_size``), the same for every seed and budget.
    ``paper``: ``labels`` is the SVHN train split (pool and validation), and the
    evaluation is every image of the test split (``eval_labels``).
    """
    if protocol == "local":
        dev, ev = local_parts(official_index)
        if len(ev) == 0:
            raise DataError("the SVHN test digits hold no image of the local protocol's evaluation part "
                            f"(official test indices {LOCAL_EVALUATION[0]}..{LOCAL_EVALUATION[1] - 1}). "
                            "Use the mirror of ../shared/data or the official test_32x32.mat.")
        where = f"the development part (official SVHN test indices {LOCAL_DEVELOPMENT[0]}..{LOCAL_DEVELOPMENT[1] - 1})"
        pool = dev[select_pool(labels[dev], labels_per_class, seed, where)]
        val = dev[select_validation(labels[dev], np.searchsorted(dev, pool.ravel()), val_per_class, seed, where)]
    else:
        pool = select_pool(labels, labels_per_class, seed, "the SVHN train split")
        val = select_validation(labels, pool.ravel(), val_per_class, seed, "the SVHN train split")
        ev = np.arange(len(eval_labels if eval_labels is not None else labels))
    if eval_size is not None and eval_size < len(ev):
        # a fixed, seed-independent subset so smoke runs of every seed share it
        ev = np.sort(np.random.default_rng(12345).choice(ev, eval_size, replace=False))
    return {"pool": pool, "val": val, "eval": ev}
