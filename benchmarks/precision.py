"""Which precision and memory format is fast on *this* CPU, and what the default picks.

Measured side by side in one process, interleaved round by round so that a
change in the machine's load hits every combination alike:

- the training step (batch 64 SVHN + 256 MNIST, the committed loss weights) of
  each variant under fp32 / bf16 autocast and contiguous / channels-last memory,
  at the thread count the runs use (``RunConfig.threads``, 1);
- the evaluation pass (1,000 SVHN images through the classifier) under the same
  four combinations;
- the CPU's bf16 hardware, read from ``/proc/cpuinfo`` (AMX, AVX512-BF16, none);
- the configuration's default (``RunConfig.precision``, ``RunConfig.channels_last``)
  against the fastest combination measured, per variant, and the whole paper
  grid's training time estimated from the default's step times.

    python benchmarks/precision.py [--steps 8] [--rounds 3] [--out results/precision/<cpu>.json]

The output goes to ``results/precision/<cpu-label>.json``, one file per CPU kind,
so figures from different machines are never mixed.
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import time

import torch
from jade_core.science.config import RunConfig, resolve_config
from jade_core.science.data import load_split, to_float
from jade_core.science.evaluate import predict
from jade_core.science.train import ClassMatchedSampler

from record import write_result
from steps import make_step

COMBOS = (("fp32", False), ("fp32", True), ("bf16", False), ("bf16", True))


def cpu_info() -> dict:
    """Model name and the bf16-relevant flags of this CPU (Linux /proc/cpuinfo; empty elsewhere)."""
    text = open("/proc/cpuinfo").read() if os.path.exists("/proc/cpuinfo") else ""
    name = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    flags = set((re.search(r"^flags\s*:\s*(.+)$", text, re.M) or [None, ""])[1].split())
    bf16 = "amx" if {"amx_bf16", "amx_tile"} <= flags else "avx512_bf16" if "avx512_bf16" in flags else "none"
    return {"model_name": name.group(1).strip() if name else platform.processor() or platform.machine(),
            "bf16_hardware": bf16, "avx512f": "avx512f" in flags, "avx2": "avx2" in flags,
            "logical_cpus": os.cpu_count()}


def cpu_label(info: dict) -> str:
    """A file name for this CPU kind, e.g. ``amd-epyc-avx512_bf16``."""
    name = re.sub(r"[^a-z0-9]+", "-", info["model_name"].lower()).strip("-")
    name = re.sub(r"-(processor|cpu|with-radeon.*)$", "", name)
    return f"{name}-{info['bf16_hardware']}"


def combo_key(precision: str, channels_last: bool) -> str:
    return f"{precision}/{'channels_last' if channels_last else 'contiguous'}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=8, help="training steps per combination and round")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the median round is reported")
    ap.add_argument("--threads", type=int, default=RunConfig.threads)
    ap.add_argument("--data-dir", default=os.environ.get("JADE_DATA_DIR", "data"))
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    info = cpu_info()
    print(f"CPU: {info['model_name']} (bf16 hardware: {info['bf16_hardware']}), {a.threads} thread(s)", flush=True)

    cfg = resolve_config("jade", data_dir=a.data_dir)  # the committed loss weights and batch sizes
    sx, sy, _, _ = load_split(a.data_dir, "svhn", "test")
    mx, my, _, _ = load_split(a.data_dir, "mnist", "train")
    sx, sy = to_float(sx[:1000]), torch.from_numpy(sy[:1000])
    mx, my = to_float(mx[:45000]), torch.from_numpy(my[:45000])
    g = torch.Generator().manual_seed(0)
    sampler = ClassMatchedSampler(my, g)

    def batch():
        i = torch.randint(0, len(sy), (cfg.batch_size,), generator=g)
        j = sampler(sy[i], cfg.mnist_batch_size)
        return sx[i], sy[i], mx[j], my[j]

    steps = {(v, p, c): make_step(v, p, c, a.data_dir) for v in ("single", "paired", "jade") for p, c in COMBOS}
    for _, step in steps.values():  # warm-up: oneDNN picks its kernels on the first calls
        for _ in range(2):
            step(*batch())
    train_ms = {k: [] for k in steps}
    eval_ms = {k: [] for k in steps}
    for r in range(a.rounds):
        for k, (model, step) in steps.items():
            t = time.perf_counter()
            for _ in range(a.steps):
                step(*batch())
            train_ms[k].append((time.perf_counter() - t) / a.steps * 1000)
            t = time.perf_counter()
            predict(model, sx, "svhn", k[1], k[2])
            eval_ms[k].append((time.perf_counter() - t) * 1000)
        print(f"round {r + 1}/{a.rounds} done", flush=True)

    default = (RunConfig.precision, RunConfig.channels_last)
    res = {"machine": {**info, "threads": a.threads, "torch": torch.__version__, "python": platform.python_version()},
           "default": combo_key(*default), "steps_per_round": a.steps, "rounds": a.rounds,
           "train_ms_per_step": {}, "eval_ms_per_1000_svhn": {}, "default_vs_fastest": {}}
    for v in ("single", "paired", "jade"):
        tr = {combo_key(p, c): statistics.median(train_ms[(v, p, c)]) for p, c in COMBOS}
        ev = {combo_key(p, c): statistics.median(eval_ms[(v, p, c)]) for p, c in COMBOS}
        res["train_ms_per_step"][v], res["eval_ms_per_1000_svhn"][v] = tr, ev
        fastest = min(tr, key=tr.get)
        res["default_vs_fastest"][v] = {"fastest": fastest, "ratio": tr[combo_key(*default)] / tr[fastest],
                                        "bf16_gain_over_default": tr[combo_key(*default)] / min(
                                            tr["bf16/contiguous"], tr["bf16/channels_last"])}
        print(f"{v:7s} " + "  ".join(f"{k} {ms:7.1f}" for k, ms in tr.items())
              + f"   eval {ev[combo_key(*default)]:.0f} ms; default/fastest {res['default_vs_fastest'][v]['ratio']:.2f}")
    # The paper grid of Table 1 (3 models x 10 seeds + the w_match = 0 ablation x 10 seeds), at the default
    pcfg = resolve_config("jade", data_dir=a.data_dir)
    n_steps = pcfg.epochs * pcfg.steps_per_epoch
    runs = {"single": 10, "paired": 10, "jade": 20}
    hours = sum(n * n_steps * res["train_ms_per_step"][v][combo_key(*default)] for v, n in runs.items()) / 3.6e6
    res["paper_table1_grid"] = {"runs": runs, "steps_per_run": n_steps, "training_hours_one_worker": hours,
                                "jade_run_minutes": n_steps * res["train_ms_per_step"]["jade"][combo_key(*default)] / 6e4}
    print(f"Table 1 grid at the default: {hours:.1f} h of training steps for one 1-thread worker "
          f"(one JADE run {res['paper_table1_grid']['jade_run_minutes']:.1f} min; evaluation not included)")
    write_result(res, a.out or f"results/precision/{cpu_label(info)}.json")


if __name__ == "__main__":
    main()
