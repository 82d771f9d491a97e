import re
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib  # Python >= 3.11
except ImportError:  # Python 3.10 (supported): the same parser from PyPI
    tomllib = __import__("pytest").importorskip("tomli")
import yaml

ROOT = Path(__file__).resolve().parents[1]
ALIASES = {"pytorch": "torch"}


def names(specs):
    return {ALIASES.get(n, n) for n in (re.split(r"[<>=!\[ ]", s.strip(), maxsplit=1)[0].lower() for s in specs) if n}


def test_environment_yml_names_the_pyproject_packages():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = names(project["dependencies"]) | {n for extra in project["optional-dependencies"].values()
                                               for n in names(extra)}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    conda += [d for sub in env["dependencies"] if isinstance(sub, dict) for d in sub.get("pip", [])
              if not d.startswith("-e")]
    assert names(conda) - {"python", "pip"} == wanted


@pytest.mark.slow
def test_cli_help_and_clear_errors(tmp_path):
    out = subprocess.run([sys.executable, "-m", "jade_core", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "train" in out.stdout and "export" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "jade_core", "train", "--epochs", "0", "--data-dir", str(tmp_path)],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "epochs must be >= 1" in bad.stderr and "Traceback" not in bad.stderr


def test_code_passes_the_linter():
    """ruff (configured in pyproject.toml): unused imports, undefined names, import order, style."""
    import pytest
    pytest.importorskip("ruff", reason="ruff is in the test extra: pip install -e '.[test]'")
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "jade_core", "tests", "benchmarks"], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:]
