"""The package's four parts import one way: science <- experiments <- reporting <- the book's tooling."""
import ast
from pathlib import Path

import jade_core

PKG = Path(jade_core.__file__).parent


def _imports(path: Path):
    """(target module, line, at module level?) of every ``from .x import`` / ``from . import x``."""
    tree = ast.parse(path.read_text())
    top = {id(n) for n in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            for name in ([node.module] if node.module else [a.name for a in node.names]):
                yield name.split(".")[0], node.lineno, id(node) in top


def test_every_module_is_in_one_part():
    parts = [m for ms in jade_core.LAYERS.values() for m in ms]
    assert len(parts) == len(set(parts))
    modules = {p.stem for p in PKG.glob("*.py")} - {"__init__", "__main__"}
    assert modules == set(parts), f"not in jade_core.LAYERS: {modules - set(parts)}; gone: {set(parts) - modules}"


def test_no_module_imports_from_a_later_part():
    rank = {m: i for i, ms in enumerate(jade_core.LAYERS.values()) for m in ms}
    names = list(jade_core.LAYERS)
    upward = [f"{p.stem} ({names[rank[p.stem]]}) imports {t} ({names[rank[t]]}), line {line}"
              for p in PKG.glob("*.py") if p.stem in rank
              for t, line, _ in _imports(p) if t in rank and rank[t] > rank[p.stem]]
    assert not upward, upward


def test_an_import_inside_a_function_says_why():
    lines_of = {p: p.read_text().splitlines() for p in PKG.glob("*.py")}
    silent = [f"{p.name}:{line}" for p, lines in lines_of.items() for _, line, top in _imports(p)
              if not top and "#" not in lines[line - 1]]
    assert not silent, f"relative imports inside functions without a reason: {silent}"
