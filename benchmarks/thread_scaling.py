"""How far can worker processes beat one multi-threaded run on this machine? The ceiling of the sweep.

For each model, the training step of the paper profile (the variant's loss, backward, Adam step; SVHN
batch 64, MNIST batch 256, random images of the real shapes) is timed in three set-ups on an
otherwise idle machine:

- ``alone_all_threads``: one process, ``threads = cores`` (the serial ``jade train`` loop);
- ``alone_1_thread``: one process, one thread;
- ``workers_1_thread``: ``cores`` processes at once, one thread each (the sweep's local workers);
  steps per second summed over the processes.

``ceiling = workers_1_thread / alone_all_threads`` bounds the runs-per-hour speed-up any scheduling
of 1-thread workers can reach over the serial loop for runs made only of this step (evaluation, data
loading and process start-up come on top).

``matrix_ceiling``: the same bound for a matrix with one run of each model, all of the same number
of steps (Table 1: 2,400 each), = the serial time of the three / their time on the workers.

    python benchmarks/thread_scaling.py [--steps 60] [--out results/thread-scaling.json]
"""
from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

from record import write_result

VARIANTS = ("single", "paired", "jade")


def steps_per_second(variant: str, threads: int, steps: int, start_at: float = 0.0) -> float:
    """Steps per second of ``steps`` training steps of ``variant`` at ``threads`` torch threads
    (after 5 warm-up steps; ``start_at``: a shared wall-clock start, so concurrent processes overlap)."""
    import torch
    from jade_core.science.config import resolve_config
    from jade_core.science.models import build_model
    from jade_core.science.train import variant_loss
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cfg = resolve_config(variant=variant, profile="paper")
    model = build_model(variant)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    xs, ls = torch.rand(cfg.batch_size, 3, 32, 32), torch.randint(0, 10, (cfg.batch_size,))
    xm, lm = torch.rand(cfg.mnist_batch_size, 1, 28, 28), torch.randint(0, 10, (cfg.mnist_batch_size,))
    lm[:cfg.batch_size] = ls  # the first MNIST rows are class-matched to the SVHN batch (Eq. 2)
    kw = {} if variant == "single" else {"xm": xm, "lm": lm}

    def step():
        opt.zero_grad()
        out = variant_loss(cfg, model, xs, ls, **kw)
        (out[0] if isinstance(out, tuple) else out).backward()
        opt.step()
    for _ in range(5):
        step()
    while time.time() < start_at:
        time.sleep(0.01)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return steps / (time.perf_counter() - t0)


def matrix_ceiling(variants: dict, cores: int) -> float:
    """Serial time / workers' time of one equal-length run of each model, from the measured rates:
    serial = sum of 1 / alone_all_threads; workers = sum of 1 / (workers_1_thread / cores), shared by
    ``cores`` processes."""
    serial = sum(1 / r["alone_all_threads"] for r in variants.values())
    workers = sum(cores / r["workers_1_thread"] for r in variants.values()) / cores
    return round(serial / workers, 2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--out", default="results/thread-scaling.json")
    a = ap.parse_args()
    cores = os.cpu_count() or 1
    result = {"cores": cores, "steps": a.steps, "variants": {}}
    with ProcessPoolExecutor(max_workers=cores, mp_context=get_context("spawn")) as pool:
        for v in VARIANTS:
            # each set-up in fresh worker processes of the pool, one after the other
            alone_all = pool.submit(steps_per_second, v, cores, a.steps).result()
            alone_1 = pool.submit(steps_per_second, v, 1, a.steps).result()
            start = time.time() + 3.0
            together = [f.result() for f in [pool.submit(steps_per_second, v, 1, a.steps, start)
                                             for _ in range(cores)]]
            r = {"alone_all_threads": round(alone_all, 2), "alone_1_thread": round(alone_1, 2),
                 "workers_1_thread": round(sum(together), 2),
                 "thread_speedup": round(alone_all / alone_1, 2),
                 "ceiling": round(sum(together) / alone_all, 2)}
            result["variants"][v] = r
            print(v, r, flush=True)
    result["matrix_ceiling"] = matrix_ceiling(result["variants"], cores)
    print(json.dumps(result, indent=1))
    write_result(result, a.out)


if __name__ == "__main__":
    main()
