import numpy as np
import pandas as pd
import pytest
from jade_core.reporting import plotting


@pytest.mark.slow
def test_figures_are_byte_identical_when_redrawn(tmp_path):
    conf = np.random.default_rng(0).integers(0, 50, (10, 10))
    curve = pd.DataFrame({"epoch": [1, 2, 3], "loss": [3.0, 2.0, 1.5], "svhn_val_error": [80, np.nan, 50]})
    draws = []
    for k in range(2):
        d = tmp_path / str(k)
        paths = [plotting.learning_curve(curve, d / "curve.png"), plotting.confusion(conf, d / "conf.png"),
                 plotting.latent_variance(np.ones((10, 20)), np.ones((10, 20)), d / "lat.png")]
        assert all(p.stat().st_size > 1000 for p in paths)
        draws.append([p.read_bytes() for p in paths])
    assert draws[0] == draws[1]
    assert b"Software" not in draws[0][0]


def test_image_grid_of_uint8(tmp_path):
    x = np.random.default_rng(1).integers(0, 255, (40, 3, 32, 32), dtype=np.uint8)
    p = plotting.image_grid(x, np.repeat(np.arange(10), 4), tmp_path / "g.png", per_class=4)
    assert p.exists()


def test_error_bars_are_deterministic(tmp_path):
    import pandas as pd
    t = pd.DataFrame({"variant": ["single"] * 3 + ["jade"] * 3, "seed": [0, 1, 2] * 2,
                      "svhn_error": [30.0, 31, 35, 28, 29, 30]})
    a = plotting.error_bars(t, tmp_path / "a.png", paper={"single": (32.3, 1.6)}).read_bytes()
    b = plotting.error_bars(t, tmp_path / "b.png", paper={"single": (32.3, 1.6)}).read_bytes()
    assert a == b


def test_a_forward_pass_figure_within_tolerance_is_not_rewritten(tmp_path):
    import matplotlib.pyplot as plt
    import numpy as np
    from jade_core.reporting import plotting

    def draw(shift):
        fig, ax = plt.subplots(figsize=(2, 2))
        ax.imshow(np.full((8, 8), 0.5) + shift, cmap="gray", vmin=0, vmax=1)
        ax.axis("off")
        return fig
    for name, kept in (("figure2-local-seed0-svhn.png", True), ("table1-local-svhn-error.png", False)):
        path = plotting.save(draw(0.0), tmp_path / name)
        before = path.read_bytes()
        plotting.save(draw(1 / 255), tmp_path / name)            # one grey level: within 4/255
        assert (path.read_bytes() == before) is kept, name
    far = plotting.save(draw(0.0), tmp_path / "swaps-x.png").read_bytes()
    assert plotting.save(draw(0.3), tmp_path / "swaps-x.png").read_bytes() != far   # beyond it: rewritten
