"""The appendix "How this book got here": the means each superseded design reported, read from one committed
summary table (``results/history.csv``), written from those designs' runs before they left ``main``.

Columns: design, model, labels_per_class, runs, svhn_error, svhn_error_sd, mnist_error, svhn_val_error,
mnist_val_error (errors in %, means over the design's final runs). The runs themselves stay at the commit
the appendix names for each design."""
from __future__ import annotations

import math

import pandas as pd

from ..science.config import ConfigError

COLUMNS = ["design", "model", "labels_per_class", "runs", "svhn_error", "svhn_error_sd", "mnist_error",
           "svhn_val_error", "mnist_val_error"]


def load(path) -> pd.DataFrame:
    """The summary table; a clear error when it is missing or lacks a column."""
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError) as e:
        raise ConfigError(f"{path}: cannot read the history table ({type(e).__name__}: {e}); "
                          "check it out again from git.") from None
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise ConfigError(f"{path}: the history table lacks the column(s) {', '.join(missing)}.")
    return table


def _mean_sd(mean, sd) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    return f"{mean:.2f}" if sd is None or math.isnan(sd) else f"{mean:.2f} ± {sd:.2f}"


def values(path) -> dict:
    """Glue values of the appendix, one per design, model and budget: ``h_<design>_<model>[_l<labels>]`` the SVHN
    error (mean ± sd over its runs), ``..._mnist`` the MNIST test error, ``..._val`` the SVHN validation error,
    ``..._mval`` the MNIST validation error, ``..._n`` the number of runs (labels only where not 100)."""
    out = {}
    for r in load(path).itertuples():
        key = "h_" + f"{r.design}_{r.model}".replace("-", "_") + ("" if r.labels_per_class == 100 else f"_l{r.labels_per_class}")
        out[key] = _mean_sd(r.svhn_error, r.svhn_error_sd)
        out[key + "_mnist"] = _mean_sd(r.mnist_error, None)
        out[key + "_val"] = _mean_sd(r.svhn_val_error, None)
        out[key + "_mval"] = _mean_sd(r.mnist_val_error, None)
        out[key + "_n"] = str(int(r.runs))
    return out


def table(path, design: str) -> pd.DataFrame:
    """One design's rows, for people: model, labels per class, runs, errors (%), "–" where a model has none."""
    t = load(path)
    t = t[t.design == design].drop(columns="design")
    if t.empty:
        raise ConfigError(f"{path} has no design {design!r}; it has {', '.join(load(path).design.unique())}.")
    return t.rename(columns={"labels_per_class": "labels per class", "svhn_error": "SVHN error (%)",
                             "svhn_error_sd": "sd (pp)", "mnist_error": "MNIST error (%)",
                             "svhn_val_error": "SVHN val. error (%)", "mnist_val_error": "MNIST val. error (%)"})
