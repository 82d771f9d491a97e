"""The one runner: train a list of runs (a sweep file's, or the grids the book's chapters read) on
local worker processes or a Dask cluster.

Each grid is defined once, in a sweep file (``sweeps/*.yml``, read by
:func:`expand_sweep`); this module skips finished runs (same configuration), resumes
partial ones, and trains the rest with ``workers`` processes (each run
uses ``RunConfig.threads`` CPU threads; two 1-thread workers fill a 2-core
machine). One failing run does not stop the others; it is reported with its
error at the end. Two processes never train one run folder: each run takes
the folder's lock (:func:`jade_core.experiments.runs.run_lock`), and a busy folder is
reported, not trained twice.
"""
from __future__ import annotations

import ctypes
import itertools
import signal
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

import yaml
from tqdm import tqdm

from ..science.config import PROFILES, ConfigError, JadeError, RunConfig, resolve_config
from .lifecycle import train
from .runs import first_line, same_run


def _train_one(kw: dict) -> dict:
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
        from distributed import Client  # the cluster extra, only with --scheduler
        from distributed import as_completed as dask_completed  # the cluster extra
    except ImportError as e:
        raise ConfigError("--scheduler needs Dask: pip install -e '.[cluster]'") from e
    try:
        client = Client(scheduler, timeout=20)
    except (OSError, TimeoutError) as e:
        raise ConfigError(f"could not reach the Dask scheduler at {scheduler} ({type(e).__name__}: {e}); start it "
                          "(`dask scheduler`) or check the address.") from None
    with client:
        futures = {client.submit(_train_one, kw, key=_run_key(kw), pure=False): kw for kw in todo}
        yield from collect(futures, dask_completed(list(futures)))


def collect(futures: dict, completed):
    """Results of ``futures`` ({future: run kwargs}) as ``completed`` yields them; a future that raises
    (a worker killed again and again: Dask's KilledWorker; a lost process) is that run's failure, reported
    with its error, and the others go on."""
    for f in completed:
        try:
            yield f.result()
        except Exception as e:
            yield {"run": str(resolve_config(**futures[f]).run_dir), "status": "failed", "seconds": 0.0,
                   "error": f"{type(e).__name__}: {first_line(e)}".rstrip(": ")}


def die_with_parent() -> None:
    """Initializer of worker processes: on Linux, the kernel kills the worker when the process that
    started it dies (even by kill -9), so no worker goes on training or executing notebooks alone."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:
            pass


def _on_local_workers(todo: list, workers: int):
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), initializer=die_with_parent)
    try:
        futures = {pool.submit(_train_one, kw): kw for kw in todo}
        yield from collect(futures, as_completed(futures))
    except BaseException:  # Ctrl-C, or the caller gone: no queued run may start after it
        procs = list(getattr(pool, "_processes", {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        # a worker survives a KeyboardInterrupt in its run and would take the run already handed to it: end the
        # workers (every write is atomic, so a run stopped anywhere resumes from its last checkpoint)
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.join(timeout=10)
        raise
    finally:
        pool.shutdown(wait=True)  # the runs already training got the same SIGINT and leave their checkpoint


class SweepInterrupted(JadeError):
    """Ctrl-C during a sweep: what finished, what was interrupted (resumable) and what never started."""
    exit_code = 130


MAX_RUNS = 5000  # a sweep file larger than this is refused before it is expanded (expand_sweep's max_runs)


def load_sweep(path, data_dir=None, profile=None, results=None, seeds=None, max_runs: int = MAX_RUNS) -> tuple:
    """Read a sweep file: ``(name, [resolve_config keyword arguments, ...])`` (:func:`expand_sweep`
    without the labels)."""
    name, labelled = expand_sweep(path, data_dir, profile, results, seeds, max_runs)
    return name, [kw for _, kw in labelled]


SPEC_KEYS = ("name", "profile", "base", "output_dir", "seeds", "runs", "grid", "grids", "steps")


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml.safe_load, except that a mapping with the same key twice is an error (YAML keeps the last)."""


def _unique_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ConfigError(f"the key {key!r} appears twice (line {key_node.start_mark.line + 1}); keep one.")
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def read_spec(path) -> dict:
    """A sweep file's contents, checked against its format before anything expands: valid UTF-8 YAML, a mapping
    with known keys only (a misspelt one is named with the nearest known key), no key twice, a name, and runs or
    a grid. One :class:`ConfigError` line per mistake."""
    import difflib
    try:
        spec = yaml.load(Path(path).read_bytes().decode("utf-8"), Loader=_UniqueKeyLoader)
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not a text file (not UTF-8); a sweep file is YAML.") from None
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path} is not valid YAML ({first_line(e)}); fix the file.") from None
    except OSError as e:
        raise ConfigError(f"cannot read the sweep file {path} ({type(e).__name__}: {first_line(e)}).") from None
    if not isinstance(spec, dict):
        raise ConfigError(f"{path}: a sweep file is a mapping of {', '.join(SPEC_KEYS)}; got {type(spec).__name__}.")
    for key in spec:
        if key not in SPEC_KEYS:
            near = difflib.get_close_matches(str(key), SPEC_KEYS, 1)
            raise ConfigError(f"{path}: unknown key {key!r}" + (f" (did you mean {near[0]!r}?)" if near else "")
                              + f"; a sweep file has {', '.join(SPEC_KEYS)}.")
    for key, kind in (("base", dict), ("runs", list), ("grids", list), ("grid", dict), ("name", str)):
        if spec.get(key) is not None and not isinstance(spec[key], kind):
            raise ConfigError(f"{path}: {key} must be a {'mapping' if kind is dict else kind.__name__}, "
                              f"got {type(spec[key]).__name__}.")
    if "name" not in spec or not (spec.get("runs") or spec.get("grid") or spec.get("grids")):
        raise ConfigError(f"{path}: a sweep file needs a name and runs or a grid (see jade_core.experiments.sweep.load_sweep).")
    return spec


def planned_size(spec: dict, seeds) -> int:
    """How many runs a sweep file describes, counted without expanding it."""
    n = len(spec.get("runs") or [])
    for grid in ([spec["grid"]] if spec.get("grid") else []) + list(spec.get("grids") or []):
        size = 1
        for values in (grid.values() if isinstance(grid, dict) else []):
            size *= len(values) if isinstance(values, list) else 1
        n += size
    return n * max(1, len(seeds) if isinstance(seeds, list) else 1)


def expand_sweep(path, data_dir=None, profile=None, results=None, seeds=None, max_runs: int = MAX_RUNS) -> tuple:
    """Read a sweep file: ``(name, [(label, resolve_config keyword arguments), ...])``; ``seeds`` (a list)
    replaces the file's ``seeds:`` for this call, so that a long grid is made a few seeds per sitting, and
    seeds the file does not list yet are made before it lists them (``jade sweep FILE --seeds 5 6``).

    Format (YAML)::

        name: settings-search            # the sweep's name
        profile: paper                   # optional, default paper (``profile=`` overrides it)
        base: {seed: 0, epochs: 150}     # RunConfig fields shared by every run
        output_dir: results/search/{run} # where each run goes ({run}: the run's name, {sweep}: the sweep's,
                                         # {results}: the profile's results folder, or ``results=``; or
                                         # any field the run sets, e.g. {labels_per_class})
        seeds: {smoke: [0, 1], paper: [0, 1, 2]}   # optional: every run without a seed, once per seed
                                         # (a list, or one list per profile)
        runs:                            # explicit runs, each with a name ...
          - {run: jade-sum-wmatch-300, variant: jade, w_match: 300.0}
          - {run: ablation, label: jade_nomatch, w_match: 0.0, output_dir: "{results}/ablation"}
        grid:                            # ... and/or a grid: every combination of the lists
          variant: [single, paired, jade]
          seed: [0, 1, 2]
        grids:                           # ... and/or several grids, each expanded the same way
          - {variant: [jade], w_cls: [10000.0, 30000.0], seed: [100, 101]}
          - {variant: [paired], mnist_batch_size: [64, 256], seed: [100, 101]}
        steps: {paper: {train: 2400, validate: 80, restart: 480}}   # optional: lengths in optimisation
                                         # steps (per profile, or one for all), turned into each run's
                                         # epochs, eval_every, restart_epoch and w_match_warmup
                                         # (:func:`in_steps`); a run
                                         # or grid may give its own (in a grid: a list of such maps)

    Grid runs are named from their values (``variant-jade_seed-0``). ``label`` names the model a table
    shows the run as (default: its variant). Unknown fields are refused with the list of known ones
    (by :func:`jade_core.science.config.resolve_config`).
    """


    spec = read_spec(path)
    name, base = spec["name"], dict(spec.get("base") or {})
    profile = profile or spec.get("profile", "paper")
    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}: choose one of {', '.join(PROFILES)}.")
    results = str(results or PROFILES[profile].get("output_dir", RunConfig.output_dir))
    if seeds is None:
        seeds = for_profile(spec.get("seeds"), profile, path, "seeds")
    elif spec.get("seeds") is None:
        raise ConfigError(f"{path} gives no seeds: (its runs name their own), so --seeds cannot choose among them; "
                          "drop --seeds, or add seeds: to the file.")
    elif not seeds:  # each seed's type and range: resolve_config, below, for every run
        raise ConfigError(f"seeds must be a non-empty list of integers, got {seeds!r}.")
    if planned_size(spec, seeds) > max_runs:  # before expanding: a product of a few lists can exhaust memory
        raise ConfigError(f"{path} describes {planned_size(spec, seeds):,} runs, more than {max_runs:,}; split it, or "
                          "raise the limit (jade sweep --max-runs N).")
    runs = [dict(r) for r in spec.get("runs") or []]
    grids = ([spec["grid"]] if spec.get("grid") else []) + list(spec.get("grids") or [])
    for grid in grids:
        if not isinstance(grid, dict) or not all(isinstance(v, list) and v for v in grid.values()):
            raise ConfigError(f"{path}: every grid maps field names to non-empty lists of values, got {grid!r}.")
        for values in itertools.product(*grid.values()):
            r = dict(zip(grid, values))
            r["run"] = "_".join(f"{k}-{v['train']}" if k == "steps" else f"{k}-{v}" for k, v in r.items()
                                if k != "output_dir")
            runs.append(r)
    if seeds is not None:
        runs = [{**r, "seed": s, "run": f"{r.get('run') or 'run'}_seed-{s}"} if "seed" not in r and "seed" not in base
                else r for r in runs for s in (seeds if "seed" not in r and "seed" not in base else [None])]
    out = []
    for r in runs:
        run_name = r.pop("run", None) or "_".join(f"{k}-{v}" for k, v in r.items())
        label = r.pop("label", None)
        steps = r.pop("steps", None) or spec.get("steps")  # a run's own lengths, else the sweep's
        kw = {**base, **r, "profile": profile, "data_dir": data_dir}
        kw.setdefault("variant", "jade")
        template = r.get("output_dir") or spec.get("output_dir")
        if template:
            fields = {k: v for k, v in kw.items() if k != "output_dir"}
            try:
                kw["output_dir"] = str(template).format(**{**fields, "run": run_name, "sweep": name, "results": results})
            except KeyError as e:
                raise ConfigError(f"{path}: output_dir {template!r} names {e}, which run {run_name} does not set; "
                                  "use {run}, {sweep}, {results} or a field the run sets.") from None
        elif "output_dir" not in kw:
            kw["output_dir"] = results
        if steps is not None:
            kw.update(in_steps(kw, for_profile(steps, profile, path, "steps"), f"{path}: run {run_name}"))
        resolve_config(**kw)  # every run checked before anything trains
        out.append((label or kw["variant"], kw))
    dirs = [str(resolve_config(**kw).run_dir) for _, kw in out]
    if len(set(dirs)) < len(dirs):
        raise ConfigError(f"{path}: two runs of the sweep share a run folder; put {{run}} in output_dir.")
    return name, out


STEP_FIELDS = {"train": "epochs", "validate": "eval_every", "restart": "restart_epoch", "warmup": "w_match_warmup"}


def for_profile(value, profile: str, path, key: str):
    """A sweep file's value for ``profile``: ``value`` itself, or ``value[profile]`` when it is given per
    profile (its keys are profile names)."""
    if isinstance(value, dict) and set(value) <= set(PROFILES):
        if profile not in value:
            raise ConfigError(f"{path}: {key} are given for {', '.join(value)}, not for the {profile} profile.")
        return value[profile]
    return value


def in_steps(kw: dict, steps: dict, where: str = "sweep") -> dict:
    """Lengths counted in optimisation steps -> the epoch fields of run ``kw`` (resolve_config keywords).

    ``steps = {"train": S, "validate": V, "restart": R, "warmup": W}`` gives ``epochs = S / e``,
    ``eval_every = V / e``, ``restart_epoch = R / e`` and ``w_match_warmup = W / e`` (the linear ramp of
    the matching weight of Eq. 2) with ``e`` the run's steps per epoch (:attr:`RunConfig.steps_per_epoch`,
    ceil(10 x labels per class / batch)). A pool of 10 labels per class is two steps of 64 an epoch, one of
    100 labels sixteen: the same S makes every model at every budget take the same number of steps. Each
    must be a whole number of epochs, and a run may not also set the field itself."""
    if not isinstance(steps, dict) or not set(steps) <= set(STEP_FIELDS) or "train" not in steps:
        raise ConfigError(f"{where}: steps must map train (and optionally validate, restart, warmup) to step counts, "
                          f"got {steps!r}.")
    spe = resolve_config(**kw).steps_per_epoch
    out = {}
    for key, n in steps.items():
        field = STEP_FIELDS[key]
        if field in kw:
            raise ConfigError(f"{where}: sets {field} and steps.{key} both; keep one.")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1 or n % spe:
            raise ConfigError(f"{where}: steps.{key} = {n!r} is not a whole number of epochs of {spe} steps "
                              f"(labels_per_class {resolve_config(**kw).labels_per_class}); choose a multiple of {spe}.")
        out[field] = n // spe
    return out


def run_all(runs: list, workers: int = 2, dry_run=False, scheduler: str | None = None, label="runs") -> list:
    """Train the missing runs of ``runs`` (resolve_config keyword arguments), on ``workers`` local
    processes or, with ``scheduler`` (e.g. ``tcp://host:8786``), on a Dask cluster; returns one result
    dict per run (finished ones as 'reused'). The results do not depend on where a run ran (same
    configuration, same metrics)."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers must be an integer >= 1, got {workers!r}; pass --workers 1 or more.")
    todo, results = [], []
    for kw in runs:
        found = same_run(resolve_config(**kw))  # by configuration, whatever the folder is called
        if found is not None:
            results.append({"run": str(found), "status": "reused", "seconds": 0.0})
        else:
            todo.append(kw)
    # seed by seed (a sitting cut short leaves balanced seeds), the longest model of a seed first so
    # two workers finish a seed together
    cost = {"jade": 0, "paired": 1, "single": 2}
    todo.sort(key=lambda kw: (kw["seed"], cost.get(kw.get("variant"), 3)))
    if dry_run:
        return results + [{"run": str(resolve_config(**kw).run_dir), "status": "to train", "seconds": 0.0}
                          for kw in todo]
    where = f"Dask {scheduler}" if scheduler else f"{workers} workers"
    bar = tqdm(total=len(todo), desc=f"{label} ({where})", unit="run")
    stream = _on_dask(todo, scheduler) if scheduler else _on_local_workers(todo, workers)
    try:
        for r in stream:
            results.append(r)
            bar.update(1)
            bar.set_postfix(failed=sum(x["status"] == "failed" for x in results))
            tqdm.write(f"[{label}] {r['status']}: {r['run']} ({r['seconds']:.0f} s)"
                       + (f" {r['error']}" if "error" in r else ""))
    except KeyboardInterrupt:
        stream.close()  # cancels the queued runs and waits for the running ones to stop
        bar.close()
        done = sum(r["status"] == "done" for r in results)
        left = len(todo) - sum(r["status"] in ("done", "failed") for r in results)
        raise SweepInterrupted(f"interrupted: {done} run(s) finished, {left} not (those that were training keep "
                               "their last checkpoint); run the same command again to resume them.") from None
    bar.close()
    return results
