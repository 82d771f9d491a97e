"""Train every run of the book's run matrix (``book/matrix.yml``) on local worker processes.

The matrix is the one definition of which runs exist; this module derives
the run list from it, skips finished runs (same configuration), resumes
partial ones, and trains the rest with ``workers`` processes (each run
uses ``RunConfig.threads`` CPU threads; two 1-thread workers fill a 2-core
machine). One failing run does not stop the others; it is reported with its
error at the end. Two processes never train one run folder: each run takes
the folder's lock (:func:`jade_core.runs.run_lock`), and a busy folder is
reported, not trained twice.
"""
from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context

from tqdm import tqdm

from .book import load_matrix
from .config import VARIANTS, ConfigError, resolve_config
from .runs import is_finished


def matrix_runs(profile: str, data_dir=None, variants=None) -> list:
    """Keyword arguments of :func:`jade_core.config.resolve_config` for every variant run of the matrix."""
    out, seen = [], set()
    for e in load_matrix()[profile]:
        if e["notebook"] not in VARIANTS or (variants and e["notebook"] not in variants):
            continue
        p = e.get("parameters", {})
        kw = dict(variant=e["notebook"], profile=profile, seed=p.get("seed", 0), w_match=p.get("w_match"),
                  output_dir=p.get("output_dir"), data_dir=data_dir)
        key = str(resolve_config(**kw).run_dir)
        if key not in seen:
            seen.add(key)
            out.append(kw)
    return out


def _train_one(kw: dict) -> dict:
    from .train import train
    t0 = time.time()
    try:
        path = train(resolve_config(**kw), progress=False)
        return {"run": str(path), "status": "done", "seconds": round(time.time() - t0, 1)}
    except Exception as e:  # reported at the end; the other runs go on
        return {"run": str(resolve_config(**kw).run_dir), "status": "failed", "seconds": round(time.time() - t0, 1),
                "error": f"{type(e).__name__}: {e}"}


def _run_key(kw: dict) -> str:
    return "jade-run:" + str(resolve_config(**kw).run_dir)


def _on_dask(todo: list, scheduler: str):
    """Yield results of the runs as tasks on a Dask distributed cluster (``scheduler`` = its address).
    Each task's key is its run folder, so the scheduler never holds the same run twice; workers need
    this package installed and the data directory at the same path (or $JADE_DATA_DIR)."""
    try:
        from distributed import Client, as_completed as dask_completed
    except ImportError as e:
        raise ConfigError("--scheduler needs Dask: pip install -e '.[cluster]'") from e
    with Client(scheduler) as client:
        futures = [client.submit(_train_one, kw, key=_run_key(kw), pure=False) for kw in todo]
        for f in dask_completed(futures):
            yield f.result()


def _on_local_workers(todo: list, workers: int):
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        for f in as_completed([pool.submit(_train_one, kw) for kw in todo]):
            yield f.result()


def run_matrix(profile: str = "paper", workers: int = 2, data_dir=None, variants=None, dry_run=False,
               scheduler: str | None = None) -> list:
    """Train the matrix's missing runs, on ``workers`` local processes or, with ``scheduler``
    (e.g. ``tcp://host:8786``), on a Dask cluster; returns one result dict per run (finished ones as
    'reused'). The results do not depend on where a run ran (same configuration, same metrics)."""
    todo, results = [], []
    for kw in matrix_runs(profile, data_dir, variants):
        run_dir = resolve_config(**kw).run_dir
        if is_finished(run_dir):
            results.append({"run": str(run_dir), "status": "reused", "seconds": 0.0})
        else:
            todo.append(kw)
    todo.sort(key=lambda kw: kw["seed"])  # seed by seed: a sitting cut short leaves balanced seeds
    if dry_run:
        return results + [{"run": str(resolve_config(**kw).run_dir), "status": "to train", "seconds": 0.0}
                          for kw in todo]
    where = f"Dask {scheduler}" if scheduler else f"{workers} workers"
    bar = tqdm(total=len(todo), desc=f"{profile} runs ({where})", unit="run")
    stream = _on_dask(todo, scheduler) if scheduler else _on_local_workers(todo, workers)
    for r in stream:
        results.append(r)
        bar.update(1)
        bar.set_postfix(failed=sum(x["status"] == "failed" for x in results))
        tqdm.write(f"[matrix] {r['status']}: {r['run']} ({r['seconds']:.0f} s)"
                   + (f" {r['error']}" if "error" in r else ""))
    bar.close()
    return results
