"""Where a benchmark's numbers go: one JSON file under results/, written the same way by every script."""
from __future__ import annotations

import json
import os


def write_result(result: dict, out: str, sort_keys: bool = False) -> None:
    """Write ``result`` to ``out`` (indented JSON), making its folder first."""
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w") as f:
        json.dump(result, f, indent=1, sort_keys=sort_keys)
