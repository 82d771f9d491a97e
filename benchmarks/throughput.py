"""Training throughput of each variant, against the machine's matmul peak and a naive loop.

Measures, in one run on the same machine:

- the matrix-multiply peak (fp32 and bf16, 2048 x 2048 torch.mm), GFLOP/s;
- ``jade_core``'s training step for each variant (in-memory tensors, bf16
  autocast, channels-last: the committed configuration), and the same step in
  fp32 / contiguous memory, in images per second (SVHN + MNIST images);
- a naive reference for the JADE step: torchvision ``MNIST`` and an SVHN
  ``Dataset`` with per-sample ``ToTensor``/``Normalize`` transforms through a
  ``DataLoader``, fp32;
- the FLOPs of one JADE step (torch's FlopCounterMode), hence the fraction of
  the bf16 peak that the step achieves.

    python benchmarks/throughput.py [--steps 30] [--out results/benchmark.json]
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import torch
from jade_core.science.config import resolve_config
from jade_core.science.data import load_split, to_float
from jade_core.science.models import build_model
from jade_core.science.train import ClassMatchedSampler, variant_loss
from torch.utils.flop_counter import FlopCounterMode

from record import write_result
from steps import make_step

B = 64


def matmul_peak(dtype, n=2048, reps=20):
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    for _ in range(3):
        a @ b
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n**3 * reps / (time.perf_counter() - t) / 1e9


def time_in_memory(variant, precision, channels_last, data, steps):
    sx, sy, mx, my = data
    _, step = make_step(variant, precision, channels_last)
    g = torch.Generator().manual_seed(0)
    sampler = ClassMatchedSampler(my, g)

    def batch():  # indexing included, as in training; MNIST rows class-matched to SVHN rows
        i = torch.randint(0, len(sy), (B,), generator=g)
        j = sampler(sy[i], B)
        return sx[i], sy[i], mx[j], my[j]
    for _ in range(3):
        step(*batch())
    t = time.perf_counter()
    for _ in range(steps):
        step(*batch())
    dt = (time.perf_counter() - t) / steps
    per_step = B if variant == "single" else 2 * B
    return per_step / dt, dt


def time_naive_jade(data_dir, steps):
    """torchvision datasets + per-sample transforms + DataLoader, fp32, contiguous."""
    from torch.utils.data import DataLoader, Dataset
    from torchvision import datasets, transforms

    class SVHNArrays(Dataset):
        def __init__(self, x, y, transform):
            self.x, self.y, self.t = x.transpose(0, 2, 3, 1), y, transform

        def __len__(self):
            return len(self.y)

        def __getitem__(self, i):
            return self.t(self.x[i]), int(self.y[i])

    sx, sy, _, _ = load_split(data_dir, "svhn", "test")
    svhn = SVHNArrays(sx[:1000], sy[:1000], transforms.Compose([transforms.ToTensor()]))
    mnist = datasets.MNIST(data_dir, train=True, download=False, transform=transforms.Compose([transforms.ToTensor()]))
    ls_ = DataLoader(svhn, batch_size=B, shuffle=True, drop_last=True)
    lm_ = DataLoader(mnist, batch_size=B, shuffle=True, drop_last=True)
    model = build_model("jade")
    cfg = resolve_config("jade", data_dir=data_dir)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    its, itm = iter(ls_), iter(lm_)

    def step():
        nonlocal its, itm
        try:
            xs, ys = next(its)
        except StopIteration:
            its = iter(ls_)
            xs, ys = next(its)
        xm, ym = next(itm)
        # MNIST labels set to the SVHN ones: the class-matching check passes; timing is unaffected
        loss, _ = variant_loss(cfg, model, xs, ys, xm, ys.clone())
        opt.zero_grad()
        loss.backward()
        opt.step()
    for _ in range(3):
        step()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    dt = (time.perf_counter() - t) / steps
    return 2 * B / dt, dt


def jade_step_flops(precision, channels_last, data):
    sx, sy, mx, my = data
    _, step = make_step("jade", precision, channels_last)
    with FlopCounterMode(display=False) as fc:
        step(sx[:B], sy[:B], mx[:B], sy[:B].clone())
    return fc.get_total_flops()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--data-dir", default=os.environ.get("JADE_DATA_DIR", "data"))
    ap.add_argument("--out", default="results/benchmark.json")
    a = ap.parse_args()
    sx, sy, _, _ = load_split(a.data_dir, "svhn", "test")
    mx, my, _, _ = load_split(a.data_dir, "mnist", "train")
    data = (to_float(sx[:1000]), torch.from_numpy(sy[:1000]), to_float(mx[:45000]), torch.from_numpy(my[:45000]))
    res = {"machine": {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
                       "torch": torch.__version__},
           "matmul_gflops": {"fp32": matmul_peak(torch.float32), "bf16": matmul_peak(torch.bfloat16)}}
    print(f"matmul peak: fp32 {res['matmul_gflops']['fp32']:.0f} GFLOP/s, bf16 {res['matmul_gflops']['bf16']:.0f} GFLOP/s")
    res["steps"] = {}
    for variant in ("single", "paired", "jade"):
        for precision, cl in (("bf16", True), ("fp32", False)):
            ips, dt = time_in_memory(variant, precision, cl, data, a.steps)
            key = f"{variant}/{precision}{'/channels_last' if cl else ''}"
            res["steps"][key] = {"images_per_s": ips, "ms_per_step": dt * 1000}
            print(f"{key:28s} {ips:8.0f} images/s  {dt * 1000:6.1f} ms/step", flush=True)
    ips, dt = time_naive_jade(a.data_dir, a.steps)
    res["steps"]["jade/naive-dataloader-fp32"] = {"images_per_s": ips, "ms_per_step": dt * 1000}
    print(f"{'jade/naive-dataloader-fp32':28s} {ips:8.0f} images/s  {dt * 1000:6.1f} ms/step")
    flops = jade_step_flops("bf16", True, data)
    fast = res["steps"]["jade/bf16/channels_last"]
    achieved = flops / (fast["ms_per_step"] / 1000) / 1e9
    res["jade_step"] = {"gflop_per_step": flops / 1e9, "achieved_gflops": achieved,
                        "fraction_of_bf16_peak": achieved / res["matmul_gflops"]["bf16"],
                        "speedup_vs_naive": fast["images_per_s"] / ips,
                        "speedup_vs_fp32_in_memory": fast["images_per_s"] / res["steps"]["jade/fp32"]["images_per_s"]}
    j = res["jade_step"]
    print(f"JADE step: {j['gflop_per_step']:.2f} GFLOP, {achieved:.0f} GFLOP/s achieved = "
          f"{100 * j['fraction_of_bf16_peak']:.1f} % of the bf16 matmul peak; "
          f"{j['speedup_vs_naive']:.2f}x the naive loop, {j['speedup_vs_fp32_in_memory']:.2f}x fp32 in memory")
    write_result(res, a.out, sort_keys=True)


if __name__ == "__main__":
    main()
