"""Hyper-parameter choices on validation data only.

Each candidate trains on 80 labelled SVHN images per class and reports the
error on the other 20 per class of the labelled pool (``val_per_class=20``)
and on MNIST's 15,000 validation images, every 5 epochs; the evaluation
images are never looked at (their error is computed by ``train`` and written,
but this script and the book's choice ignore it). Results go to
``results/tuning/<name>/`` and are committed as the evidence for the choices.

    python benchmarks/tune.py                 # all candidates, reusing finished ones
    python benchmarks/tune.py jade-wcls-300   # one candidate
"""
from __future__ import annotations

import sys

import torch

from jade_core.config import resolve_config
from jade_core.runs import load_run
from jade_core.train import train

BASE = dict(protocol="local", seed=0, val_per_class=20, epochs=150, eval_every=5)
CANDIDATES = {
    # w_cls is JADE's only; the classifier candidates carry the value they were run with
    "single": dict(variant="single", w_cls=1.0),
    "paired": dict(variant="paired", w_cls=1.0),
    "jade-wcls-1": dict(variant="jade", w_cls=1.0),       # Eq. 2 exactly as written
    "jade-wcls-30": dict(variant="jade", w_cls=30.0),
    "jade-wcls-300": dict(variant="jade", w_cls=300.0),
    "jade-wcls-3000": dict(variant="jade", w_cls=3000.0),
    "jade-wcls-30000": dict(variant="jade", w_cls=30000.0),
    "paired-mb256": dict(variant="paired", mnist_batch_size=256, w_cls=1.0),  # 4x more MNIST images per step
    "jade-wcls-30000-mb256": dict(variant="jade", w_cls=30000.0, mnist_batch_size=256),
}


def run(name, threads=None):
    if threads:
        torch.set_num_threads(threads)
    kw = {**BASE, **CANDIDATES[name]}
    cfg = resolve_config(kw.pop("variant"), "paper", output_dir=f"results/tuning/{name}", **kw)
    r = load_run(train(cfg, progress=False))
    best = r.curve.dropna(subset=["svhn_val_error"])
    print(f"{name}: final SVHN val {r.metrics['svhn_val']['error']:.1f} %, best {best.svhn_val_error.min():.1f} % "
          f"at epoch {int(best.epoch[best.svhn_val_error.idxmin()])}"
          + (f", MNIST val {r.metrics['mnist_val']['error']:.2f} %" if "mnist_val" in r.metrics else ""), flush=True)


if __name__ == "__main__":
    names = sys.argv[1:] or list(CANDIDATES)
    for n in names:
        run(n)
