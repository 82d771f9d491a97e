"""The declared rules that re-choose the carried-over settings (jade_core.experiments.selection), on planted tables."""
from pathlib import Path

import pandas as pd
import pytest
from jade_core.experiments import selection as sel


def _table(rows):
    return pd.DataFrame(rows, columns=["w_cls", "seed", "svhn_val_error"])


def test_choose_setting_takes_the_lowest_mean_over_common_seeds():
    t = _table([(1e4, 100, 30.0), (1e4, 101, 34.0), (3e4, 100, 31.0), (3e4, 101, 32.0),
                (1e5, 100, 20.0)])  # 1e5 has seed 100 only: only seed 100 is common to all three
    out = sel.choose_setting(t, "w_cls", 3e4)
    assert out["seeds"] == [100]
    assert out["chosen"] == 1e5 and out["means"] == {1e4: 30.0, 3e4: 31.0, 1e5: 20.0}
    t2 = t[t.w_cls != 1e5]
    out2 = sel.choose_setting(t2, "w_cls", 3e4)
    assert out2["seeds"] == [100, 101] and out2["chosen"] == 3e4  # 31.5 < 32.0
    assert out2["means"][1e4] == pytest.approx(32.0)


def test_choose_setting_keeps_the_incumbent_on_an_exact_tie_and_refuses_no_common_seed():
    t = _table([(1e4, 100, 30.0), (3e4, 100, 30.0)])
    assert sel.choose_setting(t, "w_cls", 3e4)["chosen"] == 3e4
    assert sel.choose_setting(t, "w_cls", 5.0)["chosen"] == 1e4   # incumbent not among the tied: the smallest
    with pytest.raises(ValueError, match="no search seed has a finished run of every w_cls candidate"):
        sel.choose_setting(_table([(1e4, 100, 30.0), (3e4, 101, 30.0)]), "w_cls", 3e4)


def _curve(errors):
    return pd.DataFrame({"epoch": [50, 100, 150], "svhn_val_error": errors})


def test_choose_epochs_averages_seeds_then_models_and_flags_the_edge():
    curves = {"single": [_curve([40, 35, 36]), _curve([42, 37, 38])],
              "jade": [_curve([30, 28, 20])]}
    out = sel.choose_epochs(curves)
    assert out["per_model"]["single"] == {50: 41.0, 100: 36.0, 150: 37.0}
    assert out["errors"] == {50: 35.5, 100: 32.0, 150: 28.5}
    assert out["chosen"] == 150 and out["at_edge"]
    out = sel.choose_epochs({"single": [_curve([30, 30, 31])]})
    assert out["chosen"] == 50 and not out["at_edge"]          # tie: fewer epochs


def test_choose_epochs_skips_missing_candidates_and_refuses_none():
    short = pd.DataFrame({"epoch": [50, 100], "svhn_val_error": [30.0, 29.0]})
    out = sel.choose_epochs({"single": [short], "paired": [_curve([31, 30, 10])]})
    assert set(out["errors"]) == {50, 100} and out["chosen"] == 100
    with pytest.raises(ValueError, match="no candidate length"):
        sel.choose_epochs({"single": [pd.DataFrame({"epoch": [10], "svhn_val_error": [1.0]})]})


def test_search_seeds_are_apart_from_every_reported_seed():
    from jade_core.science.config import resolve_config
    assert not set(sel.SEARCH_SEEDS) & set(range(10))
    assert resolve_config("jade").w_cls in sel.W_CLS_CANDIDATES
    assert resolve_config("jade").mnist_batch_size in sel.MNIST_BATCH_CANDIDATES
    assert resolve_config("jade").epochs in sel.EPOCH_CANDIDATES


def test_the_settings_search_sweep_expands_its_grids_on_search_seeds_in_fp32():
    from pathlib import Path

    from jade_core.experiments.sweep import load_sweep
    from jade_core.science.config import resolve_config
    name, runs = load_sweep(Path(__file__).parents[1] / "sweeps" / "settings-search.yml", data_dir=".")
    cfgs = [resolve_config(**kw) for kw in runs]
    assert name == "settings-search" and len(cfgs) == 4 * 3 + 3 * 3 + 2 * 3 + 3
    assert {c.w_match for c in cfgs if c.variant == "jade"} == set(sel.W_MATCH_CANDIDATES)
    assert {c.seed for c in cfgs} == set(sel.SEARCH_SEEDS)
    assert {c.precision for c in cfgs} == {"fp32"} and all(c.channels_last for c in cfgs)
    assert {c.w_cls for c in cfgs if c.variant == "jade"} == set(sel.W_CLS_CANDIDATES)
    assert {c.mnist_batch_size for c in cfgs if c.variant == "paired"} == set(sel.MNIST_BATCH_CANDIDATES)
    assert {c.epochs for c in cfgs} == {max(sel.EPOCH_CANDIDATES)}
    assert all(str(c.run_dir).startswith("results/search/") for c in cfgs)


def test_a_grid_that_is_not_lists_is_refused(tmp_path):
    from jade_core.experiments.sweep import load_sweep
    from jade_core.science.config import ConfigError
    f = tmp_path / "s.yml"
    f.write_text("name: s\ngrids:\n  - {variant: jade, seed: [1]}\n")
    with pytest.raises(ConfigError, match="every grid maps field names to non-empty lists"):
        load_sweep(f)


def test_choose_setting_waits_for_every_candidate():
    t = _table([(1e4, 100, 30.0), (3e4, 100, 31.0)])
    with pytest.raises(ValueError, match=r"no finished run of the w_cls candidate\(s\) \[100000.0, 300000.0\] yet"):
        sel.choose_setting(t, "w_cls", 3e4, candidates=sel.W_CLS_CANDIDATES)
    assert sel.choose_setting(t, "w_cls", 3e4, candidates=(1e4, 3e4))["chosen"] == 1e4


def test_settings_choice_reads_finished_search_runs_by_configuration(tmp_path, monkeypatch):
    import json
    sweep = tmp_path / "s.yml"
    sweep.write_text(f"""name: s
base: {{protocol: local, epochs: 20, eval_every: 10, precision: fp32, w_cls: 30000.0, w_match: 30.0,
       mnist_batch_size: 256}}
output_dir: {tmp_path}/out/{{run}}
grids:
  - {{variant: [jade], w_cls: [10000.0, 30000.0, 100000.0, 300000.0], seed: [100]}}
  - {{variant: [jade], w_cls: [30000.0], w_match: [10.0, 100.0, 300.0], seed: [100]}}
  - {{variant: [paired], mnist_batch_size: [64, 256], seed: [100]}}
  - {{variant: [single], seed: [100]}}
""")
    from jade_core.experiments.sweep import load_sweep
    from jade_core.science.config import resolve_config
    # w_cls is chosen at the incumbent w_match (30) only: the w_match = 10 run at 30,000 has the lowest error
    # of all JADE runs, w_match = 100 the highest (unfiltered, 30,000 would average 38.3 and lose to 100,000);
    # then w_match is chosen at w_cls = 30,000
    errs = {("jade", 10000.0, 30.0): 40.0, ("jade", 30000.0, 30.0): 35.0, ("jade", 100000.0, 30.0): 38.0,
            ("jade", 300000.0, 30.0): 39.0, ("jade", 30000.0, 10.0): 20.0, ("jade", 30000.0, 100.0): 60.0, ("jade", 30000.0, 300.0): 61.0,
            ("paired", 64): 33.0, ("paired", 256): 34.0, ("single",): 45.0}
    for kw in load_sweep(sweep, profile="paper")[1]:
        cfg = resolve_config(**kw)
        key = ((cfg.variant, cfg.w_cls, cfg.w_match) if cfg.variant == "jade" else
               (cfg.variant, cfg.mnist_batch_size) if cfg.variant == "paired" else (cfg.variant,))
        d = cfg.run_dir
        d.mkdir(parents=True)
        (d / "config.json").write_text(json.dumps({"config": cfg.to_dict()}))
        (d / "metrics.json").write_text(json.dumps({"svhn_val": {"error": errs[key]}, "svhn": {"error": 1.0},
                                                    "matching_val": {"kl_match": cfg.w_match}}))
        (d / "curve.csv").write_text(f"epoch,svhn_val_error\n10,{errs[key] - 1}\n20,{errs[key]}\n")
    c = sel.settings_choice(sweep)
    assert c["runs_finished"] == c["runs_planned"] == 10
    assert c["w_cls"]["chosen"] == 30000.0 and c["mnist_batch_size"]["chosen"] == 64
    assert c["w_match"]["chosen"] == 10.0 and c["w_match"]["means"] == {10.0: 20.0, 30.0: 35.0, 100.0: 60.0, 300.0: 61.0}
    assert c["w_match"]["kl"] == {10.0: 10.0, 30.0: 30.0, 100.0: 100.0, 300.0: 300.0}
    assert c["epochs"] is None                      # the declared lengths 50/100/150 are not on 20-epoch curves
    # one length for all, at the chosen settings (JADE: w_cls 30,000 and w_match 10): lowest at epoch 10
    c = sel.settings_choice(sweep, epoch_candidates=(10, 20))
    assert c["epochs"]["chosen"] == 10 and c["epochs"]["per_model"]["jade"] == {10: 19.0, 20: 20.0}


def test_the_dose_response_rule_fails_without_matching_and_its_sweep_matches_the_declared_grid():
    from pathlib import Path

    from jade_core.experiments.sweep import load_sweep
    from jade_core.science.config import resolve_config
    assert not sel.posteriors_matched(12799.0) and not sel.posteriors_matched(float("nan"))
    assert sel.posteriors_matched(0.5) and not sel.posteriors_matched(0.51)
    cfgs = [resolve_config(**kw) for _, kw in sel.dose_response_runs()]
    assert sorted((c.w_match, c.seed) for c in cfgs) == [(w, s) for w in sel.DOSE_W_MATCH for s in sel.DOSE_SEEDS]
    same = {str({**c.semantic(), "w_match": None, "seed": None}) for c in cfgs}
    assert len(same) == 1 and cfgs[0].precision == "fp32"      # everything else equal, Table 1's runs included
    assert len(load_sweep(Path(__file__).parents[1] / sel.DOSE_SWEEP, data_dir=".")[1]) == 30  # made here


def test_a_tie_of_float32_errors_keeps_the_incumbent():
    import numpy as np
    e = lambda x: float(np.float32(x))   # as metrics.json stores them
    t = _table([(3e4, 100, e(36.2)), (3e4, 101, e(28.6)), (1e5, 100, e(30.2)), (1e5, 101, e(34.6))])
    out = sel.choose_setting(t, "w_cls", 3e4)
    assert out["means"][3e4] != out["means"][1e5]          # the float32 sums differ in the last digits
    assert out["chosen"] == 3e4                              # but the counts tie: the incumbent stays
    t.loc[0, "svhn_val_error"] = e(36.4)                     # one image more: a real difference
    assert sel.choose_setting(t, "w_cls", 3e4)["chosen"] == 1e5


def test_small_validation_stability_is_certain_on_the_whole_set_and_seeded():
    choice = sel.settings_choice()
    whole = sel.small_validation_stability(choice, per_class=50, draws=3)     # every image: no change possible
    assert all(whole[f]["same"] == 1.0 and whole[f]["other"] is None
               for f in ("w_cls", "mnist_batch_size", "w_match", "epochs"))
    small = sel.small_validation_stability(choice, per_class=10, draws=20, seed=1)
    assert 0 < small["w_cls"]["same"] < 1 and small["w_cls"]["other"] in sel.W_CLS_CANDIDATES
    assert small == sel.small_validation_stability(choice, per_class=10, draws=20, seed=1)  # seeded
    with pytest.raises(ValueError, match="fewer than 60"):
        sel.small_validation_stability(choice, per_class=60, draws=1)


def test_the_reading_search_pairs_the_per_pixel_runs_with_the_settings_search_own_runs():
    """sweeps/reading-search.yml: "sum" is the settings search's runs at the chosen weights (reused, found by
    configuration), "mean" the per-pixel reading with every weight 1, both on the search seeds only."""
    r = sel.reading_choice(Path(__file__).resolve().parents[1] / sel.READING_SEARCH)
    assert r["runs_planned"] == 2 * len(sel.SEARCH_SEEDS)
    t = r["table"]
    sums = t[t.rec_reduction == "sum"]
    assert sorted(sums.seed) == list(sel.SEARCH_SEEDS) and set(sums.w_cls) == {100000.0} and set(sums.w_match) == {100.0}
    assert all("/search/settings/variant-jade_w_cls-100000.0_w_match-100.0_seed-" in p for p in sums.path)
    means = t[t.rec_reduction == "mean"]
    assert set(means.seed) <= set(sel.SEARCH_SEEDS) and set(means.w_cls) <= {1.0} and set(means.w_match) <= {1.0}


def test_the_warmup_search_pairs_a_ramp_with_the_settings_search_own_runs_at_the_chosen_weights():
    """sweeps/warmup-search.yml: no warm-up is the settings search's runs at the committed weights (reused,
    found by configuration, so already finished), the 50-epoch ramp the only new runs, both on the search seeds
    only and at the weights Table 1 trains with (the rest is the settings search's base, its one-at-a-time
    incumbents, as for the reading search)."""
    from jade_core.science.config import RunConfig
    w = sel.warmup_choice(Path(__file__).resolve().parents[1] / sel.WARMUP_SEARCH)
    assert w["field"] == "w_match_warmup" and w["runs_planned"] == 2 * len(sel.SEARCH_SEEDS)
    t = w["table"]
    none = t[t.w_match_warmup == 0]
    assert sorted(none.seed) == list(sel.SEARCH_SEEDS)
    assert all("/search/settings/variant-jade_w_cls-100000.0_w_match-100.0_seed-" in p for p in none.path)
    assert set(t.w_cls) == {RunConfig.w_cls} and set(t.w_match) == {RunConfig.w_match}
    assert set(t.seed) <= set(sel.SEARCH_SEEDS) and set(t.w_match_warmup) <= set(sel.WARMUP_CANDIDATES)
    assert set(t.rec_reduction) == {RunConfig.rec_reduction}


def test_one_setting_choice_keeps_the_incumbent_until_every_candidate_shares_a_seed(tmp_path):
    """Planted: the ramp finished on one seed only where no warm-up has none -> no choice; a ramp ahead on the
    shared seed -> chosen; an exact tie -> the incumbent."""
    import json

    import yaml
    from jade_core.science.config import resolve_config
    spec = {"name": "w", "profile": "paper", "base": {"variant": "jade", "protocol": "local", "epochs": 2,
                                                      "w_match_warmup": 0},
            "seeds": [100, 101], "output_dir": str(tmp_path / "{run}"),
            "runs": [{"run": "none"}, {"run": "ramp", "w_match_warmup": 50}]}
    f = tmp_path / "w.yml"
    f.write_text(yaml.safe_dump(spec))

    def plant(run, seed, err, **kw):
        cfg = resolve_config("jade", "paper", protocol="local", epochs=2, seed=seed, data_dir=".",
                             output_dir=str(tmp_path / f"{run}_seed-{seed}"), **kw)
        cfg.run_dir.mkdir(parents=True)
        (cfg.run_dir / "config.json").write_text(json.dumps({"config": cfg.to_dict()}))
        (cfg.run_dir / "metrics.json").write_text(json.dumps({"svhn_val": {"error": err}}))
        (cfg.run_dir / "curve.csv").write_text("epoch\n1\n")
    plant("ramp", 100, 20.0, w_match_warmup=50)
    plant("none", 101, 30.0, w_match_warmup=0)
    assert sel.warmup_choice(f)["choice"] is None and sel.warmup_choice(f)["runs_finished"] == 2
    plant("none", 100, 25.0, w_match_warmup=0)
    assert sel.warmup_choice(f)["choice"]["chosen"] == 50
    plant("ramp", 101, 35.0, w_match_warmup=50)  # means over 100 and 101: 27.5 against 27.5
    assert sel.warmup_choice(f)["choice"]["chosen"] == 0


def test_the_studies_made_before_the_warmup_keep_it_and_compare_with_table1_made_the_same_way():
    """Every JADE run of a grid in selection.KEPT_BY_STUDIES has the value it keeps, and the Table 1 runs those
    studies read (sweeps/table1-before-warmup.yml) are Table 1's JADE in every setting but that one."""
    from jade_core.experiments.grid import expected
    from jade_core.experiments.studies import TABLE1_BEFORE_WARMUP
    from jade_core.science.config import RunConfig, resolve_config
    for field, (kept, grids) in sel.KEPT_BY_STUDIES.items():
        assert getattr(RunConfig, field) != kept, field      # Table 1 carries the choice; the studies do not
        for name in grids:
            jade = [resolve_config(**kw) for label, kw in expected(name, "paper") if kw.get("variant") == "jade"]
            assert jade and all(getattr(c, field) == kept for c in jade), name
        t1 = {kw["seed"]: resolve_config(**kw).semantic() for label, kw in expected("table1", "paper") if label == "jade"}
        before = {kw["seed"]: resolve_config(**kw).semantic() for _, kw in expected(TABLE1_BEFORE_WARMUP, "paper")}
        assert before and set(before) <= set(t1)
        for seed, cfg in before.items():
            assert {k for k in cfg if cfg[k] != t1[seed][k]} == {field}, seed
    # the dose-response's shared dose 100 is read from there, not from the Table 1 JADE that warms up
    shared = [kw for w, kw in sel.dose_response_runs() if w == RunConfig.w_match]
    assert shared and all(resolve_config(**kw).w_match_warmup == 0 for kw in shared)
