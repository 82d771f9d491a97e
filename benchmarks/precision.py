"""Which precision and memory format is fast on *this* CPU and on the CPU kinds it can emulate, what the
default picks, and how close each step runs to the machine's limit.

Each CPU kind is measured in its own process: the native one, and the kinds held to an older instruction set
through PyTorch's back ends (oneDNN ``ONEDNN_MAX_CPU_ISA``, ATen ``ATEN_CPU_CAPABILITY``, MKL
``MKL_ENABLE_INSTRUCTIONS``): ``avx2`` behaves like a CPU without AVX-512 or bf16 instructions (an AMD Zen 3,
an older laptop), ``avx512_core`` like AVX-512 without bf16 (a Skylake server). The ATen capability each
process really ran with is recorded. Within a process, measured side by side, interleaved round by round so
that a change in the machine's load hits every combination alike:

- the training step (the committed batch sizes and loss weights: ``RunConfig``) of
  each variant under fp32 / bf16 autocast and contiguous / channels-last memory,
  at the thread count the runs use (``RunConfig.threads``, 1);
- the FLOPs of one training step of each variant (``torch.utils.flop_counter``), the process's one-thread
  fp32 peak (a 2048³ matmul) and the fraction of that peak each variant's default step reaches;
- the evaluation pass (1,000 SVHN images through the classifier) under the same
  four combinations;
- the CPU's bf16 hardware, read from ``/proc/cpuinfo`` (AMX, AVX512-BF16, none);
- the configuration's default (``RunConfig.precision``, ``RunConfig.channels_last``)
  against the fastest combination measured, per variant, and the whole paper
  grid's training time estimated from the default's step times.

    python benchmarks/precision.py [--kind all|native|avx2|avx512_core] [--steps 8] [--rounds 3]

The output goes to ``results/precision/<cpu-label>.json`` (``...-emulated-<kind>.json`` for an emulated
kind), one file per CPU kind, so figures from different machines are never mixed.
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import time

import torch
from jade_core.science.config import RunConfig, resolve_config
from jade_core.science.data import load_split, to_float
from jade_core.science.evaluate import predict
from jade_core.science.train import ClassMatchedSampler

from record import write_result
from steps import make_step

COMBOS = (("fp32", False), ("fp32", True), ("bf16", False), ("bf16", True))
# The CPU kinds measured: the native one, and older instruction sets emulated by holding the back ends to them.
KINDS = {"native": {},
         "avx2": {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"},
         "avx512_core": {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE", "ATEN_CPU_CAPABILITY": "avx512",
                         "MKL_ENABLE_INSTRUCTIONS": "AVX512"}}


def fp32_peak_gflops(n: int = 2048, repeats: int = 3) -> float:
    """This process's fp32 matmul rate (GFLOP/s) at the current thread count: the best of ``repeats``."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best / 1e9


def step_flops(step, batch) -> int:
    """FLOPs of one training step (forward and backward), counted by torch.utils.flop_counter."""
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter:
        step(*batch)
    return int(counter.get_total_flops())


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
    ap.add_argument("--kind", default="all", choices=("all", *KINDS), help="the CPU kind to measure (all: each in "
                    "its own process, the native one and the emulated ones)")
    ap.add_argument("--steps", type=int, default=8, help="training steps per combination and round")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the median round is reported")
    ap.add_argument("--threads", type=int, default=RunConfig.threads)
    ap.add_argument("--data-dir", default=os.environ.get("JADE_DATA_DIR", "data"))
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    if a.kind == "all":  # each kind in a fresh process: the back ends read these variables once, at start
        for kind, env in KINDS.items():
            argv = [sys.executable, __file__, "--kind", kind, "--steps", str(a.steps), "--rounds", str(a.rounds),
                    "--threads", str(a.threads), "--data-dir", a.data_dir]
            subprocess.run(argv, env={**os.environ, **env}, check=True)
        return
    measure(a)


def measure(a):
    torch.set_num_threads(a.threads)
    info = cpu_info()
    info["kind"] = a.kind
    info["emulated"] = a.kind != "native"
    info["aten_capability"] = torch.backends.cpu.get_cpu_capability()
    info["environment"] = {k: os.environ.get(k) for k in KINDS["avx2"]}
    print(f"CPU: {info['model_name']} (bf16 hardware: {info['bf16_hardware']}), kind {a.kind}"
          f"{' (emulated)' if info['emulated'] else ''}, ATen {info['aten_capability']}, {a.threads} thread(s)",
          flush=True)

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
    flops = {v: step_flops(steps[(v, "fp32", True)][1], batch()) for v in ("single", "paired", "jade")}
    peak = fp32_peak_gflops()
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
           "batch": {"svhn": cfg.batch_size, "mnist": cfg.mnist_batch_size},
           "train_ms_per_step": {}, "eval_ms_per_1000_svhn": {}, "default_vs_fastest": {},
           "fp32_peak_gflops": peak, "gflop_per_step": {v: f / 1e9 for v, f in flops.items()}, "fraction_of_peak": {}}
    for v in ("single", "paired", "jade"):
        tr = {combo_key(p, c): statistics.median(train_ms[(v, p, c)]) for p, c in COMBOS}
        ev = {combo_key(p, c): statistics.median(eval_ms[(v, p, c)]) for p, c in COMBOS}
        res["train_ms_per_step"][v], res["eval_ms_per_1000_svhn"][v] = tr, ev
        fastest = min(tr, key=tr.get)
        fp32 = {k: t for k, t in tr.items() if k.startswith("fp32")}
        res["default_vs_fastest"][v] = {"fastest": fastest, "ratio": tr[combo_key(*default)] / tr[fastest],
                                        "fastest_fp32": min(fp32, key=fp32.get),
                                        "ratio_to_fastest_fp32": tr[combo_key(*default)] / min(fp32.values()),
                                        "bf16_gain_over_default": tr[combo_key(*default)] / min(
                                            tr["bf16/contiguous"], tr["bf16/channels_last"])}
        res["fraction_of_peak"][v] = flops[v] / 1e9 / (tr[combo_key(*default)] / 1000) / peak
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
    print("fraction of the fp32 peak (%.0f GFLOP/s) at the default: " % peak
          + ", ".join(f"{v} {f:.2f}" for v, f in res["fraction_of_peak"].items()), flush=True)
    label = cpu_label(info) + ("" if a.kind == "native" else f"-emulated-{a.kind}")
    write_result(res, a.out or f"results/precision/{label}.json")


if __name__ == "__main__":
    main()
