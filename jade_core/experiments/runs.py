"""Runs on disk: one folder per configuration.

``<output_dir>/runs/<variant>/<name>/`` holds (the name is :attr:`RunConfig.run_name`: protocol,
a tag per field that differs from the profile's default, seed, e.g. ``local-seed3``, ``local-wm0-seed0``)

- ``config.json``: the resolved :class:`RunConfig`, package versions, data
  sources and fingerprints, the labelled pool;
- ``metrics.json``: SVHN and MNIST errors with confusion matrices, time;
- ``curve.csv``: the learning curve, one row per epoch;
- ``weights.pt``: the trained weights (a few MB). Optional once finished: git
  keeps weights only for the runs the book loads (Table 1's runs, for
  Figure 2); a tuning run is finished with its configuration, metrics and
  curve, and only what needs weights asks for them.

A run is written into ``<name>.partial/`` (with ``checkpoint.pt`` while it
trains) and renamed into place only when finished, so a folder without
``.partial`` is always complete. Tables and figures are derived from these
files and never retrain.
"""
from __future__ import annotations

import ast
import contextlib
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from filelock import FileLock, Timeout

from .. import __version__
from ..science.config import PROFILES, ConfigError, JadeError, RunConfig, validate
from ..science.data import SHAPES, to_float
from ..science.evaluate import predict
from ..science.models import build_model
from ..science.train import svhn_train_ce

FILES = ("config.json", "metrics.json", "curve.csv")  # what makes a run finished
WEIGHTS = "weights.pt"                                 # written by every run, kept in git for some


PKG = Path(__file__).resolve().parents[1]  # jade_core/
ROOT = PKG.parent                          # the project checkout: results/, sweeps/, book/ (the one place)


def relative(p) -> str:
    """A path as the project names it (relative to the checkout), so a page never shows this machine's."""
    try:
        return str(Path(p).resolve().relative_to(ROOT))
    except ValueError:
        return str(p)


def _sources_digest(files) -> str:
    """sha256 (16 hex) of (file name, contents) pairs in name order: what :func:`source_hash` records,
    computed the same way from a working tree or from git blobs (:func:`_source_hashes`)."""
    h = hashlib.sha256()
    for name, data in sorted(files):
        h.update(name.encode() + b"\0" + data)
    return h.hexdigest()[:16]


def source_hash(pkg: Path = PKG) -> str:
    """sha256 (16 hex) of the package's Python sources, every sub-package's too (named by their path inside
    the package, so the flat layout of older commits hashes as it did): which code trained a run, with or
    without git. ``pkg``: another checkout's ``jade_core/`` (:func:`foreign_checkout`)."""
    return _sources_digest((f.relative_to(pkg).as_posix(), f.read_bytes()) for f in Path(pkg).rglob("*.py"))


def foreign_checkout(cwd=None) -> Path | None:
    """The project checkout that holds ``cwd`` when its ``jade_core`` is not the one imported and its code
    differs (else None). The ``jade`` script imports the checkout its environment installed (editable),
    not the current folder's, so ``jade`` run inside another checkout (a ``git worktree`` of a fixed
    commit, say) would train the installed checkout's code and read its sweep files, while writing runs
    under this folder's ``results/``: not the commit its user meant to run. (``PYTHONPATH`` set to the
    checkout does select it: the editable finder comes after the path finder.)"""
    here = Path(cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "jade_core" / "__init__.py").is_file():
            if folder == ROOT.resolve():
                return None
            return folder if source_hash(folder / "jade_core") != source_hash() else None
    return None


def git_commit() -> str | None:
    """The commit of the working tree the package is imported from, if it is a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PKG, capture_output=True,
                             text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "."], cwd=PKG,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return (out.stdout.strip() + ("+dirty" if dirty else "")) if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def versions() -> dict:
    import torchvision  # its version only, recorded with each run

    return {"python": platform.python_version(), "torch": torch.__version__,
            "torchvision": torchvision.__version__, "numpy": np.__version__, "jade_core": __version__,
            "jade_core_source": source_hash(), "git_commit": git_commit()}


def first_line(e: BaseException) -> str:
    """The first line of an exception's message ('' for none): what a one-line error quotes."""
    return (str(e).splitlines() or [""])[0]


def write_json(path: Path, obj) -> None:
    """Write JSON atomically (temporary file, then rename)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(json.dumps(obj, indent=1, sort_keys=True))
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise ConfigError(f"could not write {path} ({e.strerror or e}); is the disk full? Free space and run the "
                          "same command again: what was finished is kept.") from None
    os.replace(tmp, path)


def save_torch(path: Path, obj) -> None:
    """torch.save atomically; a failed write (disk full) leaves the previous file and no ``.tmp``."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        torch.save(obj, tmp)
    except (OSError, RuntimeError) as e:
        tmp.unlink(missing_ok=True)
        raise ConfigError(f"could not write {path} ({type(e).__name__}: {first_line(e)[:200]}); is the disk "
                          "full? Free space and run the same command again: the last checkpoint written is kept.") from None
    os.replace(tmp, path)


class RunBusy(JadeError):
    """Another process holds the lock of a run folder."""


@contextlib.contextmanager
def run_lock(run_dir: Path, wait: bool = False):
    """Exclusive lock of one run folder (``.<name>.lock`` beside it), held while a run is
    checked, trained or finalised, so two processes never write the same run.

    The second process raises :class:`RunBusy` at once, or blocks until the
    first is done when ``wait`` (then it finds the run finished and reuses it).
    """
    run_dir = Path(run_dir)
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(run_dir.parent / f".{run_dir.name}.lock"))
    try:
        lock.acquire(timeout=-1 if wait else 0)
    except Timeout:
        raise RunBusy(f"another process is training {run_dir} (its lock file {lock.lock_file} is held). "
                      "Wait for it to finish (the run is then reused), pass wait=True (`jade train --wait`), "
                      "or choose another output_dir.") from None
    try:
        yield
    finally:
        lock.release()


def partial_dir(run_dir: Path) -> Path:
    return run_dir.with_name(run_dir.name + ".partial")


def is_finished(run_dir: Path) -> bool:
    return all((Path(run_dir) / f).exists() for f in FILES)


def config_differences(saved: dict, cfg: RunConfig) -> list:
    now = cfg.semantic()
    skip = set(RunConfig.NON_SEMANTIC) | set(RunConfig.UNUSED.get(cfg.variant, ()))
    keys = sorted(set(now) | set(k for k in saved if k not in skip))
    # a field added after a run was saved had, for that run, its default value
    default = {**RunConfig.defaults(), **RunConfig.WHEN_ADDED}
    saved = {k: saved.get(k, default.get(k)) for k in keys}
    return [f"{k}: saved {saved.get(k)!r}, now {now.get(k)!r}" for k in keys if saved.get(k) != now.get(k)]


def _saved_config(where: Path) -> dict:
    """The configuration a run folder (finished or ``.partial``) recorded; a one-line error naming the fix
    when it cannot be read."""
    try:
        saved = json.loads((where / "config.json").read_text())["config"]
        if not isinstance(saved, dict):
            raise TypeError("'config' is not a mapping")
        return saved
    except (ValueError, KeyError, TypeError, OSError) as e:
        fix = (f"delete {where} to train this run afresh" if where.name.endswith(".partial")
               else "retrain it with `jade train ... --force`")
        raise ConfigError(f"{where / 'config.json'} cannot be read ({type(e).__name__}: {first_line(e)[:120]}); "
                          f"{fix}.") from None


def recover_old(run_dir: Path) -> None:
    """Undo a replacement cut short by a crash in :func:`finalize`: a ``.old`` folder with no run
    beside it is the previous run, put back; one beside a finished run is left-over, removed."""
    old = run_dir.with_name(run_dir.name + ".old")
    if old.exists():
        if is_finished(run_dir):
            shutil.rmtree(old)
        elif not run_dir.exists():
            os.replace(old, run_dir)


def check_existing(cfg: RunConfig, force: bool = False) -> str:
    """What to do with the run folder: ``'reuse'``, ``'resume'`` or ``'train'``.

    A finished or partial run with another configuration is never overwritten
    silently: without ``force`` this raises :class:`ConfigError` naming the
    differences. ``force`` trains afresh; the old finished run is replaced
    only when the new one finishes.
    """
    run_dir, part = cfg.run_dir, partial_dir(cfg.run_dir)
    recover_old(run_dir)
    candidates = []
    if is_finished(run_dir):
        candidates.append((run_dir, "finished", "reuse"))
    if (part / "checkpoint.pt").exists() and (part / "config.json").exists():
        candidates.append((part, "unfinished", "resume"))
    if force:
        return "train"
    if len(candidates) == 2:
        raise ConfigError(f"{run_dir} is finished, and {part} holds an unfinished retraining of it (a --force run "
                          f"cut short). Pass --force to retrain it afresh, or delete {part} to keep the finished run.")
    for where, kind, action in candidates:
        diffs = config_differences(_saved_config(where), cfg)
        if diffs:
            raise ConfigError(f"a {kind} run with a different configuration is in {where} "
                              f"({'; '.join(diffs)}). Pass force=True (--force) to retrain it (the old run "
                              "is replaced only when the new one finishes), or choose another output_dir.")
        return action
    return "train"


@dataclass
class Run:
    """A finished run loaded from disk."""

    path: Path
    config: RunConfig
    info: dict
    metrics: dict
    curve: pd.DataFrame
    model: torch.nn.Module

    def classify(self, images: np.ndarray, dataset: str = "svhn") -> np.ndarray:
        """Predicted digits for a batch of uint8 images: SVHN (N, 3, 32, 32) or MNIST (N, 28, 28)."""
        if dataset not in SHAPES:
            raise ConfigError(f"classify: unknown dataset {dataset!r}; choose one of {', '.join(SHAPES)}.")
        images = np.asarray(images)
        if images.dtype != np.uint8 or tuple(images.shape[1:]) != SHAPES[dataset]:
            raise ConfigError(f"classify expects uint8 {dataset} images of shape (N, "
                              f"{', '.join(map(str, SHAPES[dataset]))}), got {images.dtype} {images.shape}.")
        if dataset not in self.model.datasets:
            raise ConfigError(f"the {self.config.variant} model has no {dataset} encoder; "
                              f"it classifies {', '.join(self.model.datasets)} only.")
        return predict(self.model, to_float(images), dataset).numpy()


def load_run(path, weights: bool = True) -> Run:
    """Load a finished run folder (config, metrics, curve and, with ``weights``, the trained model;
    ``weights=False`` gives ``model=None`` for runs whose weights are not kept)."""
    path = Path(path)
    if not is_finished(path):
        missing = [f for f in FILES if not (path / f).exists()]
        raise ConfigError(f"{path} is not a finished run (missing {', '.join(missing)}). "
                          "Train it first with `jade train`.")
    try:
        saved = json.loads((path / "config.json").read_text())
        cfg = validate(RunConfig(**saved["config"]))
    except (ValueError, KeyError, TypeError, OSError) as e:  # ConfigError is a ValueError: named here too
        raise ConfigError(f"{path / 'config.json'} is not a run configuration ({type(e).__name__}: "
                          f"{first_line(e)[:160]}). Retrain the run with `jade train ... --force`.") from None
    model = None
    if weights:
        if not (path / WEIGHTS).exists():
            raise ConfigError(f"{path} has no {WEIGHTS}: its weights are not kept in git (only Table 1's runs "
                              "keep theirs). Retrain it with `jade train ... --force`, or load it with weights=False "
                              "for its metrics and curve.")
        model = build_model(cfg.variant)
        try:  # weights_only: a weights file is data, never code
            model.load_state_dict(torch.load(path / WEIGHTS, map_location="cpu", weights_only=True))
        except Exception as e:  # truncated, empty, code in the pickle, another variant's tensors
            raise ConfigError(f"{path / WEIGHTS} is not a {cfg.variant} model's weights ({type(e).__name__}: "
                              f"{first_line(e)[:120]}); it was not loaded. Retrain the run with "
                              "`jade train ... --force`.") from None
        model.eval()
    try:
        metrics, curve = json.loads((path / "metrics.json").read_text()), pd.read_csv(path / "curve.csv")
        metrics["svhn"]["error"]
    except (ValueError, KeyError, TypeError, OSError, pd.errors.ParserError) as e:
        raise ConfigError(f"{path}: metrics.json or curve.csv cannot be read ({type(e).__name__}: "
                          f"{first_line(e)[:120]}). Retrain the run with `jade train ... --force`.") from None
    return Run(path, cfg, saved, metrics, curve, model)


def saved_run_config(saved_config: dict) -> RunConfig:
    """The :class:`RunConfig` of a saved configuration: a field the run did not record takes its profile's
    value, then the default; keys that are no field are ignored. Raises TypeError / ConfigError."""
    fields = RunConfig.defaults()
    profile = PROFILES.get(saved_config.get("profile", RunConfig.profile), {})
    return RunConfig(**{**RunConfig.WHEN_ADDED, **profile, **{k: v for k, v in saved_config.items() if k in fields}})


def name_of(saved_config: dict) -> str | None:
    """The folder name :attr:`RunConfig.run_name` gives a saved configuration (:func:`saved_run_config`);
    None when it is not a valid configuration."""
    try:
        return saved_run_config(saved_config).run_name
    except (TypeError, ConfigError):
        return None


# folders that hold a run but are not one: a run being made or being replaced, and copies kept by hand
NOT_RUNS = (".partial", ".old", ".bak")


def run_identity(saved_config: dict) -> str:
    """What makes two finished runs the same run: the fields that change the result
    (:meth:`RunConfig.semantic`, protocol and seed included) of the saved configuration
    (:func:`saved_run_config`). Never the folder's name."""
    return json.dumps(saved_run_config(saved_config).semantic(), sort_keys=True, default=str)


def same_run(cfg: RunConfig) -> Path | None:
    """The finished run of ``cfg`` in its own folder (``<output_dir>/runs/<variant>/``), under whatever name:
    :attr:`RunConfig.run_dir` when that is finished, else the first finished folder beside it whose recorded
    configuration is the same run (:func:`run_identity`, same profile) -- one named under earlier defaults,
    or renamed by hand. None when there is none. What decides reuse is the configuration, not the name: a
    folder named as ``cfg`` would be but holding another configuration (named under earlier defaults) is
    not this run (training then refuses to overwrite it, naming the differences)."""
    want = run_identity(cfg.to_dict())
    # the folder of cfg's own name first, then its siblings; each by the configuration it recorded
    for p in [cfg.run_dir, *sorted(m.parent for m in cfg.run_dir.parent.glob("*/metrics.json"))]:
        if p.name.endswith(NOT_RUNS) or not is_finished(p):
            continue
        try:
            saved = _saved_config(p)
            if saved.get("profile", RunConfig.profile) == cfg.profile and run_identity(saved) == want:
                return p
        except (ConfigError, TypeError):
            continue  # unreadable: not this run (finished_runs and the tables report it)
    return None


def finished_runs(output_dir="results", protocol=None) -> list:
    """Paths of every finished run under ``output_dir/runs/<variant>/``, sorted, whatever the folders are
    called: a folder's name is a label for people and never decides membership. Work folders and copies
    (:data:`NOT_RUNS`) are not runs; ``protocol`` is read from each run's ``config.json``. Two folders that
    hold the same run (:func:`run_identity`) are refused with both named, so a copy never becomes an extra
    seed. An unreadable config.json is kept here: :func:`collect_metrics` reports it."""
    root = Path(output_dir) / "runs"
    out, seen = [], {}
    for p in sorted(m.parent for m in root.glob("*/*/metrics.json")):
        if p.name.endswith(NOT_RUNS) or not is_finished(p):
            continue
        try:
            saved = _saved_config(p)
            ident = run_identity(saved)
        except (ConfigError, TypeError):
            out.append(p)
            continue
        if protocol and saved.get("protocol") != protocol:
            continue
        if ident in seen:
            raise ConfigError(f"{seen[ident]} and {p} hold the same run (one configuration, seed "
                              f"{saved.get('seed')}). Delete or move one of them out of {root}.")
        seen[ident] = p
        out.append(p)
    return out


def config_tag(run_name: str) -> str:
    """The configuration part of a run name: ``local-wm0-seed3`` -> ``wm0``; ``local-seed3`` -> ``''``."""
    return re.sub(r"^(local|paper)-?", "", re.sub(r"-?seed\d+$", "", run_name))


def rename_to_scheme(output_dir, dry_run: bool = False, only=None) -> list:
    """Rename every finished run folder under ``output_dir`` (searched recursively for ``runs/``) to
    the name its configuration gives it -- or only the folders in ``only``; returns ``(old, new)`` pairs. A
    folder whose new name is taken is left alone and reported."""
    moves = []
    keep = None if only is None else {Path(p).resolve() for p in only}
    for metrics in sorted(Path(output_dir).glob("**/runs/*/*/metrics.json")):
        d = metrics.parent
        if keep is not None and d.resolve() not in keep:
            continue
        if d.name.endswith((".partial", ".old")) or not is_finished(d):
            continue
        try:
            expected = name_of(_saved_config(d))
        except (ValueError, KeyError, OSError):
            continue
        if expected and expected != d.name:
            target = d.with_name(expected)
            if target.exists():
                moves.append((d, None))
                continue
            if not dry_run:
                os.replace(d, target)
            moves.append((d, target))
    return moves




def run_row(p: Path, label=None) -> dict:
    """One finished run as a table row: variant (or ``label``), protocol, seed, configuration tag
    (:func:`config_tag` of the name its configuration gives it: a label for people, whatever the folder is
    called), SVHN and MNIST error, SVHN and MNIST validation error, the
    matching numbers on the evaluation part, restarts, time, labels per class, optimisation steps and the
    device it trained on. Raises ValueError / KeyError / OSError on unreadable files."""
    p = Path(p)
    cfg = json.loads((p / "config.json").read_text())["config"]
    m = json.loads((p / "metrics.json").read_text())
    curve = pd.read_csv(p / "curve.csv")
    ce = svhn_train_ce(curve.iloc[-1])  # of the last epoch
    match = m.get("matching_eval", {})
    return {"variant": label or cfg["variant"], "protocol": cfg["protocol"], "seed": cfg["seed"],
            "config": config_tag(name_of(cfg) or p.name),
            "svhn_error": m["svhn"]["error"], "mnist_error": m.get("mnist", {}).get("error"),
            "svhn_val_error": m.get("svhn_val", {}).get("error"),
            "mnist_val_error": m.get("mnist_val", {}).get("error"),
            "centroid_accuracy": match.get("centroid_accuracy"), "kl_match": match.get("kl_match"),
            "attempts": m.get("attempts", 1),
            "n_svhn_eval": m["svhn"]["n"], "train_seconds": m["train_seconds"],
            "final_train_ce": float(ce), "labels_per_class": cfg.get("labels_per_class"),
            "steps": int(m.get("steps", 0)), "device": str(cfg.get("device", "cpu")), "path": str(p)}


run_row.COLUMNS = ["variant", "protocol", "seed", "config", "svhn_error", "mnist_error", "svhn_val_error",
                   "mnist_val_error", "centroid_accuracy", "kl_match", "attempts", "n_svhn_eval", "train_seconds",
                   "final_train_ce", "labels_per_class", "steps", "device", "path"]


def collect_metrics(output_dir="results", protocol=None, label=None) -> pd.DataFrame:
    """One row per finished run under ``output_dir/runs`` (:func:`run_row`); an unreadable run is
    skipped with a warning naming it and the fix, and listed in ``df.attrs["skipped"]``."""
    rows, skipped = [], []
    for p in finished_runs(output_dir, protocol):
        try:
            rows.append(run_row(p, label))
        except (ValueError, KeyError, OSError, pd.errors.ParserError) as e:  # one bad run does not hide the others
            warnings.warn(f"skipping {p}: unreadable run files ({type(e).__name__}: {e}); retrain it with "
                          "`jade train ... --force` or delete the folder.", stacklevel=2)
            skipped.append((str(p), f"unreadable run files ({type(e).__name__}: {e})"))
    out = pd.DataFrame(rows, columns=run_row.COLUMNS)
    out.attrs["skipped"] = skipped
    return out


def collect_table1(output_dir="results", protocol=None, grid="table1") -> pd.DataFrame:
    """The runs of Table 1: the grid ``sweeps/table1.yml`` (three models and the ablations, labelled
    e.g. ``jade_nomatch``), selected by the configuration each run recorded (:func:`jade_core.experiments.grid.select`)."""
    from .grid import select  # grid builds on this module's run rows
    return select(grid, output_dir, protocol)


def finalize(cfg: RunConfig, work: Path) -> Path:
    """Move a finished ``.partial`` folder into place, replacing an old run last."""
    (work / "checkpoint.pt").unlink(missing_ok=True)
    for stray in work.glob("*.tmp"):  # an atomic write cut short (disk full, a kill) is not part of the run
        stray.unlink()
    target = cfg.run_dir
    if target.exists():
        old = target.with_name(target.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
        os.replace(work, target)
        shutil.rmtree(old)
    else:
        os.replace(work, target)
    return target


# The package files whose changes can change what a run produces (data, model, losses, loop, saving).
TRAINING_CODE = ("science/augment.py", "science/config.py", "science/data.py", "science/evaluate.py",
                 "experiments/lifecycle.py", "science/losses.py", "science/models.py", "experiments/runs.py",
                 "science/train.py")  # inside jade_core/


def code_of(source: bytes) -> str:
    """What a module computes: its syntax tree without imports and docstrings (which moving a module
    between sub-packages rewrites), comments and layout aside."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            node.body = [n for n in body if not isinstance(n, (ast.Import, ast.ImportFrom))
                         and not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)
                                  and isinstance(n.value.value, str))] or [ast.Pass()]
    return ast.dump(tree)


def training_code_changed(repo: Path, commit: str) -> list:
    """The files of :data:`TRAINING_CODE` whose code (:func:`code_of`) at ``commit`` differs from this
    checkout's (found at their path then, or at the flat ``jade_core/<name>`` of the layout before the
    sub-packages)."""
    changed = []
    for f in TRAINING_CODE:
        paths = (f"jade_core/{f}", f"jade_core/{Path(f).name}")
        now = next((code_of((repo / p).read_bytes()) for p in paths if (repo / p).exists()), None)
        then = None
        for path in paths:
            try:
                then = code_of(_git(repo, "show", f"{commit}:{path}"))
                break
            except subprocess.CalledProcessError:
                continue
        if then != now:
            changed.append(Path(f).name)
    return changed


def _git(repo: Path, *args, stdin: bytes | None = None) -> bytes:
    return subprocess.run(["git", *args], cwd=repo, input=stdin, capture_output=True, check=True, timeout=60).stdout


def _source_hashes(repo: Path) -> dict:
    """{source hash (as :func:`source_hash` computes it) -> commit} over the history of HEAD, so a run
    that recorded only its source hash (or a stale commit) can be traced to the commit it ran."""
    commits = _git(repo, "rev-list", "HEAD").decode().split()
    wanted = []
    for c in commits:
        names = [n for n in _git(repo, "ls-tree", "-r", "--name-only", c, "jade_core/").decode().split()
                 if n.endswith(".py")]
        wanted.append((c, sorted(names)))
    blobs = _git(repo, "cat-file", "--batch", stdin="".join(f"{c}:{n}\n" for c, ns in wanted for n in ns).encode())
    out, pos = {}, 0
    for c, names in wanted:
        files = []
        for n in names:
            end = blobs.index(b"\n", pos)
            size = int(blobs[pos:end].split()[2])
            files.append((n[len("jade_core/"):], blobs[end + 1:end + 1 + size]))
            pos = end + 1 + size + 1
        out.setdefault(_sources_digest(files), c)  # newest commit with that source
    return out


def provenance(paths, repo=None, here: str | None = None) -> pd.DataFrame:
    """Which code trained the runs in ``paths``, against this checkout: one row per code version with
    its runs and whether the training code (:data:`TRAINING_CODE`) differs from the working tree's.

    A run records its git commit and its source hash (:func:`versions`); the source hash is traced to
    a commit of this repository's history when the commit was not clean. Re-running a run whose
    training code is unchanged should reproduce it; ``jade verify RUN`` checks one."""
    repo = Path(repo) if repo else ROOT
    here = here or source_hash()
    try:
        by_source = _source_hashes(repo)
    except Exception:  # no git, or not a clone with history: compare by source hash only
        by_source = None
    groups = {}
    for p in paths:
        v = json.loads((Path(p) / "config.json").read_text()).get("versions", {})
        commit, src = v.get("git_commit"), v.get("jade_core_source")
        traced = commit if commit and not commit.endswith("+dirty") else (by_source or {}).get(src)
        key = ("here", None) if src is not None and src == here else (traced, None) if traced else (commit, src)
        groups.setdefault(key, []).append(Path(p))
    rows = []
    for (code, src), runs in groups.items():
        if code == "here":
            status, code = "the code of this checkout", here
        elif code is None and src is None:
            status = "not recorded (trained before runs recorded their code)"
        elif src is not None or code.endswith("+dirty"):
            status = ("cannot be compared: no git history here" if by_source is None else
                      "cannot be compared: trained with uncommitted changes")
        else:
            try:
                if subprocess.run(["git", "cat-file", "-e", f"{code}^{{commit}}"], cwd=repo,
                                  capture_output=True).returncode:
                    raise ValueError(code)
                changed = training_code_changed(repo, code)
                status = ("same training code as this checkout" if not changed else
                          "training code changed since: " + ", ".join(changed))
            except Exception:
                status = f"cannot be compared: commit {code[:10]} is not in this clone's history"
        rows.append({"code": (code or src or "–")[:10], "runs": len(runs), "training code": status})
    return pd.DataFrame(rows, columns=["code", "runs", "training code"])
