"""Paste the generated blocks between their markers: the claims record and `jade table` (from results/) in the
top-level README, the recorded precision benchmarks (results/precision/*.json) in benchmarks/README.md."""
import json
import re
from pathlib import Path

from jade_core.experiments.runs import collect_table1
from jade_core.experiments.studies import table1_without_warmup
from jade_core.reporting import claims
from jade_core.reporting.report import markdown_table1

ROOT = Path(__file__).resolve().parents[1]


def precision_block(folder=ROOT / "results" / "precision") -> str:
    """One table per recorded CPU kind (benchmarks/precision.py), native first: ms per training step of each
    model under each precision and memory format, the default's ratio to the fastest fp32 combination and to
    the fastest overall, the fraction of the measured one-thread fp32 peak the default step reaches, and the
    Table 1 grid's estimated time."""
    out = []
    files = sorted(Path(folder).glob("*.json"), key=lambda f: ("emulated" in f.name, f.name))
    for f in files:
        r = json.loads(f.read_text())
        m, combos = r["machine"], list(r["train_ms_per_step"]["jade"])
        kind = (f"emulated {m['kind']} (ATen {m['aten_capability']})" if m.get("emulated")
                else f"native (ATen {m.get('aten_capability', '?')})")
        b = r.get("batch", {})
        hw = f"none in use (the host has {m['bf16_hardware']})" if m.get("emulated") else m["bf16_hardware"]
        out += [f"**{m['model_name']}, {kind}**, bf16 hardware: {hw}, {m['threads']} thread, torch "
                f"{m['torch']} (`{f.relative_to(ROOT)}`); ms per training step (batch of {b.get('svhn', '?')} SVHN + "
                f"{b.get('mnist', '?')} MNIST images), default `{r['default']}`, fp32 peak "
                f"{r['fp32_peak_gflops']:.0f} GFLOP/s:", "",
                "| model | " + " | ".join(combos) + " | default / fastest fp32 | default / fastest | GFLOP per step "
                "| fraction of the fp32 peak |",
                "|---|" + "---|" * (len(combos) + 4)]
        for v in ("single", "paired", "jade"):
            tr, d = r["train_ms_per_step"][v], r["default_vs_fastest"][v]
            out.append(f"| {v} | " + " | ".join(f"{tr[c]:.0f}" for c in combos)
                       + f" | {d['ratio_to_fastest_fp32']:.2f} | {d['ratio']:.2f} ({d['fastest']}) "
                       f"| {r['gflop_per_step'][v]:.1f} | {r['fraction_of_peak'][v]:.2f} |")
        g = r["paper_table1_grid"]
        out += ["", f"At the default, one Table 1 JADE run ({g['steps_per_run']:,} steps) takes "
                f"{g['jade_run_minutes']:.1f} min of training steps on one thread, and the whole Table 1 grid "
                f"({sum(g['runs'].values())} runs) {g['training_hours_one_worker']:.1f} h for one worker "
                "(evaluation not included).", ""]
    return "\n".join(out)


def blocks(results=ROOT / "results") -> dict:
    """{(file, marker name): the Markdown block that file must hold between its markers}."""
    runs = collect_table1(results)
    rec = claims.record(runs, table1_without_warmup(results)) if len(runs) else None
    return {("README.md", "claims"): claims.markdown(rec) if rec is not None else "",
            ("README.md", "jade-table"): (markdown_table1(runs) + "\n") if len(runs) else "",
            ("benchmarks/README.md", "precision"): precision_block(Path(results) / "precision")}


def write(blocks_: dict) -> None:
    """Write every block between its markers, file by file."""
    for file in sorted({f for f, _ in blocks_}):
        path = ROOT / file
        text = path.read_text()
        for (f, name), block in blocks_.items():
            if f == file:
                text = re.sub(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)",
                              lambda m, b=block: m.group(1) + b + m.group(2), text, flags=re.S)
        path.write_text(text)


if __name__ == "__main__":
    write(blocks())
