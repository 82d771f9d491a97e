"""Paste the output of `jade table`, `jade table --recipe` (from results/) and the recorded precision
benchmarks (results/precision/*.json) between the README's markers."""
import json
import re
from pathlib import Path

from jade_core.experiments.runs import collect_table1
from jade_core.experiments.studies import reported_recipe
from jade_core.reporting.report import markdown_table1

ROOT = Path(__file__).resolve().parents[1]


def precision_block(folder=ROOT / "results" / "precision") -> str:
    """One table per recorded CPU (benchmarks/precision.py): ms per training step of each variant under each
    precision and memory format, the default's ratio to the fastest, and the Table 1 grid's estimated time."""
    out = []
    for f in sorted(Path(folder).glob("*.json")):
        r = json.loads(f.read_text())
        m, combos = r["machine"], list(r["train_ms_per_step"]["jade"])
        out += [f"{m['model_name']}, bf16 hardware: {m['bf16_hardware']}, {m['threads']} thread, torch {m['torch']} "
                f"(`{f.relative_to(ROOT)}`); ms per training step (batch of 64 SVHN + 256 MNIST images), default "
                f"`{r['default']}`:", "",
                "| model | " + " | ".join(combos) + " | default / fastest | evaluation, 1,000 SVHN images (ms) |",
                "|---|" + "---|" * (len(combos) + 2)]
        for v in ("single", "paired", "jade"):
            tr, d = r["train_ms_per_step"][v], r["default_vs_fastest"][v]
            out.append(f"| {v} | " + " | ".join(f"{tr[c]:.0f}" for c in combos)
                       + f" | {d['ratio']:.2f} ({d['fastest']} fastest) | {r['eval_ms_per_1000_svhn'][v][r['default']]:.0f} |")
        g = r["paper_table1_grid"]
        out += ["", f"At the default, one Table 1 JADE run ({g['steps_per_run']:,} steps) takes "
                f"{g['jade_run_minutes']:.1f} min of training steps on one thread, and the whole Table 1 grid "
                f"({sum(g['runs'].values())} runs) {g['training_hours_one_worker']:.1f} h for one worker "
                "(evaluation not included).", ""]
    return "\n".join(out)


def blocks(results=ROOT / "results") -> dict:
    """{marker name: the Markdown block the README must hold between its markers}."""
    runs = collect_table1(results)
    rep = reported_recipe(results)  # as jade table --recipe: the book's study, never a search seed
    recipe, chosen = rep["runs"], rep["chosen"]
    return {"jade-table": (markdown_table1(runs) + "\n") if len(runs) else "",
            "jade-recipe-table": (markdown_table1(recipe, recipe=chosen) + "\n") if len(recipe) else "",
            "precision": precision_block(Path(results) / "precision")}


if __name__ == "__main__":
    readme = ROOT / "README.md"
    text = readme.read_text()
    for name, block in blocks().items():
        text = re.sub(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", lambda m: m.group(1) + block + m.group(2),
                      text, flags=re.S)
        print(block)
    readme.write_text(text)
