"""The rule that chooses JADE's loss scaling, declared before the search ran.

Eq. 2 has no weights, and with the weights that make JADE classify well the
matching term can be ignored by the optimiser (the content posteriors of
SVHN and MNIST then barely overlap, and "JADE" is a paired classifier with a
noisy bottleneck). A setting therefore only counts as *matching* when the
shared content space is really shared, measured on validation images only:

    matching  <=>  centroid accuracy >= own SVHN validation accuracy - MARGIN_PP
                   and centroid accuracy >= MIN_CENTROID_ACCURACY

where the centroid accuracy classifies SVHN validation content means by the
nearest class centroid of MNIST validation content means
(:func:`jade_core.evaluate.matching_report`). The second condition rules out
a content space collapsed onto the prior: it "matches" trivially (KL ~ 0) but
its centroids coincide, so its centroid accuracy is near chance (10 %).

Choice: among matching settings, the lowest SVHN validation error (ties: the
lower validation matching KL). The best-classifying setting overall is
reported beside it; if none matches, that is the finding and both are shown.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

MARGIN_PP = 10.0
MIN_CENTROID_ACCURACY = 50.0


def matching_happens(svhn_val_error: float, centroid_accuracy: float) -> bool:
    """The declared rule: cross-domain centroid accuracy within MARGIN_PP points of the model's own
    SVHN validation accuracy, and at least MIN_CENTROID_ACCURACY % (5x chance)."""
    if pd.isna(svhn_val_error) or pd.isna(centroid_accuracy):
        return False
    own = 100.0 - float(svhn_val_error)
    return bool(centroid_accuracy >= own - MARGIN_PP and centroid_accuracy >= MIN_CENTROID_ACCURACY)


def choose(table: pd.DataFrame, error="svhn_val_error", centroid="val_centroid_accuracy",
           kl="val_kl_match") -> dict:
    """Apply the rule to a table with one row per candidate (columns ``candidate``, ``error``,
    ``centroid``, ``kl``). Returns the candidate names: ``chosen`` (best matching; None if no
    candidate matches), ``best_classifying`` (lowest validation error overall), and ``matching``
    (every candidate that passes)."""
    if table.empty:
        return {"chosen": None, "best_classifying": None, "matching": []}
    ok = table[[matching_happens(e, c) for e, c in zip(table[error], table[centroid])]]
    best = table.sort_values([error, kl], na_position="last").iloc[0]["candidate"]
    chosen = ok.sort_values([error, kl], na_position="last").iloc[0]["candidate"] if len(ok) else None
    return {"chosen": chosen, "best_classifying": best, "matching": list(ok["candidate"])}


def matching_summary(metrics: dict) -> dict:
    """Validation numbers of one finished JADE run for the rule (from its ``metrics.json``)."""
    m = metrics.get("matching_val", {})
    return {"svhn_val_error": metrics.get("svhn_val", {}).get("error", np.nan),
            "val_centroid_accuracy": m.get("centroid_accuracy", np.nan),
            "val_kl_match": m.get("kl_match", np.nan)}


# --- The studies beyond the paper (jade_core.studies); both rules declared before their searches ran. ---

STEP_CANDIDATES = (1200, 2400, 4800)


def choose_steps(curve: pd.DataFrame, candidates=STEP_CANDIDATES) -> dict:
    """Training length of a label budget, from the validation curve of one long constant-learning-rate
    run: the candidate step count whose SVHN validation error on the curve is lowest (ties: fewer
    steps). A candidate missing from the curve (run shorter, or restarted) is skipped. Returns
    ``{"chosen": steps, "errors": {steps: error}}``."""
    at = curve.set_index("step")["svhn_val_error"] if "svhn_val_error" in curve else pd.Series(dtype=float)
    errors = {int(s): float(at[s]) for s in candidates if s in at.index and pd.notna(at[s])}
    if not errors:
        raise ValueError(f"no candidate length {candidates} has a validation error on the curve.")
    chosen = min(errors, key=lambda s: (errors[s], s))
    return {"chosen": chosen, "errors": errors}


def choose_recipe(table: pd.DataFrame) -> str:
    """The tuned recipe: the candidate (column ``candidate``) whose single classifier has the lowest
    SVHN validation error (``svhn_val_error``); ties: the first listed."""
    if table.empty:
        raise ValueError("no recipe candidate finished.")
    return str(table.loc[table["svhn_val_error"].astype(float).idxmin(), "candidate"])
