"""The introduction's findings: one function that computes every sentence the intro glues, from the
same library functions the chapters use (so the intro quotes its chapters' verdicts, never recomputes
them its own way)."""
from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..experiments import audit, grid, selection, studies
from ..experiments.runs import saved_run_config
from ..experiments.sweep import run_all
from ..science import latent
from ..science.config import ConfigError, RunConfig, resolve_config
from ..science.data import available_protocols, build_splits, load_split
from ..science.models import LATENT_CONTENT, N_CLASSES
from ..science.train import PLATEAU_FRACTION
from . import budget, claims, dose, report, verdicts
from .plotting import VARIANT_NAMES


def _verdicts_by_budget(claims: pd.DataFrame, claim: str) -> str:
    """``"inconclusive at every budget"``, or each budget's verdict (``"10: reproduced, 25: inconclusive"``)."""
    rows = claims[claims.claim == claim] if len(claims) else claims
    if rows.empty:
        return "not judged yet"
    if rows.verdict.nunique() == 1:
        return f"{rows.verdict.iloc[0]} at every budget"
    return ", ".join(f"{r.labels_per_class}: {r.verdict}" for r in rows.itertuples())


def _kl_per_dim(paths) -> str:
    """Mean over runs of the matching KL on validation pairs per content dimension (nats), for a page; "–"
    where no run recorded one (planted frames without folders included)."""
    kl = []
    for p in paths:
        f = Path(p) / "metrics.json"
        if f.exists():
            kl.append(json.loads(f.read_text()).get("matching_val", {}).get("kl_match"))
    kl = [k for k in kl if k is not None]
    if not kl:
        return "–"
    x = float(np.mean(kl)) / LATENT_CONTENT
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}"


def claims_record(runs: pd.DataFrame, output_dir, profile: str) -> tuple:
    """``(record, no_warmup)``: :func:`jade_core.reporting.claims.record` of Table 1's ``runs`` with the sensitivity
    rows of Table 1's JADE made without the warm-up (``no_warmup``: those runs, of the same protocol)."""
    no_warmup = studies.table1_without_warmup(output_dir, profile)
    no_warmup = no_warmup[no_warmup.protocol.isin(set(runs.protocol))] if len(runs) else no_warmup
    rec = claims.record(runs, no_warmup) if len(runs) else pd.DataFrame(columns=claims.COLUMNS)
    return rec, no_warmup


def claims_values(rec: pd.DataFrame) -> dict:
    """The glue values of a claims record: per claim its verdict, mean difference and the paper's
    (``c_<key>_verdict`` ...), how many SVHN claims are reproduced, and how many verdicts the warm-up changes."""
    v = {}
    for r in rec.itertuples():
        v[f"c_{r.key}_verdict"], v[f"c_{r.key}_mean"] = r.verdict, f"{r.mean:+.2f}"
        v[f"c_{r.key}_paper"] = f"{r.paper:+.2f}"
    by_key = rec.set_index("key").verdict if len(rec) else pd.Series(dtype=object)
    svhn = [k for k, *_ in claims.PAPER_CLAIMS if k in by_key.index]
    v["c_svhn_reproduced"] = str(sum(by_key[k] == "reproduced" for k in svhn))
    v["c_svhn_claims"] = str(len(svhn))
    v["c_warmup_changes"] = str(sum(by_key[k] != by_key[f"{k}_no_warmup"] for k in svhn
                                    if f"{k}_no_warmup" in by_key.index))
    return v


def claims_runs(rec: pd.DataFrame) -> dict:
    """The runs each glue value of :func:`claims_values` was computed from (its ledger entry's provenance): a
    claim's values, the two models' runs of that claim; the counts, the runs of the claims they count."""
    out = {}
    for r in rec.itertuples():
        for what in ("verdict", "mean", "paper"):
            out[f"c_{r.key}_{what}"] = list(r.runs)
    svhn = rec[rec.key.isin([k for k, *_ in claims.PAPER_CLAIMS])]
    out["c_svhn_reproduced"] = out["c_svhn_claims"] = sorted({p for runs in svhn.runs for p in runs})
    jade = rec[rec.key.str.startswith("jade_") & (rec.key != "jade_mnist")]
    out["c_warmup_changes"] = sorted({p for runs in jade.runs for p in runs})
    return out


def intro(runs: pd.DataFrame, output_dir, profile: str, latent_table: pd.DataFrame | None = None) -> dict:
    """The front page: ``{"record", "figure2", "values", "read"}``. ``record``: the claims record of Table 1's
    ``runs`` (:func:`jade_core.reporting.claims.record`, with the warm-up sensitivity rows); ``figure2``: Figure 2's
    row from ``latent_table`` (:func:`jade_core.reporting.report.latent_table`), None without one; ``values``: the
    page's glue values, each a number, a verdict word or a short phrase; ``read``: every run folder they read."""
    rec, no_warmup = claims_record(runs, output_dir, profile)
    read = list(runs.path) + list(no_warmup.path)
    v = {"intro_seeds": str(runs.seed.nunique()) if len(runs) else "0", **claims_values(rec)}
    fig2 = None
    if latent_table is not None and len(latent_table):
        controls, f2 = figure2(latent_table)
        fig2 = claims.figure2_row(controls, float(f2["f2_content_style"]), list(runs[runs.variant == "jade"].path))
        v["f2_content_style"], v["f2_verdict"] = f2["f2_content_style"], fig2["verdict"]
    # what matching achieves: the matching KL per content dimension on validation pairs, against the dose rule
    jade, nomatch = runs[runs.variant == "jade"], runs[runs.variant == "jade_nomatch"]
    d = dose_page()  # the committed dose-response runs, in every profile (it never trains)
    strongest = d["summary"].sort_values("w_match").iloc[-1] if len(d["summary"]) else None
    v.update({"match_kl_none": _kl_per_dim(nomatch.path), "match_kl_jade": _kl_per_dim(jade.path),
              "match_kl_rule": f"{selection.MATCHED_KL_PER_DIM:g}",
              "match_w_strongest": f"{strongest.w_match:,g}" if strongest is not None else "–",
              "match_kl_strongest": f"{strongest.val_kl_per_dim:.1f}" if strongest is not None else "–",
              "dose_helps": d["values"]["dose_helps"], "dose_hurts": d["values"]["dose_hurts"] or "none",
              "dose_matched": d["values"]["dose_matched"]})
    read += list(d["runs"].path)
    bruns = budget.equal_steps_runs(output_dir, profile)
    bclaims = budget.budget_claims(budget.comparable(bruns))
    v.update({k: t for k, t in budget_words(bclaims).items() if k in ("b_ps_verdicts", "b_jp_verdicts")})
    read += list(bruns.path)
    rep = studies.reported_recipe(output_dir)
    rfinal = rep["runs"]
    rsum = report.summary_table(rfinal).set_index("variant") if len(rfinal) else pd.DataFrame()
    rclaims = (report.claims_table(rfinal, report.family_of(rfinal)).set_index("claim")
               if len(rfinal) and rfinal.variant.nunique() == 3 else pd.DataFrame())
    for m in ("single", "paired", "jade"):
        v[f"r_{m}"] = f"{rsum.loc[m].svhn_mean:.1f}" if m in rsum.index else "–"
        if m != "single":
            v[f"r_{m}_mnist"] = f"{rsum.loc[m].mnist_mean:.2f}" if m in rsum.index else "–"
    v["r_jade_paired"] = rclaims.verdict.get("JADE beats paired", "not judged") if len(rclaims) else "not judged"
    read += list(rfinal.path)
    return {"record": rec, "figure2": fig2, "values": v, "read": read, "runs_of": claims_runs(rec)}


def figure2(table: pd.DataFrame) -> tuple:
    """Figure 2's finding from :func:`jade_core.reporting.report.latent_table`: ``(controls, values)``. ``controls``:
    one row per control (paired, single) of :func:`jade_core.reporting.report.content_steadiness`; ``values``: the
    chapter's glue values (the ratios, p-values, seed counts, JADE's content/style ratio, and the words that
    differ with the result: how the ratio reads against the paper, steadier or not than each control, and
    whether the effect is specific to JADE).

    JADE's content/style ratio is :func:`jade_core.science.latent.content_style_ratio_over_seeds` (below
    1: content steadier than style, as the paper reads Figure 2); the effect is specific to JADE only
    when its content is significantly steadier than both classifiers' bottlenecks."""
    rows, values = [], {}
    for control in ("paired", "single"):
        c = report.content_steadiness(table, "jade", control)
        rows.append({"JADE content against": VARIANT_NAMES[control], "seeds": c["seeds"],
                     "ratio (geometric mean)": c["ratio"], "JADE lower in": f"{c['lower']}/{c['seeds']}",
                     "p (two-sided t, log ratio)": c["p"], "steadier": c["steadier"]})
        values[f"f2_ratio_{control}"] = f"{c['ratio']:.2f}"
        values[f"f2_p_{control}"] = "–" if np.isnan(c["p"]) else f"{c['p']:.2g}"
        values[f"f2_n_{control}"] = str(c["seeds"])
    j = table[table.variant == "jade"]
    ratio = latent.content_style_ratio_over_seeds(j.content_within, j.style_within)
    values["f2_content_style"] = f"{ratio:.2f}"
    values["f2_min_seeds"] = str(report.STEADINESS_MIN_SEEDS)
    values["f2_reading"] = "below 1, as the paper reads Figure 2" if ratio < 1 else "not below 1, unlike the paper's Figure 2"
    for r, control in zip(rows, ("paired", "single")):
        values[f"f2_vs_{control}"] = "steadier" if r["steadier"] else "not clearly steadier"
    values["f2_specific"] = "specific to JADE" if all(r["steadier"] for r in rows) else "not specific to JADE"
    return pd.DataFrame(rows), values


# Every setting chosen on validation data that Table 1's runs carry: (RunConfig field, the model its search trained).
TUNED = (("w_cls", "JADE"), ("w_match", "JADE, at the chosen w_cls"), ("mnist_batch_size", "paired classifier"),
         ("epochs", "all three models"), ("rec_reduction", "JADE"), ("w_match_warmup", "JADE"))


def _setting(value) -> str:
    return f"{value:,g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def tuning(root=None, draws: int = 200) -> dict:
    """The tuning chapter: every setting of :data:`TUNED`, chosen on the development part on the search seeds
    (:data:`jade_core.experiments.selection.SEARCH_SEEDS`) by ``choose_setting`` / ``choose_epochs`` (lowest mean
    SVHN validation error). Returns ``{"table"}`` (one row per setting: its search's candidates, the choice, its
    mean validation error, the runner-up's, the margin, and how often the choice survives validating on
    :data:`~jade_core.experiments.selection.SMALL_VAL_PER_CLASS` images per digit, ``draws`` simulated draws), the
    glue ``values``, the ``paths`` of the runs read, and ``consistent``: the committed :class:`RunConfig` carries
    every choice (the build fails otherwise). Raises ConfigError naming the sweep to run while a search lacks a seed
    with every candidate."""
    root = Path(root or grid.ROOT)
    settings = selection.settings_choice(root / selection.SETTINGS_SEARCH)
    reading = selection.reading_choice(root / selection.READING_SEARCH)
    warmup = selection.warmup_choice(root / selection.WARMUP_SEARCH)
    epochs = settings["epochs"] and {"chosen": settings["epochs"]["chosen"], "means": settings["epochs"]["errors"]}
    outcomes = {"w_cls": settings["w_cls"], "w_match": settings["w_match"],
                "mnist_batch_size": settings["mnist_batch_size"], "epochs": epochs,
                "rec_reduction": reading["choice"], "w_match_warmup": warmup["choice"]}
    files = {"rec_reduction": selection.READING_SEARCH, "w_match_warmup": selection.WARMUP_SEARCH}
    for field, outcome in outcomes.items():
        if outcome is None:
            raise ConfigError(f"the search of {field} has no seed with every candidate finished; run "
                              f"`jade sweep {files.get(field, selection.SETTINGS_SEARCH)}`.")
    stability = selection.small_validation_stability(settings, draws=draws) if draws else {}
    rows, v = [], {}
    for field, model in TUNED:
        o = outcomes[field]
        chosen, means = o["chosen"], o["means"]
        runner_up = min(e for k, e in means.items() if k != chosen)
        rows.append({"setting": field, "searched on": model,
                     "candidates": ", ".join(_setting(k) for k in means), "chosen": _setting(chosen),
                     "its SVHN val. error (%)": means[chosen], "next best (%)": runner_up,
                     "margin (pp)": runner_up - means[chosen],
                     "same choice, fewer val. images (%)": (100 * stability[field]["same"] if field in stability
                                                            else float("nan")),
                     "sweep file": f"`{files.get(field, selection.SETTINGS_SEARCH)}`"})
        v[f"tuning_{field}"] = _setting(chosen)
        v[f"tuning_{field}_margin"] = f"{runner_up - means[chosen]:.1f}"
    table = pd.DataFrame(rows)
    committed = {f: getattr(RunConfig, f) for f, _ in TUNED}
    consistent = all(committed[f] == outcomes[f]["chosen"] for f, _ in TUNED)
    paths = list(settings["table"].path) + list(reading["table"].path) + list(warmup["table"].path)
    v.update({"tuning_seeds": ", ".join(map(str, selection.SEARCH_SEEDS)), "tuning_runs": str(len(set(paths))),
              "tuning_n": str(len(TUNED)),
              "tuning_small_per_class": str(selection.SMALL_VAL_PER_CLASS),
              "tuning_search_mnist_batch": _setting(settings["table"].loc[settings["table"].variant == "jade",
                                                                          "mnist_batch_size"].iloc[0])})
    return {"table": table, "values": v, "paths": sorted(set(paths)), "consistent": consistent,
            "committed": committed, "chosen": {f: o["chosen"] for f, o in outcomes.items()}}


def table1(runs: pd.DataFrame, output_dir, profile: str) -> dict:
    """The Table 1 chapter's finding from every finished Table 1 run (:func:`jade_core.tooling.notebook.table_runs`):
    the runs of one protocol (the paper's when there are any), their ``summary`` and ``claims``
    (:func:`jade_core.reporting.report.claims_table` over the family), and every glue value of the page (``values``):
    the per-model numbers, the plateau rule's settings and outcome, the computed caveats and one verdict
    sentence per claim. Raises ConfigError when no run has finished."""
    if runs.empty:
        raise ConfigError(f"no finished runs under {output_dir}/runs: run the variant chapters first "
                          f"(`jade book --profile {profile}` runs them all).")
    protocols = sorted(set(runs.protocol))
    protocol = "paper" if "paper" in protocols else protocols[0]
    runs = runs[runs.protocol == protocol]
    summary = report.summary_table(runs).set_index("variant")
    failed = report.failed_to_train(runs)
    claims_table = report.claims_table(runs, report.family_of(runs))
    cfg = saved_run_config(json.loads((Path(runs.path.iloc[0]) / "config.json").read_text())["config"])
    v = {"t1_protocol": protocol, "t1_n_eval": f"{int(runs.n_svhn_eval.iloc[0]):,}",
         "t1_n_failed": str(int(failed.sum())),
         "t1_failed_list": ", ".join(f"{r.variant} seed {r.seed}" for r in runs[failed].itertuples()) or "none",
         "t1_restarts": str(int((runs.attempts - 1).sum())),
         "t1_plateau_fraction": f"{PLATEAU_FRACTION:g}", "t1_restart_epoch": str(cfg.restart_epoch),
         "t1_max_restarts": str(cfg.max_restarts), "t1_steps": f"{int(runs.steps.median()):,}",
         "t1_alpha": f"{verdicts.ALPHA:g}", "t1_power": f"{100 * verdicts.POWER:g}"}
    for variant in report.VARIANT_ORDER:
        r = summary.loc[variant] if variant in summary.index else None
        v[f"t1_{variant}_svhn"] = report.fmt(r.svhn_mean, r.svhn_sd) if r is not None else "not run"
        v[f"t1_{variant}_seeds"] = str(int(r.seeds)) if r is not None else "0"
        v[f"t1_{variant}_mnist"] = report.fmt(r.mnist_mean, r.mnist_sd) if r is not None and variant != "single" else "–"
    for variant in ("paired", "jade"):
        q = report.PAPER_TABLE1.set_index("variant").loc[variant]
        v[f"t1_paper_{variant}_mnist"] = report.fmt(q.mnist_mean, q.mnist_sd)
    cav = audit.caveats(runs, output_dir)
    caveats = [cav["overlap_text"], cav["copies_text"], audit.validation_caveat(runs), cav["arithmetic_text"]]
    rec, _ = claims_record(runs, output_dir, profile)
    v.update(claims_values(rec))
    ablation = claims_table[(claims_table.a == "jade") & (claims_table.b == "jade_nomatch")]
    if len(ablation):
        v["t1_ablation_mean"], v["t1_ablation_verdict"] = f"{ablation.mean_difference.iloc[0]:+.2f}", ablation.verdict.iloc[0]
    v["t1_seeds"] = str(runs.seed.nunique())
    return {"runs": runs, "protocol": protocol, "summary": summary, "claims": claims_table, "record": rec, "values": v,
            "runs_of": claims_runs(rec), "caveats": [c for c in caveats if c]}


def budget_page(output_dir, profile: str, data_dir) -> dict:
    """The label-budget chapter's findings. **The equal-steps study** (:mod:`jade_core.reporting.budget`,
    ``sweeps/label-budget.yml`` with Table 1 as its 100-labels point): the smoke profile trains its tiny grid
    here; the paper profile reads the runs that have finished (it never trains them: hours of CPU) and says
    how many, judging only budgets where every model has two seeds or more. Returns ``runs``, ``summary``,
    ``claims`` and every glue value of the page (``values``)."""
    planned = budget.equal_steps_planned(output_dir, profile)
    if profile == "smoke":
        with contextlib.redirect_stdout(io.StringIO()):  # the per-run lines of the smoke study's training
            run_all([{**kw, "data_dir": data_dir} for kw in planned], workers=1, label="label budget (smoke)")
    budgets = budget.grid_budgets(planned)
    runs = budget.equal_steps_runs(output_dir, profile)
    summary = budget.budget_summary(runs)
    claims = budget.budget_claims(budget.comparable(runs))
    study = budget.own_runs(runs, planned)
    ref = runs[~runs.labels_per_class.isin(budgets)]
    steps = budget.equal_steps_lengths(profile)
    judged = sorted(set(claims.labels_per_class)) if len(claims) else []
    waiting = [b for b in [*budgets, *sorted(set(ref.labels_per_class))] if b not in judged]
    status = (f"all {len(planned)} runs of the grid have finished" if len(study) == len(planned) else
              f"{len(study)} of the grid's {len(planned)} runs have finished so far (`jade sweep "
              f"sweeps/{budget.EQUAL_STEPS}.yml` makes the rest, seed by seed); budgets judged (every model with two "
              f"seeds or more): {_words(judged) or 'none'}; not yet: {_words(waiting) or 'none'}. The answer "
              "is provisional until every run has finished")
    v = {"b_status": status, "b_planned": str(len(planned)), "b_finished": str(len(study)),
         "b_budgets": _words(budgets), "b_ref": _words(sorted(set(ref.labels_per_class))) or "–",
         "b_steps": f"{steps['train']:,}", "b_eval_steps": f"{steps.get('validate', 0):,}",
         "b_restart_steps": f"{steps.get('restart', 0):,}",
         "b_seeds": _words(sorted({kw["seed"] for kw in planned})),
         "b_devices": ", ".join(sorted(set(runs.device))) or "–",
         "b_torch": _torch_versions(runs.path) or "–",
         "b_restarts": str(int((runs.attempts - 1).sum())) if len(runs) else "0",
         "b_n_claims": str(len(claims)), "b_ci": f"{100 * (1 - verdicts.ALPHA):g}",
         "b_power": f"{100 * verdicts.POWER:g}"}
    cav = audit.caveats(runs, output_dir) if len(runs) else {}
    caveats = [cav.get("overlap_text"), budget.length_caveat(summary) if len(summary) else "",
               cav.get("copies_text"), cav.get("arithmetic_text")]
    v.update(budget.differences(claims, "b"))
    v.update(budget_words(claims))
    v["b_jade_name"] = report.jade_name(runs.path)
    return {"runs": runs, "summary": summary, "claims": claims, "values": v, "names": {"jade": v["b_jade_name"]},
            "budgets": budgets + sorted(set(ref.labels_per_class)), "caveats": [c for c in caveats if c]}


def budget_words(claims: pd.DataFrame) -> dict:
    """The budget page's answer as glue values: each claim's verdicts over the budgets judged, where the paired
    classifier's advantage over the single one is largest (labels per class, pp), and the largest advantage over
    the paired classifier that JADE's intervals leave it (pp; "none" where every interval lies above zero)."""
    ps = claims[claims.claim == "paired beats single"] if len(claims) else claims
    jp = claims[claims.claim == "JADE beats paired"] if len(claims) else claims
    v = {"b_ps_verdicts": _verdicts_by_budget(claims, "paired beats single"),
         "b_jp_verdicts": _verdicts_by_budget(claims, "JADE beats paired")}
    best = ps.sort_values("mean_difference").iloc[0] if len(ps) else None
    v["b_ps_best_labels"] = str(best.labels_per_class) if best is not None else "–"
    v["b_ps_best"] = f"{best.mean_difference:+.1f}" if best is not None else "–"
    room = -jp.family_low.min() if len(jp) else float("nan")
    v["b_jp_room"] = "–" if np.isnan(room) else (f"{room:.1f}" if room > 0 else "none")
    return v


def _words(values) -> str:
    return ", ".join(str(int(x)) for x in values)


def _torch_versions(paths) -> str:
    return ", ".join(sorted({json.loads((Path(p) / "config.json").read_text())["versions"]["torch"] for p in paths}))


def data_page(profile: str, seed: int, data_dir) -> dict:
    """The data chapter's numbers: the splits of ``seed`` (:func:`jade_core.science.data.build_splits`), the raw SVHN
    and MNIST arrays they are cut from, the class counts of every split, the glue values and the lines that
    state the cut's checkable facts (sources, sizes, the pool's overlap with the next seed's, the largest
    official index a pool or validation image has, fingerprints)."""
    cfg = resolve_config("jade", profile, seed=seed, data_dir=data_dir)
    splits = build_splits(cfg)
    info = splits.info
    svhn, mnist = load_split(data_dir, "svhn", "test")[:2], load_split(data_dir, "mnist", "train")[:2]
    counts = {"SVHN file": np.bincount(svhn[1], minlength=N_CLASSES),
              **{name: np.bincount(split[1].numpy(), minlength=N_CLASSES) for name, split in
                 (("labelled pool", splits.svhn_train), ("SVHN validation", splits.svhn_val),
                  ("SVHN evaluation", splits.svhn_eval), ("MNIST train", splits.mnist_train))}}
    pool, val = set(info["pool_official_index"]), set(info["val_official_index"])
    nxt = set(build_splits(resolve_config("jade", profile, seed=seed + 1, data_dir=data_dir),
                           need_mnist=False).info["pool_official_index"])
    values = {"data_protocol": cfg.protocol, "n_pool": str(info["n_svhn_train"]), "n_val": str(info["n_svhn_val"]),
              "n_eval": str(info["n_svhn_eval"]), "n_mnist_train": str(info["n_mnist_train"])}
    lines = [f"SVHN source: {info['svhn_source']}; MNIST source: {info['mnist_source']}",
             f"protocol: {cfg.protocol}; SVHN evaluation images: {info['evaluation']}"]
    pool_lines = [f"pool size {len(pool)}; images shared with the pool of seed {seed + 1}: {len(pool & nxt)}",
                  f"validation images {len(val)}, in the pool: {len(val & pool)}; largest official index of pool or "
                  f"validation: {max(pool | val)}; evaluation part: official indices {info['svhn_eval_official_index']}",
                  f"evaluation fingerprint {info['svhn_eval_fingerprint']}, pool fingerprint "
                  f"{info['svhn_train_fingerprint']}", f"first pool indices: {sorted(pool)[:10]}"]
    return {"cfg": cfg, "splits": splits, "svhn": svhn, "mnist": mnist, "counts": counts, "values": values,
            "lines": lines, "pool_lines": pool_lines}


def intro_page(runs: pd.DataFrame, output_dir, profile: str, data_dir, latent_table=None) -> dict:
    """:func:`intro` on ``runs`` (Table 1's) of the build's protocol, with the protocol and those the data
    directory allows among its values."""
    protocol = resolve_config("jade", profile, data_dir=data_dir).protocol
    out = intro(runs[runs.protocol == protocol] if len(runs) else runs, output_dir, profile, latent_table)
    out["values"].update(protocol=protocol, protocols_available=" and ".join(available_protocols(data_dir)) or "none")
    return out


def _kl_trend(done: pd.DataFrame, high: float) -> str:
    """Whether the matching KL per content dimension falls as the dose rises (the dose summary's rows above
    w_match = 0) and whether the strongest dose of the grid reaches the declared matching rule."""
    if len(done) < 2:
        return "Too few doses are finished to read the KL's trend."
    kl = done.sort_values("w_match").val_kl_per_dim.to_numpy()
    trend = ("falls at every step of the dose" if np.all(np.diff(kl) < 0) else
             "does not fall at every step of the dose")
    text = (f"The mean matching KL per content dimension {trend}, from {kl[0]:.1f} nats at w_match = "
            f"{done.w_match.min():g} to {kl[-1]:.1f} at {done.w_match.max():g}")
    rule = selection.MATCHED_KL_PER_DIM
    if kl[-1] > rule and done.w_match.max() == high:
        return text + (f"; the strongest dose of the grid is still above the rule's {rule:g}, so matching "
                       "the posteriors by that rule would take a stronger weight than the grid holds.")
    return text + "."


def dose_shared_words() -> str:
    """Which grids the dose-response reads its shared doses from (:data:`jade_core.experiments.selection.DOSE_SHARED`),
    in words: ``"table1 (jade_nomatch) and table1-before-warmup (jade)"``."""
    return " and ".join(f"{name} ({', '.join(labels)})" for name, labels in selection.DOSE_SHARED.items())


def dose_page(root=None) -> dict:
    """The dose-response chapter's finding (:mod:`jade_core.reporting.dose`): its ``runs``, ``summary`` and
    every glue value of the page (``values``): how many of the planned runs are finished, the declared
    rule, the doses that lower the error against ``w_match = 0`` by the verdict rule and those whose
    posteriors the rule calls matched, and the answer sentence. Never trains: the runs are made by
    ``jade sweep sweeps/matching-dose.yml`` and the re-made Table 1."""
    runs = dose.dose_runs(root)
    summary = dose.dose_summary(runs)
    planned = len(selection.dose_response_runs())
    provisional, above_zero = len(runs) < planned, len(selection.DOSE_W_MATCH) - 1
    fmt = lambda ws: ", ".join(f"{w:g}" for w in ws) or "none"
    helps = [r.w_match for r in summary.itertuples() if r.verdict == "reproduced"]
    hurts = [r.w_match for r in summary.itertuples() if r.verdict == "contradicted"]
    judged = [r.w_match for r in summary.itertuples() if r.verdict in verdicts.VERDICTS]
    matched = [r.w_match for r in summary.itertuples() if r.seeds and r.matched.split("/")[0] != "0"]
    values = {"dose_planned": str(planned), "dose_finished": str(len(runs)),
              "dose_doses": fmt(selection.DOSE_W_MATCH), "dose_seeds": fmt(selection.DOSE_SEEDS),
              "dose_rule_kl": f"{selection.MATCHED_KL_PER_DIM:g}", "dose_shared": dose_shared_words(),
              "dose_helps": fmt(helps), "dose_hurts": fmt(hurts), "dose_matched": fmt(matched),
              "dose_judged": str(len(judged)) + (f" of {above_zero} so far" if provisional else ""),
              "dose_ci": f"{100 * (1 - verdicts.ALPHA):g}", "dose_power": f"{100 * verdicts.POWER:g}"}
    if provisional:
        state = (f"{len(runs)} of the {planned} runs are finished, so this answer is provisional: "
                 f"{len(judged)} of the {above_zero} doses above 0 "
                 f"{'has' if len(judged) == 1 else 'have'} the two common seeds with w_match = 0 that an interval "
                 "needs. ")
    else:
        state = ""
    kl = summary[(summary.w_match > 0) & summary.val_kl_per_dim.notna()].sort_values("w_match")
    values.update({"dose_w_low": f"{kl.w_match.iloc[0]:g}" if len(kl) else "–",
                   "dose_w_high": f"{kl.w_match.iloc[-1]:g}" if len(kl) else "–",
                   "dose_kl_low": f"{kl.val_kl_per_dim.iloc[0]:.1f}" if len(kl) else "–",
                   "dose_kl_high": f"{kl.val_kl_per_dim.iloc[-1]:.1f}" if len(kl) else "–"})
    cav = audit.caveats(runs, results=grid.ROOT / "results") if len(runs) else {}
    caveats = [c for c in (cav.get(k) for k in ("copies_text", "overlap_text", "arithmetic_text")) if c]
    done = summary[summary.seeds > 0]
    best = float(done.loc[done.svhn_error.idxmin(), "w_match"]) if len(done) else None
    values["dose_best"] = "none yet" if best is None else f"{best:g}"
    low, high = min(selection.DOSE_W_MATCH), max(selection.DOSE_W_MATCH)
    edge = ("No dose is finished yet." if best is None else
            "Not every dose has a finished run, so whether an end of the grid wins is not judged yet."
            if len(done) < len(summary) else
            # w_match = 0 is no matching at all: there is nothing below it to extend to
            "The lowest mean error is at the grid's lower end, no matching at all; there is no weaker dose to try, "
            "and no dose of matching has a lower mean." if best == low == 0 else
            "The lowest mean error is at an end of the grid: by the grid's own rule it is extended past that end "
            "before anything is concluded." if best in (low, high) else "The lowest mean error lies inside the grid.")
    # sentences whose wording follows the runs: shown under the prose, not glued into it
    caveats = [c for c in (state.strip(), edge, _kl_trend(done[done.w_match > 0], high)) if c] + caveats
    return {"runs": runs, "summary": summary, "values": values, "caveats": caveats}
