import io
import subprocess

import numpy as np
from jade_core.tooling import figcheck
from PIL import Image


def _png(pixels) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.asarray(pixels, dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def test_numbers_figures_must_be_byte_identical_weights_figures_within_tolerance():
    base = np.full((40, 50, 3), 100, dtype=np.uint8)
    nudged = base.copy()
    nudged[0, 0, 0] += 1                                   # one channel, one level
    assert figcheck.compare_png("table1-local-svhn-error.png", _png(base), _png(base)) is None
    assert "byte-identical" in figcheck.compare_png("table1-local-svhn-error.png", _png(base), _png(nudged))
    assert figcheck.compare_png("figure2-local-seed0-svhn.png", _png(base), _png(nudged)) is None
    shifted = base + 3                                      # every channel 3/255: within 4/255
    assert figcheck.compare_png("swaps-jade-svhn-mnistcontent-seed0.png", _png(base), _png(shifted)) is None
    broken = base.copy()
    broken[:10] = 0                                         # a quarter of the image changed
    assert "differ by more than 4/255" in figcheck.compare_png("jade-local-seed0-recon-svhn.png",
                                                               _png(base), _png(broken))
    assert "size" in figcheck.compare_png("figure2-x.png", _png(base), _png(base[:20]))


def test_check_figures_against_git_finds_changed_missing_and_new_figures(tmp_path):
    def git(*a):
        subprocess.run(["git", *a], cwd=tmp_path, check=True, capture_output=True)
    (tmp_path / "figures").mkdir()
    img = np.zeros((8, 8, 3), dtype=np.uint8)
    for name in ("a-curve.png", "b-curve.png", "figure2-s.png"):
        (tmp_path / "figures" / name).write_bytes(_png(img))
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "figs")
    figcheck.write_made_with(tmp_path / "figures")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "stack")
    assert figcheck.check_figures(tmp_path) == ([], 3, True)
    (tmp_path / "figures" / "a-curve.png").write_bytes(_png(img + 1))
    (tmp_path / "figures" / "b-curve.png").unlink()
    (tmp_path / "figures" / "figure2-s.png").write_bytes(_png(img + 2))
    (tmp_path / "figures" / "new.png").write_bytes(_png(img))
    problems, n, strict = figcheck.check_figures(tmp_path)
    assert n == 3 and len(problems) == 3 and strict
    assert any(p.startswith("a-curve.png") for p in problems)
    assert any(p.startswith("b-curve.png: committed but not regenerated") for p in problems)
    assert any(p.startswith("new.png: regenerated but not committed") for p in problems)


def test_another_plotting_stack_gets_the_pixel_tolerance_for_every_figure(tmp_path, monkeypatch):
    def git(*a):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *a], cwd=tmp_path, check=True,
                       capture_output=True)
    (tmp_path / "figures").mkdir()
    img = np.full((8, 8, 3), 50, dtype=np.uint8)
    (tmp_path / "figures" / "a-curve.png").write_bytes(_png(img))
    figcheck.write_made_with(tmp_path / "figures")
    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "figs")
    (tmp_path / "figures" / "a-curve.png").write_bytes(_png(img + 1))     # antialiasing of a newer matplotlib
    assert figcheck.check_figures(tmp_path)[0]                             # same stack: must be byte-identical
    monkeypatch.setattr(figcheck, "plotting_stack", lambda: {"matplotlib": "99.0"})
    assert figcheck.check_figures(tmp_path) == ([], 1, False)              # another stack: within 4/255
    (tmp_path / "figures" / "a-curve.png").write_bytes(_png(img + 60))
    assert "differ by more than 4/255" in figcheck.check_figures(tmp_path)[0][0]
