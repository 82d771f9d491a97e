"""Paste the output of `jade table` (from results/) between the README's jade-table markers."""
import re
from pathlib import Path

from jade_core.report import markdown_table1
from jade_core.runs import collect_table1

ROOT = Path(__file__).resolve().parents[1]
readme = ROOT / "README.md"
runs = collect_table1(ROOT / "results")
block = (markdown_table1(runs) + "\n") if len(runs) else ""
text = re.sub(r"(<!-- jade-table:start -->\n).*?(<!-- jade-table:end -->)", lambda m: m.group(1) + block + m.group(2),
              readme.read_text(), flags=re.S)
readme.write_text(text)
print(block)
