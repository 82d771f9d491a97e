"""Runs per hour: the serial ``jade train`` loop against ``jade sweep``'s local workers, side by side.

The same small matrix (single, paired and JADE, the paper profile at a reduced number of epochs,
``--seeds`` seeds each) is trained twice on an otherwise idle machine, each time into a fresh
temporary folder:

- **serial**: one run after another in this process, as the ``jade train`` loop does, each run
  with ``threads = cores`` (torch's default: every core for one run);
- **workers**: :func:`jade_core.experiments.sweep.run_all` with ``cores`` worker processes, each run with
  ``threads = 1`` (the profile default).

Runs per hour = runs / wall time; the ratio is the speed-up of the sweep over the serial loop.
(The thread count is part of a run's configuration, so the two halves are different runs.)

    python benchmarks/sweep_throughput.py [--epochs 10] [--seeds 2] [--out results/sweep-benchmark.json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time

import torch
from jade_core.experiments.lifecycle import train
from jade_core.experiments.sweep import run_all
from jade_core.science.config import VARIANTS, resolve_config

from record import write_result


def matrix(epochs, seeds, threads, out, data_dir):
    return [dict(variant=v, seed=s, profile="paper", epochs=epochs, threads=threads, output_dir=out,
                 data_dir=data_dir) for s in range(seeds) for v in VARIANTS]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", default="results/sweep-benchmark.json")
    a = ap.parse_args()
    cores = os.cpu_count() or 1
    result = {"machine": platform.processor() or platform.machine(), "cores": cores,
              "torch": torch.__version__, "epochs": a.epochs, "seeds": a.seeds,
              "runs": a.seeds * len(VARIANTS)}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.time()
        for kw in matrix(a.epochs, a.seeds, cores, f"{tmp}/serial", a.data_dir):
            train(resolve_config(**kw), progress=False)
        serial = time.time() - t0
        t0 = time.time()
        done = run_all(matrix(a.epochs, a.seeds, 1, f"{tmp}/workers", a.data_dir), workers=cores,
                       label="benchmark")
        workers = time.time() - t0
        if any(r["status"] != "done" for r in done):
            raise SystemExit(f"a benchmark run failed: {done}")
    n = result["runs"]
    result.update({
        "serial": {"threads_per_run": cores, "processes": 1, "seconds": round(serial, 1),
                   "runs_per_hour": round(3600 * n / serial, 1)},
        "workers": {"threads_per_run": 1, "processes": cores, "seconds": round(workers, 1),
                    "runs_per_hour": round(3600 * n / workers, 1)},
        "speedup": round(serial / workers, 2),
    })
    print(json.dumps(result, indent=1))
    write_result(result, a.out)


if __name__ == "__main__":
    main()
