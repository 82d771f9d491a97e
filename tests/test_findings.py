"""The introduction's findings (jade_core.reporting.findings) on planted runs with known answers."""
import numpy as np
import pandas as pd
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
    values, read = findings.intro(_runs(3.0), tmp_path, "smoke")
    assert values["intro_paired_single"].startswith("paired beats single: -3.") and ": reproduced" in values["intro_paired_single"]
    assert "inconclusive" in values["intro_jade_paired"] or "contradicted" in values["intro_jade_paired"]
    assert values["intro_seeds"] == "Single classifier 10, Paired classifier 10, JADE 10, JADE, w_match = 0 10"
    assert values["intro_recipe"] == values["intro_mnist"] == "not run in this profile"
    dose = findings.dose_page()                                     # the committed dose-response, as its chapter
    first = findings.first_budget_study()                           # the committed first label-budget study
    assert len(read) == 40 + len(dose["runs"]) + len(first["runs"]) and values["intro_dose"] == dose["values"]["dose_answer"]
    assert values["intro_budget"].startswith("in the equal-steps study (0 of its 18 runs finished so far")
    assert "paired minus single not judged yet" in values["intro_budget"]   # nothing of it in tmp_path
    null, _ = findings.intro(_runs(0.0, seed=1), tmp_path, "smoke")
    assert ": reproduced" not in null["intro_paired_single"]
    assert ": contradicted" in null["intro_paired_single"]          # a null rules out the paper's -2.14 pp


def test_a_planted_reversal_is_called_one(tmp_path):
    values, _ = findings.intro(_runs(-3.0), tmp_path, "smoke")       # paired worse than single by 3 pp
    text = values["intro_paired_single"]
    assert text.startswith("paired beats single: +") and ": contradicted" in text and "interval [+" in text


def test_nothing_run_says_so(tmp_path):
    values, read = findings.intro(_runs(1.0).iloc[:0], tmp_path, "smoke")
    assert values["intro_paired_single"] == "paired beats single: not run yet."
    # only the committed studies' runs: the dose-response and the first label-budget study
    assert read == list(findings.first_budget_study()["runs"].path) + list(findings.dose_page()["runs"].path)


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
    assert v["s_paired_single"].startswith("paired beats single: -3.") and ": reproduced" in v["s_paired_single"]
    assert v["t1_single_seeds"] == "10" and v["t1_single_mnist"] == "–" and v["t1_restarts"] == "0"
    assert v["t1_paper_jade_mnist"] == "0.72 ± 0.03" and v["t1_alpha"] == "0.05" and v["t1_power"] == "80"
    assert "pools overlap" in v["t1_overlap_text"] and "No reported run" in v["t1_copies_text"]
    reversed_ = findings.table1(_run_folders(tmp_path / "r", -3.0), tmp_path / "r", "paper")["values"]
    assert ": contradicted" in reversed_["s_paired_single"]


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
    assert v["f2_content_style"].startswith("0.06") and "specific to JADE" in v["f2_answer"]
    controls, v = findings.figure2(_latent_table(0.2))              # as steady as a classifier: not specific
    assert not controls.steadier.any() and "not evidence of JADE's disentanglement" in v["f2_answer"]
    assert "below 1, as the paper reads Figure 2" in v["f2_answer"]  # 0.2 / 0.8 is still below 1


def test_tuning_applies_the_declared_rule_to_planted_candidates(tmp_path, monkeypatch):
    import json

    from jade_core.science.config import RunConfig, resolve_config
    W = RunConfig.w_match_warmup
    for name, w_match, err, centroid in (("a", 30.0, 30.0, 65.0), ("b", 300.0, 28.0, 20.0), ("c", 1000.0, 35.0, 60.0)):
        cfg = resolve_config("jade", "paper", seed=0, data_dir=".", output_dir=str(tmp_path / "t" / name), w_match=w_match,
                             w_match_warmup=W)  # the committed warm-up: this search's choice is not what fails
        d = cfg.run_dir
        d.mkdir(parents=True)
        (d / "config.json").write_text(json.dumps({"config": cfg.to_dict()}))
        (d / "metrics.json").write_text(json.dumps({
            "svhn_val": {"error": err}, "matching_val": {"centroid_accuracy": centroid, "kl_match": 1000 / w_match},
            "train_seconds": 60.0}))
        (d / "curve.csv").write_text("epoch,svhn_val_error\n5,40\n")
    t = findings.tuning(tmp_path / "t", _runs(1.0).iloc[:0])
    v = t["values"]
    # b classifies best but its centroids fail the rule (20 % < 50 %): a is chosen, b reported beside it
    assert v["tuning_chosen"] == "a" and v["tuning_best"] == "b" and v["tuning_n"] == "3"
    assert v["tuning_w_match_low"] == "30" and v["tuning_w_match_high"] == "1,000"
    assert "is not in this profile" in v["tuning_reference"] and v["tuning_stopped"] == "Every candidate finished."
    # the committed configuration must carry this search's reading and the settings search's re-chosen weights
    assert not t["consistent"]                                       # a's w_match 30 is not the default
    rechosen = {"w_cls": {"chosen": RunConfig.w_cls}, "w_match": {"chosen": RunConfig.w_match},
                "mnist_batch_size": {"chosen": RunConfig.mnist_batch_size}, "epochs": {"chosen": RunConfig.epochs}}
    t = findings.tuning(tmp_path / "t", _runs(1.0).iloc[:0], rechosen)
    assert t["consistent"] and t["values"]["tuning_pick_replaced"] == f"w_match 30 → {RunConfig.w_match:g}"
    assert t["values"]["tuning_pick_kept"] == f"rec_reduction = sum, w_match_warmup = {W}"
    assert "This search ran on seed" not in t["values"]["tuning_answer"]   # no table runs given: none to flag
    table1 = _runs(1.0).query("variant != 'jade_nomatch'")         # seed 0 reported (no reference run planted)
    reported = findings.tuning(tmp_path / "t", table1, rechosen)["values"]["tuning_answer"]
    assert ("This search ran on seed 0, which Table 1 reports, and was not repeated on search seeds: what the "
            f"reported runs still take from it (rec_reduction = sum, w_match_warmup = {W}) was chosen there.") in reported
    stopped = tmp_path / "t" / "per-pixel"                          # a per-pixel candidate stopped on collapse
    stopped.mkdir()
    (stopped / "stopped-curve.csv").write_text("epoch,seconds,svhn_val_error,val_kl_match,val_centroid_accuracy\n"
                                               "5,600,90.0,0.001,9.6\n")
    (stopped / "stopped-config.json").write_text(json.dumps({"config": {"rec_reduction": "mean"}}))
    reported = findings.tuning(tmp_path / "t", table1, rechosen)["values"]["tuning_answer"]
    assert "was chosen there; the per-pixel reading was no close call on validation error" in reported
    # the reading re-chosen on search seeds: it decides in the search's place, and only the warm-up stays seed 0's
    from jade_core.experiments.selection import choose_setting
    rt = pd.DataFrame({"rec_reduction": ["sum", "mean"] * 2, "seed": [100, 100, 101, 101],
                       "svhn_val_error": [32.0, 90.0, 34.0, 89.0], "val_kl_match": [55.0, 0.001] * 2,
                       "val_centroid_accuracy": [64.0, 10.0] * 2})
    pending = {"field": "rec_reduction", "runs_finished": 2, "runs_planned": 4, "table": rt[rt.rec_reduction == "sum"],
               "choice": None}
    t = findings.tuning(tmp_path / "t", table1, rechosen, pending)["values"]
    assert t["tuning_reading"].startswith("Being re-chosen on the search seeds (`sweeps/reading-search.yml`")
    assert "2 of its 4 runs have finished" in t["tuning_reading"] and "rec_reduction = sum" in t["tuning_pick_kept"]
    done = {"field": "rec_reduction", "runs_finished": 4, "runs_planned": 4, "table": rt,
            "choice": choose_setting(rt, "rec_reduction", "sum", candidates=("sum", "mean"))}
    t = findings.tuning(tmp_path / "t", table1, rechosen, done)
    assert t["consistent"] and t["values"]["tuning_pick_kept"] == f"w_match_warmup = {W}"
    assert t["values"]["tuning_answer"].endswith(f"what the reported runs still take from it (w_match_warmup = {W}) was chosen there.")
    assert "no close call" not in t["values"]["tuning_answer"]
    assert "Its reading of the reconstruction term is the one the paper profile keeps, re-chosen on the search " \
           "seeds" in t["values"]["tuning_answer"]
    assert ("mean SVHN validation error summed over pixels, weighted (rec_reduction = sum) 33.0 % (matching KL 55 "
            "nats, centroid accuracy 64.0 %); per pixel, every weight 1 (rec_reduction = mean) 89.5 %") \
        in t["values"]["tuning_reading"]
    assert t["values"]["tuning_reading"].endswith("Chosen: rec_reduction = sum (per seed, chosen minus rec_reduction = mean: "
                                                  "-58.0 to -55.0 pp), the same as on seed 0.")
    part = findings.tuning(tmp_path / "t", table1, rechosen, {**done, "runs_planned": 6})["values"]["tuning_reading"]
    assert part.endswith("the same as on seed 0. 4 of the search's 6 runs have finished; the rest join the "
                         "mean when they have.")
    # the warm-up re-chosen too, the ramp winning as it did: nothing of the seed-0 search is left in force, and the
    # committed configuration carries the ramp
    assert W == 50, "the committed warm-up is the ramp the warm-up search chose (sweeps/warmup-search.yml)"
    wt = pd.DataFrame({"w_match_warmup": [0, 50] * 2, "seed": [100, 100, 101, 101],
                       "svhn_val_error": [35.0, 32.0, 36.0, 34.0], "val_kl_match": [55.0, 60.0] * 2,
                       "val_centroid_accuracy": [64.0, 60.0] * 2})
    won = {"field": "w_match_warmup", "runs_finished": 4, "runs_planned": 4, "table": wt,
           "choice": choose_setting(wt, "w_match_warmup", 0, candidates=(0, 50))}
    t = findings.tuning(tmp_path / "t", table1, rechosen, done, won)
    assert t["consistent"] and t["pick"]["w_match_warmup"] == 50 and t["committed"]["w_match_warmup"] == 50
    assert t["values"]["tuning_pick_kept"].startswith("none of its choices")
    assert "nothing it chose is still in force" in t["values"]["tuning_answer"] and "Not yet applied" not in t["values"]["tuning_answer"]
    assert ("none (w_match_warmup = 0) 35.5 % (matching KL 55 nats, centroid accuracy 64.0 %); a linear ramp over 50 "
            "epochs (w_match_warmup = 50) 33.0 %") in t["values"]["tuning_warmup_rechosen"]
    assert "(per seed, chosen minus w_match_warmup = 0: -3.0 to -2.0 pp)" in t["values"]["tuning_warmup_rechosen"]
    assert ("Applied: Table 1's JADE was re-made with w_match_warmup = 50 (`sweeps/table1.yml`); the studies made "
            "before it (`sweeps/matching-dose.yml`, ") in t["values"]["tuning_warmup_rechosen"]
    wpending = {**won, "runs_finished": 2, "table": wt[wt.w_match_warmup == 0], "choice": None}
    t = findings.tuning(tmp_path / "t", table1, rechosen, done, wpending)["values"]
    assert t["tuning_pick_kept"] == f"w_match_warmup = {W}" and f"w_match_warmup = {W}." in t["tuning_warmup_rechosen"]
    # no warm-up winning: a choice the committed configuration does not carry, allowed only as declared in
    # NOT_YET_APPLIED, and said
    lost = {**won, "table": wt.assign(svhn_val_error=[32.0, 35.0, 34.0, 36.0])}
    lost["choice"] = choose_setting(lost["table"], "w_match_warmup", 0, candidates=(0, 50))
    from jade_core.experiments import selection
    assert not findings.tuning(tmp_path / "t", table1, rechosen, done, lost)["consistent"]   # undeclared: fails
    monkeypatch.setattr(selection, "NOT_YET_APPLIED", {"w_match_warmup": "chosen after the reported runs were made"})
    t = findings.tuning(tmp_path / "t", table1, rechosen, done, lost)
    assert t["consistent"] and t["pick"]["w_match_warmup"] == 0 and t["committed"]["w_match_warmup"] == 50
    assert t["values"]["tuning_pick_kept"] == "w_match_warmup = 50"   # not applied: the seed-0 choice still rules
    assert "what the reported runs still take from it (w_match_warmup = 50) was chosen there. Not yet applied" in t["values"]["tuning_answer"]
    assert ("Not yet applied: the warm-up of the matching weight re-chosen on the search seeds (w_match_warmup = 0) "
            "is not what the reported runs were made with (w_match_warmup = 50) (below).") in t["values"]["tuning_answer"]
    assert "Not applied: the committed configuration, and so every reported run, keeps w_match_warmup = 50; chosen " \
           "after the reported runs were made." in t["values"]["tuning_warmup_rechosen"]
    monkeypatch.setattr(selection, "NOT_YET_APPLIED", {})
    flipped = rt.assign(svhn_val_error=[90.0, 32.0, 89.0, 34.0])  # were the per-pixel reading to win ...
    done["choice"] = choose_setting(flipped, "rec_reduction", "sum", candidates=("sum", "mean"))
    t = findings.tuning(tmp_path / "t", table1, rechosen, {**done, "table": flipped})
    assert not t["consistent"] and t["pick"]["rec_reduction"] == "mean"  # ... the build would fail on the config
    rechosen["epochs"] = {"chosen": RunConfig.epochs + 50}           # a length the configuration does not carry
    assert not findings.tuning(tmp_path / "t", _runs(1.0).iloc[:0], rechosen)["consistent"]


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


def test_the_recipe_sentence_on_the_committed_runs_leaves_its_end_to_the_page():
    from pathlib import Path
    text, read = findings._recipe(Path(__file__).resolve().parents[1] / "results")
    # the re-made study, all 15 runs finished: 3 models x seeds 0-4, chosen on the search seeds
    assert text.startswith("chosen on validation for the single classifier") and len(read) == 15
    assert all("/recipe-remake/" in str(p) for p in read) and "seeds 100, 101, 102, which no table reports" in text
    assert not text.endswith(".") and ".;" not in text     # the intro writes ";" after it


def test_the_warmup_robustness_rejudges_the_jade_claims_with_the_runs_made_before_it(monkeypatch):
    """Table 1's JADE claims judged again with its JADE as made before the warm-up (planted): a JADE 4 pp worse
    before turns "JADE beats paired" from reproduced to contradicted, and the sentence names it; the same runs
    change nothing; none: said."""
    from jade_core.experiments import grid
    from jade_core.reporting import report
    runs = _runs(0.0)
    runs.loc[runs.variant == "jade", "svhn_error"] -= 3.0                    # JADE 3 pp better than paired
    claims = report.claims_table(runs, report.family_of(runs))
    assert claims.set_index("claim").verdict["JADE beats paired"] == "reproduced"
    worse = runs[runs.variant == "jade"].assign(svhn_error=lambda d: d.svhn_error + 4.0)
    monkeypatch.setattr(grid, "select", lambda *a, **k: worse)
    text = findings.warmup_robustness(runs, claims, "results", "paper")
    assert text.startswith("With Table 1's JADE as made before the warm-up of w_match (10 seeds")
    assert "JADE beats paired: +" in text and text.endswith("Verdicts that the warm-up changes: JADE beats paired; "
                                                            "JADE beats single; matching helps (JADE beats JADE with "
                                                            "w_match = 0).")
    monkeypatch.setattr(grid, "select", lambda *a, **k: runs[runs.variant == "jade"])
    assert findings.warmup_robustness(runs, claims, "results", "paper").endswith("The warm-up changes no verdict.")
    monkeypatch.setattr(grid, "select", lambda *a, **k: runs.iloc[:0])
    assert "not in this profile" in findings.warmup_robustness(runs, claims, "results", "paper")
