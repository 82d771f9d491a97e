"""The package's four parts import one way: science <- experiments <- reporting <- the book's tooling."""
import ast
from pathlib import Path

import jade_core

PKG = Path(jade_core.__file__).parent


def _imports(path: Path):
    """(target part or None, target module, line, at module level?) of every relative import: ``from .x``
    (same part), ``from ..part.x`` / ``from ..part import x`` (another part)."""
    tree = ast.parse(path.read_text())
    top = {id(n) for n in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level in (1, 2):
            parts = (node.module or "").split(".") if node.module else []
            if node.level == 1:
                names = parts[:1] or [a.name for a in node.names]
                for name in names:
                    yield path.parent.name, name, node.lineno, id(node) in top
            elif parts:
                for name in parts[1:2] or [a.name for a in node.names]:
                    yield parts[0], name, node.lineno, id(node) in top
            else:  # from .. import __version__
                yield None, None, node.lineno, id(node) in top


def test_every_module_is_in_the_folder_of_its_part():
    parts = [m for ms in jade_core.LAYERS.values() for m in ms]
    assert len(parts) == len(set(parts))
    assert {p.stem for p in PKG.glob("*.py")} == {"__init__", "__main__"}      # nothing left at the top
    for part, modules in jade_core.LAYERS.items():
        found = {p.stem for p in (PKG / part).glob("*.py")} - {"__init__"}
        assert found == set(modules), f"{part}: not in LAYERS {found - set(modules)}; gone {set(modules) - found}"


def test_no_module_imports_from_a_later_part():
    rank = {part: i for i, part in enumerate(jade_core.LAYERS)}
    upward = [f"{p.parent.name}/{p.name} imports {t}.{m}, line {line}"
              for p in PKG.glob("*/*.py") for t, m, line, _ in _imports(p)
              if t in rank and rank[t] > rank[p.parent.name]]
    assert not upward, upward


def test_the_check_sees_an_upward_import(tmp_path):
    bad = tmp_path / "science" / "models.py"
    bad.parent.mkdir()
    bad.write_text("from ..reporting.report import markdown_table1\n")
    assert list(_imports(bad)) == [("reporting", "report", 1, True)]


def test_an_import_inside_a_function_says_why():
    lines_of = {p: p.read_text().splitlines() for p in PKG.glob("*/*.py")}
    silent = [f"{p.parent.name}/{p.name}:{line}" for p, lines in lines_of.items() for _, _, line, top in _imports(p)
              if not top and "#" not in lines[line - 1]]
    assert not silent, f"relative imports inside functions without a reason: {silent}"
