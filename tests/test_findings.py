"""The introduction's findings (jade_core.findings) on planted runs with known answers."""
import numpy as np
import pandas as pd
from jade_core import findings


def _runs(effect, n=10, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n):
        base = 32.0 + rng.normal(0, 1)
        for v, shift in (("single", 0.0), ("paired", -effect), ("jade", -effect), ("jade_nomatch", -effect)):
            rows.append({"variant": v, "protocol": "local", "seed": s, "svhn_error": base + shift + rng.normal(0, 0.3),
                         "mnist_error": None if v == "single" else 1.0, "train_seconds": 1.0, "final_train_ce": 0.1,
                         "attempts": 1, "path": f"runs/{v}/local-seed{s}"})
    return pd.DataFrame(rows)


def test_a_planted_3pp_effect_is_found_and_a_null_is_not(tmp_path):
    values, read = findings.intro(_runs(3.0), tmp_path, "smoke")
    assert values["intro_paired_single"].startswith("paired beats single: -3.") and ": reproduced" in values["intro_paired_single"]
    assert "inconclusive" in values["intro_jade_paired"] or "contradicted" in values["intro_jade_paired"]
    assert values["intro_seeds"] == "Single classifier 10, Paired classifier 10, JADE 10, JADE, w_match = 0 10"
    assert values["intro_recipe"] == values["intro_mnist"] == "not run in this profile" and len(read) == 40
    null, _ = findings.intro(_runs(0.0, seed=1), tmp_path, "smoke")
    assert ": reproduced" not in null["intro_paired_single"]
    assert ": contradicted" in null["intro_paired_single"]          # a null rules out the paper's -2.14 pp


def test_a_planted_reversal_is_called_one(tmp_path):
    values, _ = findings.intro(_runs(-3.0), tmp_path, "smoke")       # paired worse than single by 3 pp
    text = values["intro_paired_single"]
    assert text.startswith("paired beats single: +") and ": contradicted" in text and "interval [+" in text


def test_nothing_run_says_so(tmp_path):
    values, read = findings.intro(_runs(1.0).iloc[:0], tmp_path, "smoke")
    assert values["intro_paired_single"] == "paired beats single: not run yet." and read == []
