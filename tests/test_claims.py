"""The claims record behind the front page's table, the forest plot and the README: planted runs with known
differences must come back with the right signs, intervals, verdicts and run lists."""
import numpy as np
import pandas as pd
import pytest
from jade_core.reporting import claims, plotting


def _runs(effect, mnist_effect=0.0, n=10, seed=0, jade_shift=0.0):
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n):
        base = 32.0 + rng.normal(0, 1)
        for v, shift in (("single", 0.0), ("paired", -effect), ("jade", -effect + jade_shift), ("jade_nomatch", -effect)):
            mnist = None if v == "single" else 1.0 + (mnist_effect if v == "jade" else 0.0) + rng.normal(0, 0.01)
            rows.append({"variant": v, "seed": s, "svhn_error": base + shift + rng.normal(0, 0.3),
                         "mnist_error": mnist, "path": f"runs/{v}/seed{s}"})
    return pd.DataFrame(rows)


def test_a_planted_effect_is_reproduced_a_null_is_not_and_each_row_names_its_runs():
    rec = claims.record(_runs(3.0, mnist_effect=-0.2)).set_index("key")
    assert list(rec.index) == ["paired_single", "jade_paired", "jade_single", "jade_mnist"]
    ps = rec.loc["paired_single"]
    assert ps["mean"] == pytest.approx(-3.0, abs=0.3) and ps.high < 0 and ps.verdict == "reproduced"
    assert ps.paper == pytest.approx(30.17 - 32.31) and ps.level == pytest.approx(1 - 0.05 / 4)  # Table 1's family
    assert sorted(ps.runs) == sorted(f"runs/{v}/seed{s}" for v in ("single", "paired") for s in range(10))
    assert rec.loc["jade_paired", "verdict"] != "reproduced"        # no planted JADE effect over paired
    m = rec.loc["jade_mnist"]
    assert m["mean"] == pytest.approx(-0.2, abs=0.02) and m.level == pytest.approx(0.95) and m.verdict == "reproduced"
    assert m.paper == pytest.approx(-0.10) and all("single" not in p for p in m.runs)
    null = claims.record(_runs(0.0, seed=1)).set_index("key")
    assert null.loc["paired_single", "verdict"] == "contradicted"   # a null rules out the paper's -2.14 pp


def test_the_sensitivity_rows_use_the_no_warmup_runs_and_their_own_numbers():
    runs = _runs(2.0)
    other = _runs(2.0, jade_shift=+5.0).assign(path=lambda d: d.path.str.replace("runs/", "nowarm/"))
    rec = claims.record(runs, other).set_index("key")
    assert list(rec.index[-2:]) == ["jade_paired_no_warmup", "jade_single_no_warmup"]
    nw = rec.loc["jade_paired_no_warmup"]
    assert nw["mean"] == pytest.approx(5.0, abs=0.4) and nw.verdict == "contradicted" and nw.claim.endswith(claims.NO_WARMUP)
    assert all(p.startswith("nowarm/") for p in nw.runs)


def test_what_the_data_allow_follows_the_interval():
    assert claims.allows("JADE", -3.0, 2.3) == "JADE up to 3.0 pp better or 2.3 pp worse"
    assert claims.allows("paired", -3.4, -0.4) == "paired better by 0.4 to 3.4 pp"
    assert claims.allows("JADE", 0.2, 1.5) == "JADE worse by 0.2 to 1.5 pp"
    assert claims.allows("JADE", float("nan"), 1.0) == "–"


def test_the_table_and_the_forest_plot_are_drawn_from_the_record(tmp_path):
    rec = claims.record(_runs(3.0))
    fig2 = claims.figure2_row(pd.DataFrame({"steadier": [False, True]}), 0.4, ["runs/jade/seed0"])
    t = claims.table(rec, fig2)
    assert list(t.columns) == ["Claim", "Paper (pp)", "Ours (pp, family interval)", "Verdict", "The data allow"]
    assert len(t) == len(rec) + 1 and t.iloc[-1]["Verdict"] == "reproduced; not specific to JADE"
    assert t.iloc[0]["Paper (pp)"] == "-2.14" and "nan" not in claims.markdown(rec, fig2)
    path = plotting.forest(rec, tmp_path / "forest.png")
    assert path.stat().st_size > 10_000
    assert plotting.forest(rec, tmp_path / "again.png").read_bytes() == path.read_bytes()  # deterministic
