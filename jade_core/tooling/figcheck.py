"""Regenerated figures against the committed ones (run by CI after rebuilding the paper book).

Two kinds of figure, two rules:

- figures drawn from committed numbers (learning curves, confusion matrices, tables, the budget
  curve, data grids) must come out **byte-identical**: the numbers and the plotting code fix them;
- figures drawn from a forward pass of trained weights (:data:`FROM_WEIGHTS`: the Figure 2 panels,
  the reconstructions, the swap grids) may differ in the last bits of float arithmetic from one
  CPU to another (oneDNN picks kernels by instruction set), so their pixels are compared within
  :data:`PIXEL_TOLERANCE`: every channel of every pixel within 4/255, except at most 0.1 % of them.

A committed figure that is missing after the rebuild, or a new figure that is not committed, is
a difference too. Byte-identity needs the same plotting stack: when the versions recorded beside the
committed figures (:data:`MADE_WITH`, written by ``jade book``) differ from this environment's, every
figure is held to the pixel tolerance instead, and the check says so.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from ..reporting.plotting import FROM_WEIGHTS, PIXEL_TOLERANCE, compare_png, from_weights  # noqa: F401 (the rule, shared)

MADE_WITH = "made-with.json"  # the plotting stack that drew the figures, beside them


def plotting_stack() -> dict:
    """Versions of what turns numbers into PNG bytes here."""
    import matplotlib  # the drawing stack's versions, read when recorded
    import PIL  # the drawing stack's versions, read when recorded
    import seaborn  # the drawing stack's versions, read when recorded
    from matplotlib import ft2font  # the drawing stack's versions, read when recorded
    return {"matplotlib": matplotlib.__version__, "freetype": ft2font.__freetype_version__,
            "seaborn": seaborn.__version__, "pillow": PIL.__version__, "numpy": np.__version__}


def write_made_with(folder) -> None:
    """Record :func:`plotting_stack` beside the figures (``jade book`` calls it for the paper profile)."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    (Path(folder) / MADE_WITH).write_text(json.dumps(plotting_stack(), indent=1, sort_keys=True) + "\n")


def _git(root: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, check=True)


def check_figures(root=".", folder: str = "figures", ref: str = "HEAD") -> tuple[list[str], int, bool]:
    """Compare every PNG under ``root/folder`` with its version at git ``ref``.

    Returns (problems, figures compared, strict): strict is False when the committed figures were drawn
    by another plotting stack than this environment's (then every figure gets the pixel tolerance)."""
    root = Path(root)
    try:
        made = json.loads(_git(root, "show", f"{ref}:{folder}/{MADE_WITH}").stdout)
    except (subprocess.CalledProcessError, ValueError):
        made = None
    strict = made == plotting_stack()
    committed = [p for p in _git(root, "ls-tree", "-r", "--name-only", ref, "--", folder).stdout.decode().split()
                 if p.endswith(".png")]
    problems = []
    for path in committed:
        if not (root / path).exists():
            problems.append(f"{Path(path).name}: committed but not regenerated")
            continue
        old = _git(root, "show", f"{ref}:{path}").stdout
        problem = compare_png(Path(path).name, old, (root / path).read_bytes(), strict)
        if problem:
            problems.append(problem)
    known = set(committed)
    for p in sorted((root / folder).glob("*.png")):
        if p.relative_to(root).as_posix() not in known:
            problems.append(f"{p.name}: regenerated but not committed")
    return problems, len(committed), strict


def main(argv=None) -> int:
    root = _git(Path.cwd(), "rev-parse", "--show-toplevel").stdout.decode().strip()
    problems, n, strict = check_figures(root)
    for p in problems:
        print("FIGURE DIFFERS:", p, file=sys.stderr)
    rule = (f"byte-identical required, pixel tolerance {round(PIXEL_TOLERANCE[0] * 255)}/255 for "
            f"{', '.join(FROM_WEIGHTS)}" if strict else
            f"pixel tolerance {round(PIXEL_TOLERANCE[0] * 255)}/255 for every figure: the committed figures were "
            f"drawn by another plotting stack (figures/{MADE_WITH}) than this one, {plotting_stack()}")
    print(f"{n} committed figures checked: {len(problems)} differ ({rule}).")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
