"""Table 1 and the comparisons, derived from finished runs on disk (never trains)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

# Table 1 of the paper, quoted (error %, mean +- sd over 3 runs).
PAPER_TABLE1 = pd.DataFrame([
    {"method": "VAE (M1+M2) [3]", "variant": None, "svhn_mean": 36.02, "svhn_sd": 0.10, "mnist_mean": None, "mnist_sd": None},
    {"method": "Siddharth et al. [11]", "variant": None, "svhn_mean": 28.71, "svhn_sd": 2.38, "mnist_mean": None, "mnist_sd": None},
    {"method": "Single Classifier (benchmark)", "variant": "single", "svhn_mean": 32.31, "svhn_sd": 1.56, "mnist_mean": None, "mnist_sd": None},
    {"method": "Paired Classifier", "variant": "paired", "svhn_mean": 30.17, "svhn_sd": 2.77, "mnist_mean": 0.82, "mnist_sd": 0.05},
    {"method": "JADE (proposed)", "variant": "jade", "svhn_mean": 29.08, "svhn_sd": 0.92, "mnist_mean": 0.72, "mnist_sd": 0.03},
])
VARIANT_ORDER = ("single", "paired", "jade")


CHANCE_CE = float(np.log(10))


def failed_to_train(runs: pd.DataFrame, fraction: float = 0.9) -> pd.Series:
    """Runs whose SVHN *training* cross-entropy in the last epoch is still near chance (>= 0.9 ln 10).

    Decided from the training loss alone, never from evaluation images: such a
    run never left the initial plateau (an optimisation failure, not a
    generalisation result). Tables report them and give statistics both with
    and without them.
    """
    return runs["final_train_ce"] >= fraction * CHANCE_CE


def summary_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean +- sd (ddof=1) of SVHN and MNIST error per variant and protocol, with the seed count,
    the median, and the number of runs that failed to train (:func:`failed_to_train`)."""
    rows = []
    for (variant, protocol), g in runs.groupby(["variant", "protocol"], sort=False):
        row = {"variant": variant, "protocol": protocol, "seeds": len(g),
               "failed": int(failed_to_train(g).sum()) if "final_train_ce" in g else 0,
               "svhn_median": g["svhn_error"].median(),
               "svhn_mean": g["svhn_error"].mean(), "svhn_sd": g["svhn_error"].std(ddof=1) if len(g) > 1 else np.nan}
        m = g["mnist_error"].dropna()
        row["mnist_mean"] = m.mean() if len(m) else np.nan
        row["mnist_sd"] = m.std(ddof=1) if len(m) > 1 else np.nan
        row["minutes_per_run"] = g["train_seconds"].mean() / 60
        rows.append(row)
    out = pd.DataFrame(rows, columns=["variant", "protocol", "seeds", "failed", "svhn_median", "svhn_mean", "svhn_sd",
                                      "mnist_mean", "mnist_sd", "minutes_per_run"])
    if out.empty:
        return out
    out["order"] = out["variant"].map({v: i for i, v in enumerate(VARIANT_ORDER)})
    return out.sort_values(["protocol", "order"]).drop(columns="order").reset_index(drop=True)


def fmt(mean, sd) -> str:
    if mean is None or pd.isna(mean):
        return "-"
    return f"{mean:.2f} ± {sd:.2f}" if not pd.isna(sd) else f"{mean:.2f}"


def side_by_side(runs: pd.DataFrame) -> pd.DataFrame:
    """The paper's Table 1 (quoted) next to ours, one row per method."""
    ours = summary_table(runs).set_index("variant") if len(runs) else pd.DataFrame()
    rows = []
    for _, p in PAPER_TABLE1.iterrows():
        v = p["variant"]
        r = {"method": p["method"], "paper SVHN (1000 labels)": fmt(p["svhn_mean"], p["svhn_sd"]),
             "paper MNIST": fmt(p["mnist_mean"], p["mnist_sd"])}
        if pd.isna(v):
            r.update({"ours SVHN": "(quoted from the paper; not rerun)", "ours MNIST": "", "seeds": ""})
        elif v in ours.index:
            o = ours.loc[v]
            r.update({"ours SVHN": fmt(o["svhn_mean"], o["svhn_sd"]), "ours MNIST": fmt(o["mnist_mean"], o["mnist_sd"]),
                      "seeds": int(o["seeds"])})
        else:
            r.update({"ours SVHN": "not run", "ours MNIST": "", "seeds": 0})
        rows.append(r)
    return pd.DataFrame(rows)


def paired_comparison(runs: pd.DataFrame, a: str, b: str, metric: str = "svhn_error") -> dict:
    """Paired comparison across seeds of variant ``a`` against ``b`` on ``metric``.

    Seeds share the labelled pool, so the test is paired: the mean difference
    (a - b, negative = a better), how many seeds a wins, a two-sided paired
    t-test and a one-sided one for "a has lower error".
    """
    pa = runs[runs.variant == a].set_index("seed")[metric]
    pb = runs[runs.variant == b].set_index("seed")[metric]
    seeds = sorted(set(pa.dropna().index) & set(pb.dropna().index))
    d = (pa.loc[seeds] - pb.loc[seeds]).to_numpy(dtype=float)
    out = {"a": a, "b": b, "metric": metric, "seeds": len(seeds), "mean_difference": float(d.mean()) if len(d) else np.nan,
           "a_wins": int((d < 0).sum()), "p_two_sided": np.nan, "p_a_better": np.nan}
    if len(d) >= 2 and np.std(d) > 0:
        t = stats.ttest_rel(pa.loc[seeds], pb.loc[seeds])
        out["p_two_sided"] = float(t.pvalue)
        out["p_a_better"] = float(t.pvalue / 2 if t.statistic < 0 else 1 - t.pvalue / 2)
    return out


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values (controls the family-wise error rate):
    sorted p_(1) <= ... <= p_(m) become max_{j<=i} min(1, (m - j + 1) p_(j)); NaN stays NaN."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    order = ok[np.argsort(p[ok])]
    m, running = len(order), 0.0
    for i, k in enumerate(order):
        running = max(running, min(1.0, (m - i) * p[k]))
        out[k] = running
    return out


def detectable_difference(sd_diff: float, n: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest true mean difference a two-sided paired t-test on ``n`` seeds detects with ``power``,
    given the sd of the per-seed differences (noncentral t; NaN below 2 seeds or for sd 0)."""
    from scipy.optimize import brentq
    if n < 2 or not sd_diff > 0:
        return float("nan")
    df, crit = n - 1, stats.t.ppf(1 - alpha / 2, n - 1)

    def gap(delta):
        nc = delta * np.sqrt(n) / sd_diff
        p = stats.nct.sf(crit, df, nc) + stats.nct.cdf(-crit, df, nc)
        return (1.0 if np.isnan(p) else p) - power  # scipy's nct gives NaN far in the tail, where power is 1
    hi = sd_diff
    while gap(hi) < 0:
        hi *= 2
    return float(brentq(gap, 1e-9 * sd_diff, hi))


def claim_test(runs: pd.DataFrame, a: str, b: str, metric: str = "svhn_error", alpha: float = 0.05) -> dict:
    """Paired comparison of ``a`` against ``b`` over the seeds both have: mean difference a - b
    (negative: a has lower error), its 95 % t confidence interval, the two-sided paired t-test and
    Wilcoxon signed-rank test, wins, and the difference detectable with 80 % power."""
    pa = runs[runs.variant == a].set_index("seed")[metric]
    pb = runs[runs.variant == b].set_index("seed")[metric]
    seeds = sorted(set(pa.dropna().index) & set(pb.dropna().index))
    d = (pa.loc[seeds] - pb.loc[seeds]).to_numpy(dtype=float)
    n = len(d)
    out = {"a": a, "b": b, "seeds": n, "mean_difference": float(d.mean()) if n else np.nan,
           "ci_low": np.nan, "ci_high": np.nan, "sd_difference": float(d.std(ddof=1)) if n > 1 else np.nan,
           "a_wins": int((d < 0).sum()), "p_t": np.nan, "p_wilcoxon": np.nan, "detectable": np.nan}
    if n >= 2 and np.std(d) > 0:
        half = stats.t.ppf(1 - alpha / 2, n - 1) * d.std(ddof=1) / np.sqrt(n)
        out.update(ci_low=float(d.mean() - half), ci_high=float(d.mean() + half),
                   p_t=float(stats.ttest_rel(pa.loc[seeds], pb.loc[seeds]).pvalue),
                   p_wilcoxon=float(stats.wilcoxon(d).pvalue),
                   detectable=detectable_difference(float(d.std(ddof=1)), n, alpha))
    return out


def claims_table(runs: pd.DataFrame, claims, alpha: float = 0.05) -> pd.DataFrame:
    """One row per claim ``(a, b, text)`` = "a has lower error than b": :func:`claim_test`, Holm-adjusted
    p-values of both tests over the claims, and a verdict. A claim is *supported* when both adjusted
    p-values are below ``alpha`` and a is better; *reversed* when both are and b is better; otherwise
    *not significant* (with the difference these seeds could have detected)."""
    rows = [{"claim": text, **claim_test(runs, a, b, alpha=alpha)} for a, b, text in claims]
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out["p_t_holm"] = holm(out["p_t"])
    out["p_wilcoxon_holm"] = holm(out["p_wilcoxon"])

    def verdict(r):
        if r.seeds < 2 or pd.isna(r.p_t_holm):
            return "too few seeds"
        if r.p_t_holm < alpha and r.p_wilcoxon_holm < alpha:
            return "supported" if r.mean_difference < 0 else "reversed"
        return "not significant"
    out["verdict"] = [verdict(r) for r in out.itertuples()]
    return out


def tuning_table(tuning_dir="results/tuning", last_epochs=25) -> tuple:
    """Validation evidence of the tuning candidates in ``tuning_dir/<name>/runs/...``.

    Returns ``(table, curves)``: per candidate its variant, the settings that
    differ between candidates, the validation errors averaged over the last
    ``last_epochs`` epochs (less noisy than one point on 200 images) and the
    best point; ``curves`` maps name to the learning curve.
    """
    import json
    from pathlib import Path

    from .runs import finished_runs
    rows, curves = [], {}
    for run in (r for cand in sorted(Path(tuning_dir).iterdir()) if cand.is_dir() for r in finished_runs(cand)):
        name = run.parents[2].name
        cfg = json.loads((run / "config.json").read_text())["config"]
        curve = pd.read_csv(run / "curve.csv")
        curves[name] = curve
        tail = curve[curve.epoch > curve.epoch.max() - last_epochs]
        rows.append({"candidate": name, "variant": cfg["variant"], "w_cls": cfg["w_cls"],
                     "mnist_batch_size": cfg["mnist_batch_size"], "epochs": cfg["epochs"],
                     "svhn_val_last": tail["svhn_val_error"].mean(),
                     "svhn_val_best": curve["svhn_val_error"].min(),
                     "mnist_val_last": tail["mnist_val_error"].mean() if "mnist_val_error" in tail else np.nan,
                     "minutes": curve["seconds"].iloc[-1] / 60})
    return pd.DataFrame(rows), curves


def precision_check(runs: pd.DataFrame, check_dir="results/precision-check") -> pd.DataFrame:
    """fp32 / contiguous reruns in ``check_dir`` next to the bf16 / channels-last runs of the same seed."""
    from .runs import collect_metrics
    check = collect_metrics(check_dir)
    rows = []
    for _, c in check.iterrows():
        ref = runs[(runs.variant == c.variant) & (runs.seed == c.seed) & (runs.protocol == c.protocol)]
        if ref.empty:
            continue
        r = ref.iloc[0]
        rows.append({"variant": c.variant, "seed": c.seed, "svhn bf16": r.svhn_error, "svhn fp32": c.svhn_error,
                     "mnist bf16": r.mnist_error, "mnist fp32": c.mnist_error,
                     "minutes bf16": r.train_seconds / 60, "minutes fp32": c.train_seconds / 60})
    return pd.DataFrame(rows)
