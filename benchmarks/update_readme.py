"""Paste the output of `jade table` and `jade table --recipe` (from results/) between the README's markers."""
import re
from pathlib import Path

from jade_core.report import markdown_table1
from jade_core.runs import collect_recipe, collect_table1

ROOT = Path(__file__).resolve().parents[1]


def blocks(results=ROOT / "results") -> dict:
    """{marker name: the Markdown block the README must hold between its markers}."""
    runs = collect_table1(results)
    recipe, chosen = collect_recipe(results)
    return {"jade-table": (markdown_table1(runs) + "\n") if len(runs) else "",
            "jade-recipe-table": (markdown_table1(recipe, recipe=chosen) + "\n") if len(recipe) else ""}


if __name__ == "__main__":
    readme = ROOT / "README.md"
    text = readme.read_text()
    for name, block in blocks().items():
        text = re.sub(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", lambda m: m.group(1) + block + m.group(2),
                      text, flags=re.S)
        print(block)
    readme.write_text(text)
