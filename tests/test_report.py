import numpy as np
import pandas as pd
import pytest
from jade_core.reporting import report
from jade_core.reporting.report import failed_to_train, summary_table


def runs():
    rows = []
    for s in range(5):
        rows.append(dict(variant="single", protocol="local", seed=s, svhn_error=40 + s, mnist_error=None, train_seconds=60,
                         final_train_ce=0.05))
        rows.append(dict(variant="jade", protocol="local", seed=s, svhn_error=38 + s + 0.1 * (s % 2), mnist_error=1.0,
                         train_seconds=120, final_train_ce=0.05))
    return pd.DataFrame(rows)


def test_summary_mean_sd_and_order():
    t = summary_table(runs())
    assert list(t.variant) == ["single", "jade"]
    single = t.iloc[0]
    assert single.svhn_mean == 42 and single.svhn_sd == pytest.approx(np.std([40, 41, 42, 43, 44], ddof=1))
    assert single.seeds == 5 and np.isnan(single.mnist_mean) and single.failed == 0 and single.svhn_median == 42


def test_runs_stuck_at_chance_are_flagged_from_the_training_loss():
    r = runs()
    r.loc[0, "final_train_ce"] = 2.303  # ln 10: never left the plateau
    r.loc[1, "final_train_ce"] = 1.9
    assert list(failed_to_train(r)[:3]) == [True, False, False]
    assert summary_table(r).set_index("variant").loc["single", "failed"] == 1
    # every run failed (as in 2-epoch smoke runs): the table without them is empty but has its columns
    r["final_train_ce"] = 2.303
    empty = summary_table(r[~failed_to_train(r)])
    assert empty.empty and "svhn_mean" in empty.columns and empty.set_index("variant").index.empty


@pytest.mark.parametrize("file, name", [("README.md", "claims"), ("README.md", "jade-table"),
                                        ("benchmarks/README.md", "precision")])
def test_the_readmes_quote_the_blocks_generated_from_the_committed_runs(file, name):
    """The README's claims and Table 1 blocks, and the benchmarks README's precision table, are exactly what
    benchmarks/update_readme.py generates from results/ (never typed by hand)."""
    import importlib.util
    import re
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("update_readme", root / "benchmarks" / "update_readme.py")
    update = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(update)
    block = re.search(rf"<!-- {name}:start -->\n(.*?)<!-- {name}:end -->", (root / file).read_text(), re.S)
    assert block, f"{file} lacks the {name} markers"
    assert block.group(1) == update.blocks()[(file, name)], f"{file} out of date: run python benchmarks/update_readme.py"


def _fake_run(output_dir, variant, seed, mnist_val, **changes):
    """A finished run folder with only the numbers mnist_gap reads, named as its configuration names it."""
    import json

    from jade_core.science.config import resolve_config
    cfg = resolve_config(variant, "paper", seed=seed, output_dir=str(output_dir), data_dir=".", **changes)
    d = cfg.run_dir
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps({"config": cfg.to_dict()}))
    steps = cfg.epochs * 16
    (d / "metrics.json").write_text(json.dumps({
        "svhn": {"error": 30.0, "n": 5500}, "svhn_val": {"error": 31.0}, "mnist": {"error": mnist_val - 0.2},
        "mnist_val": {"error": mnist_val}, "steps": steps, "train_seconds": 1.0}))
    (d / "curve.csv").write_text("epoch,svhn_ce\n1,0.1\n")


def test_recipe_label_names_the_schedule_or_the_tuned_recipe():
    for one in ({"aug_shift": 3}, {"aug_invert": 0.5}, {"aug_contrast": 0.3}, {"label_smoothing": 0.1},
                {"optimizer": "adamw"}):
        assert report.recipe_label(one) == "tuned recipe", one
    assert report.recipe_label({}) == "plain, constant learning rate"
    assert report.recipe_label({"lr_schedule": "onecycle"}) == "plain, one-cycle schedule"
    assert report.recipe_label({"lr_schedule": "onecycle", "optimizer": "adamw"}) == "tuned recipe"
    assert report.recipe_label({"aug_cutout": 10}) == "tuned recipe"


def _recipe_base() -> dict:
    """The tuned recipe's fields (the base of sweeps/recipe-remake.yml, the protocol aside)."""
    import yaml
    from jade_core.experiments.grid import ROOT
    return {k: v for k, v in yaml.safe_load((ROOT / "sweeps" / "recipe-remake.yml").read_text())["base"].items()
            if k != "protocol"}


def test_mnist_gap_pairs_the_schedule_runs_with_table1_runs_of_the_same_seeds(tmp_path):
    import json

    for seed in (0, 1, 2):
        _fake_run(tmp_path / "remake", "paired", seed, 1.7)             # Table 1, constant rate
    _fake_run(tmp_path / "remake", "paired", 0, 9.9, lr=0.002, w_match=3.0)  # another configuration: not Table 1's
    _fake_run(tmp_path / "ms" / "p2400", "paired", 0, 1.2, lr_schedule="onecycle", restart_epoch=100)
    _fake_run(tmp_path / "ms" / "p4800", "paired", 0, 1.1, lr_schedule="onecycle", restart_epoch=100, epochs=300)
    recipe = _recipe_base()                                    # the tuned recipe's runs: sweeps/recipe-remake.yml
    _fake_run(tmp_path / "recipe-remake", "paired", 3, 0.8, **recipe)
    _fake_run(tmp_path / "recipe-remake", "single", 3, 0.1, **recipe)
    _fake_run(tmp_path / "recipe-remake", "paired", 4, 0.5, **{**recipe, "aug_cutout": 0})  # not the recipe's
    (tmp_path / "recipe-remake" / "choice.json").write_text(json.dumps({"chosen": "r", "recipe": recipe, "table": []}))
    gap = report.mnist_gap(tmp_path, tmp_path / "ms")
    rows = {(r.variant, r.recipe, r.steps, r.seed): r.mnist_val_error for r in gap.itertuples()}
    assert rows == {("paired", "plain, constant learning rate", 2400, 0): 1.7,
                    ("paired", "plain, one-cycle schedule", 2400, 0): 1.2,
                    ("paired", "plain, one-cycle schedule", 4800, 0): 1.1,
                    ("paired", "tuned recipe", 9600, 3): 0.8}
    assert gap.mnist_error.round(2).tolist() == [1.5, 1.0, 0.9, 0.6]
    assert list(gap.columns) == ["variant", "seed", "recipe", "steps", "mnist_val_error", "mnist_error",
                                 "svhn_val_error", "svhn_error"] and list(gap.index) == [0, 1, 2, 3]
    none = report.mnist_gap(tmp_path, tmp_path / "none")
    assert none.empty and list(none.columns) == list(gap.columns)
    _rename_every_run(tmp_path)                                          # a name decides nothing
    assert report.mnist_gap(tmp_path, tmp_path / "ms").equals(gap)


def _rename_every_run(root):
    for i, m in enumerate(sorted(root.glob("**/runs/*/*/metrics.json"))):
        m.parent.rename(m.parent.with_name(f"renamed-{i}"))


def test_report_defaults_read_the_results_folder(tmp_path, monkeypatch):
    """Without arguments, mnist_gap reads results/ and results/mnist-schedule."""
    monkeypatch.chdir(tmp_path)
    _fake_run(tmp_path / "results" / "remake", "paired", 0, 1.7)
    _fake_run(tmp_path / "results" / "mnist-schedule" / "p2400", "paired", 0, 1.2, lr_schedule="onecycle")
    gap = report.mnist_gap()
    assert len(gap) == 2 and gap.equals(report.mnist_gap("results", "results/mnist-schedule"))


def test_collect_recipe_takes_the_recipe_grids_runs_only(tmp_path):
    """The tuned recipe's runs are those of sweeps/recipe-remake.yml, found by configuration: a run of another
    recipe beside them is not one, renaming every folder changes nothing, and ``seeds`` keeps the reported."""
    import json

    from jade_core.experiments.studies import collect_recipe
    base = _recipe_base()
    (tmp_path / "recipe-remake").mkdir()
    (tmp_path / "recipe-remake" / "choice.json").write_text(json.dumps({"chosen": "r", "recipe": base, "table": []}))
    for v, seed in (("single", 0), ("paired", 0), ("paired", 1)):
        _fake_run(tmp_path / "recipe-remake", v, seed, 0.9, **base)
    _fake_run(tmp_path / "recipe-remake", "paired", 2, 0.9, **{**base, "epochs": 300})  # another recipe
    runs, chosen = collect_recipe(tmp_path)
    assert chosen == "r" and sorted(runs.variant) == ["paired", "paired", "single"] and set(runs.seed) == {0, 1}
    _rename_every_run(tmp_path)
    again = collect_recipe(tmp_path)[0]
    assert again.drop(columns="path").equals(runs.drop(columns="path")) and runs.config.tolist() == \
        again.config.tolist()
    assert sorted(collect_recipe(tmp_path, seeds=[1])[0].seed) == [1]
    assert collect_recipe(tmp_path / "nothing")[0].empty and collect_recipe(tmp_path / "nothing")[1] is None


def test_mnist_gap_findings_read_a_planted_gap_back():
    import pandas as pd
    rows = []
    for v, plain, sched, tuned in (("paired", 1.25, 1.10, 0.80), ("jade", 1.10, 0.95, 0.70)):
        for s in (0, 1):
            rows += [{"variant": v, "recipe": "plain, constant learning rate", "steps": 2400, "seed": s,
                      "mnist_val_error": plain, "mnist_error": plain, "svhn_val_error": 30.0, "svhn_error": 31.0},
                     {"variant": v, "recipe": "plain, one-cycle schedule", "steps": 2400, "seed": s,
                      "mnist_val_error": sched, "mnist_error": sched, "svhn_val_error": 29.0, "svhn_error": 30.0},
                     {"variant": v, "recipe": "tuned recipe", "steps": 9600, "seed": s,
                      "mnist_val_error": tuned, "mnist_error": tuned, "svhn_val_error": 10.0, "svhn_error": 10.0}]
    shown, v = report.mnist_gap_findings(pd.DataFrame(rows))
    assert len(shown) == 6 and "MNIST validation error (%)" in shown.columns
    assert (v["g_paired_const"], v["g_paired_onecycle"], v["g_paired_tuned"]) == ("1.25", "1.10", "0.80")
    assert v["g_jade_tuned_test"] == "0.70" and v["g_paired_twice"] == "–" and v["g_paired_seeds"] == "0, 1"
    assert (v["g_paired_svhn_const"], v["g_paired_svhn_onecycle"]) == ("31.00", "30.00")
    assert v["g_closes"] == "the tuned recipe"                       # 0.80 and 0.70 are within the paper's + 0.05
    _, v = report.mnist_gap_findings(pd.DataFrame([{**r, "mnist_error": r["mnist_error"] + 1} for r in rows]))
    assert v["g_closes"] == "neither for both models"
    empty, none = report.mnist_gap_findings(pd.DataFrame())
    assert empty.empty and set(none) == set(v) and none["g_jade_const"] == "–" and "not run" in none["g_closes"]


def test_recipe_findings_of_the_committed_study_and_of_none(tmp_path):
    """The committed re-made study (all 15 final runs finished, so it replaces the first): its search on the
    search seeds, its 15 reported runs (3 models x seeds 0-4), three claims in a table and in words, each one
    verdict; an empty folder: no study, the command that makes one."""
    import warnings
    from pathlib import Path
    results = Path(__file__).resolve().parents[1] / "results"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = report.recipe_findings(results)
    search, text, final = r["search"], r["text"], r["final"]
    assert r["study"] == "recipe-remake" and "search seeds 100, 101, 102, which no table reports" in r["intro"]
    assert len(final) == 15 and "chosen" in search.columns and "mean over the seeds (%)" in search.columns
    assert sorted(set(final.seed)) == list(range(5)) and sorted(set(final.variant)) == ["jade", "paired", "single"]
    assert text.startswith("The re-made search chose **")
    assert sum(text.count(f": {v}") for v in ("reproduced", "contradicted", "inconclusive")) == 3
    assert len(r["claims"]) == 3 and "leans against JADE" in text
    none = report.recipe_findings(tmp_path)
    assert none["search"] is None and "jade study recipe" in none["text"] and none["final"].empty


def test_departures_are_read_from_the_configuration_and_the_code():
    import dataclasses

    from jade_core.science.config import resolve_config
    from jade_core.science.losses import LIKELIHOODS
    cfg = dataclasses.replace(resolve_config("jade", data_dir=".", optimizer="adamw", lr=0.003), mnist_val_size=None)
    t = report.departures(cfg, (3, 10)).set_index("what")["here"]
    assert t["optimiser"] == "AdamW" and t["learning rate"] == "0.003" and t["seeds"] == "3–10 per model"
    assert t["MNIST likelihood"] == LIKELIHOODS["mnist"] and t["MNIST split"] == "first 45,000 train / the rest validation"
    assert report.departures(resolve_config("jade", data_dir="."), (1, 1)).set_index("what")["here"]["optimiser"] == "Adam"


def test_recipe_selection_caveat_measures_the_gain_of_picking_the_best_and_names_a_reported_search_seed():
    choice = {"chosen": "b", "table": [{"candidate": "a", "svhn_val_error": 14.0},
                                       {"candidate": "b", "svhn_val_error": 11.0},
                                       {"candidate": "c", "svhn_val_error": 14.0}]}
    final = pd.DataFrame({"seed": [0, 1, 2]})
    text = report.recipe_selection_caveat(choice, final, search_seeds=[0])
    assert "2.00 pp below the mean of the 3 candidates" in text and "The search ran on seed 0, which the final" in text
    apart = report.recipe_selection_caveat(choice, final, search_seeds=[100, 101])
    assert "2.00 pp" in apart and "final runs also report" not in apart
    from jade_core.experiments import studies
    assert studies.recipe_search_seeds() == [100, 101, 102]   # the committed search: on the search seeds ...
    assert studies.recipe_reported_seeds() == [0, 1, 2, 3, 4]  # ... so the table reports every final seed


def _plant(kw: dict, svhn: float, val: float) -> None:
    """A finished run of sweep run ``kw`` (resolve_config keyword arguments) with the SVHN evaluation and
    validation errors given, in the folder its configuration names."""
    import json

    from jade_core.science.config import resolve_config
    cfg = resolve_config(**{**kw, "data_dir": "."})
    cfg.run_dir.mkdir(parents=True)
    pool = np.random.default_rng(cfg.seed).permutation(2500)[:10 * cfg.labels_per_class]  # a seed's own pool
    (cfg.run_dir / "config.json").write_text(json.dumps({"config": cfg.to_dict(),
                                                         "data": {"pool_official_index": pool.tolist()}}))
    (cfg.run_dir / "metrics.json").write_text(json.dumps({
        "svhn": {"error": svhn, "n": 5500}, "svhn_val": {"error": val}, "mnist": {"error": 0.5},
        "steps": 100, "train_seconds": 1.0}))
    (cfg.run_dir / "curve.csv").write_text("epoch,svhn_ce\n1,0.1\n")


def test_the_remade_recipe_is_reported_only_once_finished_and_read_against_table1s_plain_runs(tmp_path, monkeypatch):
    """The recipe study on planted runs: with every final run and the choice written, it is reported (book,
    `jade table --recipe`, README) with the rule's choice and its mean over the search seeds, on seeds 0-4
    beside Table 1's plain runs of the same seeds."""
    import json

    from jade_core.experiments import studies
    monkeypatch.chdir(tmp_path)                           # the search's folder is relative to the working folder
    results = tmp_path / "results"
    search = studies.sweep_runs(studies.RECIPE_REMAKE_SEARCH, results)
    val = {"shift-invert-contrast": 14.0, "plus-cutout-smoothing": 13.0, "plus-cutout-smoothing-600ep": 11.0,
           "plus-cutout-smoothing-lr1e-3": 15.0, "plus-cutout-smoothing-wd5e-3": 16.0}
    name = lambda kw: kw["output_dir"].rsplit("/", 1)[-1].removesuffix(f"_seed-{kw['seed']}")
    for kw in search:                                     # seeds 100-102: -1, 0, +1 around the planted mean
        _plant(kw, 12.0, val[name(kw)] + (kw["seed"] - 101))
    final = studies.sweep_runs(studies.RECIPE_REMAKE_FINAL, results)
    tuned = {"single": 10.0, "paired": 9.0, "jade": 9.5}
    for kw in final:
        _plant(kw, tuned[kw["variant"]] + 0.1 * kw["seed"] + 0.05 * (kw["seed"] % 2) * (kw["variant"] == "jade"), 10.0)
    for kw in studies.sweep_runs("sweeps/table1.yml", results):  # Table 1's plain runs of the same seeds
        if kw["variant"] in tuned and kw.get("w_match", 1) != 0:  # seeds 0-9: the page reads 0-4
            _plant(kw, 99.0 if kw["variant"] == "jade" else 30.0 + kw["seed"], 31.0)
    for kw in studies.sweep_runs("sweeps/table1-before-warmup.yml", results):  # JADE as the study: no warm-up
        _plant(kw, 29.0 + kw["seed"], 31.0)
    assert report.recipe_findings(results)["search"] is None  # no choice written yet: nothing reported
    choice = studies.recipe_choice(search)
    (results / "recipe-remake" / "choice.json").write_text(json.dumps(choice))
    rep = studies.reported_recipe(results)
    assert rep["seeds"] == [0, 1, 2, 3, 4] and len(rep["runs"]) == 15 and rep["chosen"] == "plus-cutout-smoothing-600ep"
    r = report.recipe_findings(results)
    assert r["study"] == "recipe-remake" and len(r["final"]) == 15 and "seeds 100, 101, 102" in r["intro"]
    s = r["search"].set_index("candidate")
    assert s.loc["plus-cutout-smoothing-600ep", "mean over the seeds (%)"] == 11.0
    assert s.loc["plus-cutout-smoothing-600ep", "seed 100: SVHN validation error (%)"] == 10.0
    assert list(s.chosen).count("chosen") == 1 and s.loc["plus-cutout-smoothing-600ep", "chosen"] == "chosen"
    assert "With it, on seeds 0, 1, 2, 3, 4" in r["text"] and "Single classifier 10.20 ± 0.16 % against 32.00 ± 1.58 %" \
        in r["text"] and "JADE 9.72 ± 0.16 % against 31.00 ± 1.58 %" in r["text"]
    c = r["claims"].set_index("claim")
    assert len(c) == 3 and c.loc["paired beats single", "mean_difference"] == pytest.approx(-1.0)
    assert "The re-made search chose **plus-cutout-smoothing-600ep**: 11.00 % SVHN validation error averaged over " \
           "the search seeds 100, 101, 102, against 13.00–16.00 % for the other candidates" in r["text"]
    assert "leans against JADE" in r["text"]
    assert "Arithmetic of these runs: 30 in fp32 on cpu" in r["text"]  # the 15 tuned runs and the 15 plain ones
    assert "The 5 seeds' labelled pools overlap" in r["text"]


def test_jade_name_says_no_warm_up_only_when_every_matched_jade_run_lacks_it(tmp_path):
    """The budget and recipe pages name their JADE from the runs' recorded configurations: Table 1's JADE
    carries the warm-up of w_match; runs made without it are named so (the w_match = 0 ablation aside)."""
    import json

    def run(name, variant, **cfg):
        d = tmp_path / name
        d.mkdir()
        (d / "config.json").write_text(json.dumps({"config": {"variant": variant, **cfg}}))
        return d
    nowarm = run("a", "jade", w_match=100.0, w_match_warmup=0)
    ablation = run("b", "jade", w_match=0.0, w_match_warmup=0)
    single = run("c", "single")
    warm = run("d", "jade", w_match=100.0, w_match_warmup=50)
    old = run("e", "jade", w_match=100.0)                      # saved before the field existed: no warm-up
    assert report.jade_name([nowarm, ablation, single]) == report.jade_name([old]) == "JADE, no warm-up"
    assert report.jade_name([warm, ablation]) == report.jade_name([warm, nowarm]) == "JADE"
