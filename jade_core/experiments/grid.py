"""The run grids the book reads: each defined once, in a sweep file under ``sweeps/``, and read back by
configuration.

A grid (``sweeps/table1.yml``: three models × the profile's seeds, and the
``w_match = 0`` ablation) expands to :func:`jade_core.science.config.resolve_config`
keyword arguments by :func:`jade_core.experiments.sweep.expand_sweep`, trains through the
one runner (:func:`jade_core.experiments.sweep.run_all`: local workers, or Dask), and is
read back by :func:`select`: every finished run in the grid's folders whose
``config.json`` has the configuration of one of the grid's runs. A folder's
name is a label for people and never decides membership: renaming every run
folder changes no table.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd

from ..science.config import PROFILES, ConfigError, JadeError, RunConfig, resolve_config
from .runs import NOT_RUNS, ROOT, is_finished, run_row, saved_run_config
from .sweep import expand_sweep

SWEEPS = ROOT / "sweeps"


def grid_file(name: str) -> Path:
    """``sweeps/<name>.yml``; a clear error naming the grids that exist otherwise."""
    path = SWEEPS / f"{name}.yml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in SWEEPS.glob("*.yml")))
        raise ConfigError(f"no grid {name!r}: there is no {path}. Known grids: {known}.")
    return path


def expected(name: str, profile: str, results=None, data_dir=None) -> list:
    """``[(label, resolve_config keyword arguments), ...]`` of grid ``name`` for ``profile``, its runs under
    ``results`` (default: the profile's results folder)."""
    return expand_sweep(grid_file(name), data_dir, profile, results)[1]


def semantic_key(saved: dict) -> str:
    """What makes two runs the same run (:func:`jade_core.experiments.runs.run_identity`), the protocol
    aside (a table reads one protocol at a time). A field the run did not record takes its profile's value,
    then the default."""
    sem = {k: v for k, v in saved_run_config(saved).semantic().items() if k != "protocol"}
    return json.dumps(sem, sort_keys=True, default=str)


def _scope(labelled: list) -> list:
    """The folders a grid's runs live in (``<output_dir>/runs/<variant>/``), without repeats."""
    return sorted({str(Path(kw.get("output_dir") or "results") / "runs") for _, kw in labelled})


def _scan(roots: list) -> tuple:
    """``([(path, saved config)], [(path, why)])`` of every finished run folder directly under each
    ``<root>/<variant>/`` (work folders ``.partial``/``.old`` aside); unreadable ones in the second list."""
    found, bad = [], []
    for root in roots:
        for metrics in sorted(Path(root).glob("*/*/metrics.json")):
            p = metrics.parent
            if p.name.endswith(NOT_RUNS) or not is_finished(p):
                continue
            try:
                saved = json.loads((p / "config.json").read_text())["config"]
                semantic_key(saved)
            except (ValueError, KeyError, TypeError, OSError, JadeError) as e:
                bad.append((p, f"unreadable config.json ({type(e).__name__}: {e})"))
                continue
            found.append((p, saved))
    return found, bad


def select(name: str, results="results", protocol=None, profiles=None) -> pd.DataFrame:
    """The finished runs of grid ``name`` under ``results``: one row per run
    (:func:`jade_core.experiments.runs.run_row`, ``variant`` = the grid's label, e.g. ``jade_nomatch``), chosen by the
    configuration each run recorded (matched against the grid of the profile it was made under). Runs
    whose files cannot be read are not rows; they are listed in ``df.attrs["skipped"]`` as
    ``(path, why)`` and warned about, so a page can say so. Two runs with one configuration are refused."""
    rows, skipped, seen = [], [], {}
    for profile in profiles or PROFILES:
        labelled = expected(name, profile, results)
        want = {}
        for label, kw in labelled:
            want[semantic_key(resolve_config(**kw).to_dict())] = label
        found, bad = _scan(_scope(labelled))
        skipped += [b for b in bad if b not in skipped]
        for p, saved in found:
            if saved.get("profile", RunConfig.profile) != profile:
                continue
            label = want.get(semantic_key(saved))
            if label is None or (protocol and saved.get("protocol") != protocol):
                continue
            ident = (saved.get("protocol"), semantic_key(saved))  # one run per configuration (a seed of a
            # model may have several: one per budget of a label-budget grid)
            if ident in seen and seen[ident] != p:
                raise ConfigError(f"two finished runs of {label} seed {saved.get('seed')} have the same configuration: "
                                  f"{seen[ident]} and {p}. Delete or move one of them out of {results}.")
            if ident in seen:
                continue
            seen[ident] = p
            try:
                rows.append(run_row(p, label))
            except (ValueError, KeyError, OSError, pd.errors.ParserError) as e:
                skipped.append((p, f"unreadable run files ({type(e).__name__}: {e})"))
    for p, why in skipped:
        warnings.warn(f"skipping {p}: {why}; retrain it with `jade train ... --force` or delete the folder.",
                      stacklevel=2)
    out = pd.DataFrame(rows, columns=run_row.COLUMNS)
    out.attrs["skipped"] = [(str(p), why) for p, why in skipped]
    return out


def locate(runs: list) -> list:
    """The finished run folder of each of ``runs`` (resolve_config keyword arguments), or None: found by
    the configuration it recorded among the runs of its own folder (``<output_dir>/runs/<variant>/``),
    under whatever name -- the folder :attr:`RunConfig.run_dir` would give it first."""
    found = {}
    for root in _scope([(None, kw) for kw in runs]):
        for p, saved in _scan([root])[0]:
            key = (root, saved.get("protocol"), saved.get("profile", RunConfig.profile), semantic_key(saved))
            found.setdefault(key, []).append(p)
    out = []
    for kw in runs:
        cfg = resolve_config(**kw)
        root = _scope([(None, kw)])[0]
        paths = found.get((root, cfg.protocol, cfg.profile, semantic_key(cfg.to_dict())), [])
        out.append(cfg.run_dir if cfg.run_dir in paths else (paths[0] if paths else None))
    return out


def place(kw: dict, name: str = "table1") -> dict:
    """``kw`` (resolve_config keyword arguments) with the output folder where grid ``name`` keeps a run of its
    configuration: the folder of the grid's row with the same settings, the seed aside (the ablation's row for
    ``w_match = 0``, say), under the results folder ``kw["output_dir"]`` (default: the profile's). ``kw`` keeps
    that results folder when no row has its settings. So a variant chapter or ``jade train`` with any seed
    reuses, or trains, Table 1's run where Table 1's runs are."""
    profile = kw.get("profile") or "paper"
    results = str(kw.get("output_dir") or PROFILES[profile].get("output_dir", RunConfig.output_dir))
    kw = {**kw, "output_dir": results}

    def settings(k: dict) -> tuple:
        cfg = resolve_config(**{**k, "seed": 0})
        return cfg.protocol, semantic_key(cfg.to_dict())
    want = settings(kw)
    for _, row in expected(name, profile, results, kw.get("data_dir")):
        if settings(row) == want:
            return {**kw, "output_dir": row["output_dir"]}
    return kw


def missing(name: str, profile: str, results=None, data_dir=None) -> list:
    """The keyword arguments of grid ``name``'s runs that have no finished run of their configuration
    (wherever in the grid's folders it is, under whatever name)."""
    labelled = expected(name, profile, results, data_dir)
    have = {semantic_key(saved) for p, saved in _scan(_scope(labelled))[0]
            if saved.get("profile", RunConfig.profile) == profile}
    return [kw for _, kw in labelled if semantic_key(resolve_config(**kw).to_dict()) not in have]
