"""The introduction's findings (jade_core.reporting.findings) on planted runs with known answers."""
import numpy as np
import pandas as pd
import pytest
from jade_core.experiments import selection
from jade_core.reporting import findings


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
    out = findings.intro(_runs(3.0), tmp_path, "smoke")
    v = out["values"]
    assert v["c_paired_single_verdict"] == "reproduced" and v["c_paired_single_mean"].startswith("-3.")
    assert v["c_paired_single_paper"] == "-2.14" and v["c_svhn_claims"] == "3"
    assert v["c_svhn_reproduced"] == "2"                             # paired and JADE both 3 pp below single
    assert v["c_jade_paired_verdict"] in ("inconclusive", "contradicted") and v["r_jade"] == "–"
    assert v["b_ps_verdicts"] == "not judged yet"                    # nothing of the budget study in tmp_path
    dose = findings.dose_page()                                     # the committed dose-response, as its chapter
    assert len(out["read"]) == 40 + len(dose["runs"]) and v["dose_helps"] == dose["values"]["dose_helps"]
    assert list(out["record"].key[:4]) == ["paired_single", "jade_paired", "jade_single", "jade_mnist"]
    assert out["figure2"] is None and v["match_kl_jade"] == "–"      # no latent table, no run folders
    own = out["runs_of"]["c_paired_single_mean"]                    # a number's provenance is its own runs
    assert own and all("/single/" in p or "/paired/" in p for p in own) and len(own) < len(out["read"])
    assert any("/jade/" in p for p in out["runs_of"]["c_warmup_changes"])
    null = findings.intro(_runs(0.0, seed=1), tmp_path, "smoke")["values"]
    assert null["c_paired_single_verdict"] == "contradicted" and null["c_svhn_reproduced"] == "0"


def test_a_planted_reversal_is_called_one(tmp_path):
    v = findings.intro(_runs(-3.0), tmp_path, "smoke")["values"]     # paired worse than single by 3 pp
    assert float(v["c_paired_single_mean"]) > 2 and v["c_paired_single_verdict"] == "contradicted"


def test_nothing_run_says_so(tmp_path):
    out = findings.intro(_runs(1.0).iloc[:0], tmp_path, "smoke")
    assert out["record"].empty and out["values"]["intro_seeds"] == "0"
    # only the committed dose-response's runs, which its chapter reads in every profile
    assert out["read"] == list(findings.dose_page()["runs"].path)


def _run_folders(tmp_path, effect, n=10, seed=0):
    """Planted Table 1 runs on disk (config.json and metrics.json as a finished run has them), with a
    ``table_runs``-shaped frame pointing at them."""
    import json

    from jade_core.science.config import resolve_config
    frame = _runs(effect, n, seed)
    for r in frame.itertuples():
        cfg = resolve_config("jade" if r.variant == "jade_nomatch" else r.variant, "paper", seed=r.seed, data_dir=".",
                             output_dir=str(tmp_path / r.variant), **({"w_match": 0.0} if r.variant == "jade_nomatch" else {}))
        d = cfg.run_dir
        d.mkdir(parents=True)
        pool = np.random.default_rng(r.seed).choice(2500, 1000, replace=False).tolist()  # a seed's pool, as recorded
        (d / "config.json").write_text(json.dumps({"config": cfg.to_dict(), "versions": {"torch": "x"},
                                                   "data": {"pool_official_index": pool}}))
        (d / "metrics.json").write_text(json.dumps({"svhn": {"error": r.svhn_error, "n": 5500}}))
        (d / "curve.csv").write_text("epoch,svhn_ce\n1,0.1\n")
        frame.loc[r.Index, "path"] = str(d)
    return frame.assign(n_svhn_eval=5500, steps=2400, labels_per_class=100, kl_match=1.0, centroid_accuracy=60.0)


def test_table1_finds_a_planted_effect_and_glues_every_model(tmp_path):
    t = findings.table1(_run_folders(tmp_path, 3.0), tmp_path, "paper")
    v = t["values"]
    assert t["protocol"] == "local" and v["t1_n_eval"] == "5,500" and v["t1_steps"] == "2,400"
    assert v["c_paired_single_mean"].startswith("-3.") and v["c_paired_single_verdict"] == "reproduced"
    assert v["t1_ablation_verdict"] in ("inconclusive", "contradicted") and v["t1_seeds"] == "10"
    assert list(t["record"].key[:3]) == ["paired_single", "jade_paired", "jade_single"]
    assert v["t1_single_seeds"] == "10" and v["t1_single_mnist"] == "–" and v["t1_restarts"] == "0"
    assert v["t1_paper_jade_mnist"] == "0.72 ± 0.03" and v["t1_alpha"] == "0.05" and v["t1_power"] == "80"
    assert any("pools overlap" in c for c in t["caveats"]) and any("No reported run" in c for c in t["caveats"])
    reversed_ = findings.table1(_run_folders(tmp_path / "r", -3.0), tmp_path / "r", "paper")["values"]
    assert reversed_["c_paired_single_verdict"] == "contradicted"


def test_table1_without_runs_names_the_command(tmp_path):
    import pytest
    from jade_core.science.config import ConfigError
    with pytest.raises(ConfigError, match="jade book --profile paper"):
        findings.table1(_runs(1.0).iloc[:0], tmp_path, "paper")


def _latent_table(jade_content, n=6):
    rng = np.random.default_rng(0)
    rows = []
    for s in range(n):
        for v, content in (("jade", jade_content), ("paired", 0.2), ("single", 0.2)):
            rows.append({"variant": v, "seed": s, "content_within": content * np.exp(rng.normal(0, 0.05)),
                         "style_within": 0.8 if v == "jade" else np.nan})
    return pd.DataFrame(rows)


def test_figure2_finds_jade_steadier_only_when_it_is():
    controls, v = findings.figure2(_latent_table(0.05))
    assert controls.steadier.all() and float(v["f2_ratio_paired"]) < 0.3 and v["f2_n_paired"] == "6"
    assert v["f2_content_style"].startswith("0.06") and v["f2_specific"] == "specific to JADE"
    assert v["f2_vs_paired"] == v["f2_vs_single"] == "steadier"
    controls, v = findings.figure2(_latent_table(0.2))              # as steady as a classifier: not specific
    assert not controls.steadier.any() and v["f2_specific"] == "not specific to JADE"
    assert v["f2_reading"] == "below 1, as the paper reads Figure 2"  # 0.2 / 0.8 is still below 1


def _outcome(means, chosen):
    return {"chosen": chosen, "means": means, "seeds": [100, 101, 102]}


def test_tuning_tabulates_each_choice_with_its_margin_and_checks_the_committed_configuration(monkeypatch):
    """findings.tuning on planted search outcomes: one row per setting, the margin to the runner-up, the runs
    read, and ``consistent`` only when RunConfig carries every choice; a search without a complete seed is
    one error naming its sweep file."""
    import pandas as pd
    from jade_core.science.config import ConfigError, RunConfig
    R = RunConfig
    settings = {"w_cls": _outcome({1e4: 34.0, R.w_cls: 33.0, 3e5: 36.0}, R.w_cls),
                "w_match": _outcome({10.0: 35.5, R.w_match: 32.0}, R.w_match),
                "mnist_batch_size": _outcome({R.mnist_batch_size: 36.0, 256: 36.7}, R.mnist_batch_size),
                "epochs": {"chosen": R.epochs, "errors": {50: 36.0, R.epochs: 34.0}},
                "table": pd.DataFrame({"variant": ["jade", "paired"], "mnist_batch_size": [256, 64],
                                       "path": ["a", "b"]})}
    reading = {"choice": _outcome({"sum": 33.0, "mean": 90.0}, R.rec_reduction), "table": pd.DataFrame({"path": ["a", "c"]})}
    warmup = {"choice": _outcome({0: 32.9, R.w_match_warmup: 32.7}, R.w_match_warmup), "table": pd.DataFrame({"path": ["d"]})}
    monkeypatch.setattr(selection, "settings_choice", lambda path: settings)
    monkeypatch.setattr(selection, "reading_choice", lambda path: reading)
    monkeypatch.setattr(selection, "warmup_choice", lambda path: warmup)
    t = findings.tuning(draws=0)
    rows = t["table"].set_index("setting")
    assert list(rows.index) == [f for f, _ in findings.TUNED]
    assert rows.loc["w_cls", "margin (pp)"] == pytest.approx(1.0) and rows.loc["w_match", "margin (pp)"] == pytest.approx(3.5)
    assert rows.loc["epochs", "next best (%)"] == 36.0 and rows.loc["rec_reduction", "chosen"] == "sum"
    assert t["consistent"] and t["paths"] == ["a", "b", "c", "d"] and t["values"]["tuning_runs"] == "4"
    assert t["values"]["tuning_w_match_warmup_margin"] == "0.2" and t["values"]["tuning_search_mnist_batch"] == "256"
    warmup["choice"] = _outcome({0: 32.0, R.w_match_warmup: 32.7}, 0)          # the search chose no warm-up
    assert not findings.tuning(draws=0)["consistent"]
    warmup["choice"] = None
    with pytest.raises(ConfigError, match="w_match_warmup .*jade sweep sweeps/warmup-search.yml"):
        findings.tuning(draws=0)


def test_tuning_of_the_committed_searches_chose_what_the_configuration_carries():
    t = findings.tuning(draws=0)
    assert t["consistent"], (t["committed"], t["chosen"])
    assert set(t["table"]["sweep file"]) == {"`sweeps/settings-search.yml`", "`sweeps/reading-search.yml`",
                                             "`sweeps/warmup-search.yml`"}


def test_the_data_page_states_the_cut_of_the_smoke_profile(data_dir):
    d = findings.data_page("smoke", 0, data_dir)
    v, info = d["values"], d["splits"].info
    assert v["n_pool"] == str(len(d["splits"].svhn_train[1])) == str(info["n_svhn_train"])
    assert d["counts"]["labelled pool"].sum() == info["n_svhn_train"] and len(d["counts"]["SVHN file"]) == 10
    assert any("validation images" in line and "in the pool: 0" in line for line in d["pool_lines"])
    assert not any(str(data_dir) in line for line in d["lines"] + d["pool_lines"])   # no machine path on the page


def test_the_derivation_checks_pass_and_would_fail_on_a_wrong_kl(monkeypatch):
    import pytest
    from jade_core.science import checks
    t = checks.kl_table(seed=0, rows=2, dim=3)
    assert len(t) == 4 and (t["|diff| / s.e."] < checks.KL_TOLERANCE_SE).all()
    e = checks.elbo_table(seed=0)
    assert (e.gap.iloc[1:] > 0).all() and abs(e.gap.iloc[0]) < 0.01
    real = checks.kl_gaussians
    monkeypatch.setattr(checks, "kl_gaussians", lambda *a: real(*a) * 1.2)   # a closed form 20 % off
    with pytest.raises(AssertionError, match="closed-form KL disagrees with Monte Carlo"):
        checks.kl_table(seed=0, rows=2, dim=3)


def test_the_front_page_reads_the_recipe_and_budget_studies_of_the_committed_runs():
    import warnings
    from pathlib import Path

    from jade_core.experiments.runs import collect_table1
    from jade_core.experiments.studies import reported_recipe
    from jade_core.reporting import report
    root = Path(__file__).resolve().parents[1] / "results"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = findings.intro(collect_table1(root), root, "paper")
    v, rec = out["values"], reported_recipe(root)["runs"]
    means = report.summary_table(rec).set_index("variant").svhn_mean
    assert [v[f"r_{m}"] for m in ("single", "paired", "jade")] == [f"{means[m]:.1f}" for m in ("single", "paired", "jade")]
    assert set(rec.path) <= set(out["read"]) and v["b_ps_verdicts"] != "not judged yet"
    assert len(out["record"]) == 6                                   # three SVHN claims, MNIST, two without warm-up

def test_the_warmup_rows_count_the_verdicts_it_changes():
    """The claims record's sensitivity rows (Table 1's JADE made without the warm-up, planted): a JADE 4 pp worse
    there turns both JADE claims from reproduced to contradicted, and the count says so; the same runs change
    nothing."""
    from jade_core.reporting import claims
    runs = _runs(0.0)
    runs.loc[runs.variant == "jade", "svhn_error"] -= 3.0                    # JADE 3 pp better than both
    worse = runs.copy()
    worse.loc[worse.variant == "jade", "svhn_error"] += 4.0
    v = findings.claims_values(claims.record(runs, worse))
    assert v["c_jade_paired_verdict"] == "reproduced" and v["c_jade_paired_no_warmup_verdict"] == "contradicted"
    assert v["c_warmup_changes"] == "2"
    assert findings.claims_values(claims.record(runs, runs))["c_warmup_changes"] == "0"
