"""Does matching help at any strength? The w_match dose-response, read with intervals.

The runs are those of :func:`jade_core.experiments.selection.dose_response_runs`: JADE at every matching
weight of ``DOSE_W_MATCH`` on the seeds ``DOSE_SEEDS``, everything else equal (``sweeps/matching-dose.yml``,
and Table 1's JADE and ablation runs for the doses they are). Per dose: the SVHN error, the validation
matching KL per content dimension (the declared rule ``posteriors_matched``: at most 0.5 nats) and the
cross-domain centroid accuracy, each with its 95 % t interval over seeds; and the SVHN error's paired
difference from ``w_match = 0`` on the seeds both have, with its interval at the family's level (every
dose above 0 one family) and the verdict of :func:`jade_core.reporting.verdicts.verdict` on its direction
(the paper gives no number for it): *reproduced* when matching at that dose lowers the error.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..experiments.grid import ROOT, locate
from ..experiments.selection import DOSE_W_MATCH, dose_response_runs, posteriors_matched
from .report import t_half_width
from .verdicts import ALPHA, POWER, detectable_by_rule, family_interval, verdict

RUN_COLUMNS = ["w_match", "seed", "svhn_error", "svhn_val_error", "val_kl_per_dim", "val_centroid_accuracy",
               "matched", "path"]


def dose_runs(root=None) -> pd.DataFrame:
    """One row per finished dose-response run (found by configuration, :func:`jade_core.experiments.grid.locate`):
    its matching weight and seed, SVHN evaluation and validation error, the validation matching KL per
    content dimension (the mean over the 10 of ``kl_match_per_dim``), the validation centroid accuracy and
    whether the declared rule calls its posteriors matched. The grids' folders are relative to ``root``
    (default: this checkout, wherever the working directory is)."""
    root = Path(root) if root is not None else ROOT
    pairs = [(w, {**kw, "output_dir": str(root / kw["output_dir"])}) for w, kw in dose_response_runs()]
    rows = []
    for (w, kw), path in zip(pairs, locate([kw for _, kw in pairs])):
        if path is None:
            continue
        m = json.loads((Path(path) / "metrics.json").read_text())
        val = m.get("matching_val", {})
        kl = float(np.mean(val["kl_match_per_dim"])) if val.get("kl_match_per_dim") else np.nan
        rows.append({"w_match": float(w), "seed": int(kw["seed"]), "svhn_error": m["svhn"]["error"],
                     "svhn_val_error": m.get("svhn_val", {}).get("error", np.nan), "val_kl_per_dim": kl,
                     "val_centroid_accuracy": val.get("centroid_accuracy", np.nan),
                     "matched": posteriors_matched(kl), "path": str(path)})
    return pd.DataFrame(rows, columns=RUN_COLUMNS).sort_values(["w_match", "seed"]).reset_index(drop=True)


def _mean_ci(x) -> tuple:
    x = np.asarray(x, dtype=float)
    return float(x.mean()) if len(x) else np.nan, t_half_width(x) if len(x) > 1 else np.nan


def dose_summary(runs: pd.DataFrame, alpha: float = ALPHA) -> pd.DataFrame:
    """Per dose (every one of ``DOSE_W_MATCH``, finished or not): seeds, mean and 95 % half-width of the
    SVHN error, of the validation KL per content dimension and of the centroid accuracy, how many runs the
    matching rule passes, and against ``w_match = 0`` on common seeds the mean SVHN difference, its interval
    at the family's level (1 - alpha/m, m = the doses above 0 with two common seeds or more), the verdict and
    the smallest true difference the rule calls *reproduced* with :data:`POWER` at the observed spread
    (:func:`jade_core.reporting.verdicts.detectable_by_rule`): what an *inconclusive* rules out."""
    zero = runs[runs.w_match == 0].set_index("seed").svhn_error
    diffs = {}
    for w in DOSE_W_MATCH:
        if w == 0:
            continue
        g = runs[runs.w_match == w].set_index("seed").svhn_error
        common = sorted(set(g.index) & set(zero.index))
        diffs[w] = (g[common] - zero[common]).to_numpy(dtype=float)
    m = max(1, sum(len(d) > 1 for d in diffs.values()))
    rows = []
    for w in DOSE_W_MATCH:
        g = runs[runs.w_match == w]
        err, err_h = _mean_ci(g.svhn_error)
        kl, kl_h = _mean_ci(g.val_kl_per_dim)
        cen, cen_h = _mean_ci(g.val_centroid_accuracy)
        d = diffs.get(w, np.array([]))
        low, high = family_interval(d, m, alpha) if len(d) else (np.nan, np.nan)
        det = detectable_by_rule(float(d.std(ddof=1)), len(d), m, alpha) if len(d) > 1 else np.nan
        rows.append({"w_match": w, "seeds": len(g), "svhn_error": err, "svhn_error_ci": err_h,
                     "val_kl_per_dim": kl, "val_kl_per_dim_ci": kl_h, "val_centroid_accuracy": cen,
                     "val_centroid_accuracy_ci": cen_h, "matched": f"{int(g.matched.sum())}/{len(g)}",
                     "vs_no_matching": float(d.mean()) if len(d) else np.nan, "vs_low": low, "vs_high": high,
                     "verdict": "" if w == 0 else verdict(low, high, np.nan), "detectable": det})
    return pd.DataFrame(rows)


def markdown_dose_table(summary: pd.DataFrame) -> str:
    """:func:`dose_summary` as the chapter's Markdown table: every dose, '–' where nothing is finished."""
    def cell(mean, half, digits=2):
        if np.isnan(mean):
            return "–"
        return f"{mean:,.{digits}f}" + ("" if np.isnan(half) else f" ± {half:,.{digits}f}")
    lines = ["| w_match | seeds | SVHN error (%) | KL per content dim (nats) | centroid accuracy (%) | matched | "
             f"against w_match = 0 (pp), family interval | verdict | detectable ({100 * POWER:g} % power, pp) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in summary.itertuples():
        vs = "–" if np.isnan(r.vs_no_matching) else (
            f"{r.vs_no_matching:+.2f}" + ("" if np.isnan(r.vs_low) else f" [{r.vs_low:+.2f}, {r.vs_high:+.2f}]"))
        lines.append(f"| {r.w_match:g} | {r.seeds} | {cell(r.svhn_error, r.svhn_error_ci)} | "
                     f"{cell(r.val_kl_per_dim, r.val_kl_per_dim_ci, 1)} | "
                     f"{cell(r.val_centroid_accuracy, r.val_centroid_accuracy_ci, 1)} | {r.matched} | {vs} | "
                     f"{r.verdict or '–'} | {'–' if np.isnan(r.detectable) else f'{r.detectable:.2f}'} |")
    return "\n".join(lines)
