"""The ``jade`` command line (also ``python -m jade_core``).

    jade train --variant jade --seed 0 --profile paper --data-dir ../shared/data
    jade evaluate results/runs/jade/local-seed0
    jade table --output-dir results
    jade export --out mirror/ --download
    jade check-data --data-dir ../shared/data
    jade study recipe-remake --stage search   (the tuned recipe re-chosen on the search seeds)
    jade book --profile smoke            (run the notebook matrix, build the site)
"""
from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ..experiments import grid
from ..experiments.lifecycle import train
from ..experiments.runs import (
    ROOT,
    collect_table1,
    foreign_checkout,
    git_commit,
    load_run,
    provenance,
    relative,
    rename_to_scheme,
    training_code_changed,
)
from ..experiments.studies import STUDIES, reported_recipe, run_study
from ..experiments.sweep import MAX_RUNS, load_sweep, run_all
from ..reporting.report import markdown_table1
from ..science.config import (
    LR_SCHEDULES,
    OPTIMIZERS,
    PRECISIONS,
    PROFILES,
    PROTOCOLS,
    REC_REDUCTIONS,
    VARIANTS,
    ConfigError,
    JadeError,
    RunConfig,
    default_data_dir,
    resolve_config,
)
from ..science.data import DataError, build_splits, export_mirror, load_split
from ..science.evaluate import evaluate
from ..science.split import LOCAL_DEVELOPMENT, LOCAL_EVALUATION, local_parts
from . import figcheck
from .book import build_book, check_numbers, run_matrix
from .notebook import ACCEPT_SKIPPED

# Fields with a flag of their own below (several seeds, the variant and profile choices).
_SPECIAL = ("variant", "profile", "seed")
_CHOICES = {"variant": VARIANTS, "protocol": PROTOCOLS, "precision": PRECISIONS, "rec_reduction": REC_REDUCTIONS,
            "optimizer": OPTIMIZERS, "lr_schedule": LR_SCHEDULES}


def field_help() -> dict:
    """Each RunConfig field's comment in config.py (with its continuation lines): the flags' help."""
    out, last = {}, None
    for line in inspect.getsource(RunConfig).splitlines():
        m = re.match(r"\s{4}(\w+): [^=]+=[^#]*#\s?(.*)", line)
        if m:
            last = m.group(1)
            out[last] = m.group(2).strip()
        elif last and re.match(r"\s+#", line):
            out[last] += " " + line.strip().lstrip("#").strip()
        else:
            last = None
    return out


def _add_train_args(p):
    """One flag per RunConfig field, generated from the dataclass: its type, its choices and, as help,
    its comment in config.py. Every flag defaults to None (the profile's value)."""
    helps = field_help()
    p.add_argument("--variant", choices=VARIANTS, default="jade", help=helps["variant"])
    p.add_argument("--profile", choices=tuple(PROFILES), default="paper", help=helps["profile"])
    p.add_argument("--seed", type=int, nargs="+", default=[0], help="one or more seeds; " + helps["seed"])
    for f in dataclasses.fields(RunConfig):
        if f.name in _SPECIAL:
            continue
        flag, kind = "--" + f.name.replace("_", "-"), str(f.type)
        kw = {"default": None, "help": helps.get(f.name, "") + f" (default: {f.default})".replace("%", "%%")}
        if kind == "bool":
            kw["action"] = argparse.BooleanOptionalAction
        elif f.name in _CHOICES:
            kw["choices"] = _CHOICES[f.name]
        else:
            kw["type"] = int if "int" in kind else float if "float" in kind else str
        p.add_argument(flag, **kw)
    p.add_argument("--force", action="store_true", help="retrain even if a finished run exists")
    p.add_argument("--wait", action="store_true", help="if another process is training the run, wait for it "
                   "and reuse its result instead of stopping")


def cmd_train(a):
    overrides = {f.name: getattr(a, f.name) for f in dataclasses.fields(RunConfig) if f.name not in _SPECIAL}
    # a Table 1 configuration goes where sweeps/table1.yml keeps its runs, so a finished one is reused
    configs = [resolve_config(**grid.place(dict(variant=a.variant, profile=a.profile, seed=s,
                                                **{k: v for k, v in overrides.items() if v is not None})))
               for s in a.seed]
    for cfg in configs:
        try:
            path = train(cfg, force=a.force, wait=a.wait)
        except KeyboardInterrupt:
            print(f"\ninterrupted: {cfg.variant} seed {cfg.seed} keeps its last finished epoch in "
                  f"{cfg.run_dir}.partial/checkpoint.pt; run the same command again to resume.", file=sys.stderr)
            return 130
        m = load_run(path, weights=False).metrics
        mn = f", MNIST error {m['mnist']['error']:.2f}%" if "mnist" in m else ""
        print(f"{path}: SVHN error {m['svhn']['error']:.2f}% on {m['svhn']['n']} images ({cfg.protocol}){mn}")


def cmd_evaluate(a):
    import torch  # only this command needs it: the CLI starts fast

    run = load_run(a.run)
    # paths are resolved afresh (the recorded data_dir may be another machine's); precision and
    # memory format are the run's own, so the recorded errors are reproduced exactly
    cfg = dataclasses.replace(run.config, data_dir=a.data_dir or default_data_dir())
    from ..experiments.lifecycle import check_same_data  # the images the run recorded, or a clear refusal
    check_same_data(cfg, run.path)  # the folder given, wherever it is and whatever it is called
    splits = build_splits(cfg, need_mnist="mnist" in run.model.datasets)
    model = run.model.to(memory_format=torch.channels_last) if cfg.channels_last else run.model
    ev = dict(precision=cfg.precision, channels_last=cfg.channels_last)
    out = {"svhn": evaluate(model, splits.svhn_eval, "svhn", **ev)["error"]}
    if "mnist" in run.model.datasets:
        out["mnist"] = evaluate(model, splits.mnist_test, "mnist", **ev)["error"]
    print(json.dumps({"run": str(run.path), "protocol": cfg.protocol, "error_percent": out,
                      "recorded": {k: run.metrics[k]["error"] for k in out}}, indent=1))


def cmd_verify(a):
    """Retrain a run's configuration in a temporary folder and compare each metric with the recorded one;
    with ``--record DIR`` also write the comparison to ``DIR/<variant>-<run folder>.txt`` (the Table 1
    chapter shows the records of its own runs: :func:`jade_core.reporting.report.verify_records`)."""

    run = load_run(a.run, weights=False)
    start = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = dataclasses.replace(run.config, data_dir=a.data_dir or default_data_dir(), output_dir=tmp)
        again = load_run(train(cfg, progress=True), weights=False).metrics
    wall = time.time() - start
    worst, lines = 0.0, []
    for key in ("svhn", "svhn_val", "mnist", "mnist_val"):
        if key in run.metrics and key in again:
            d = again[key]["error"] - run.metrics[key]["error"]
            worst = max(worst, abs(d))
            lines.append(f"{key:>9}: recorded {run.metrics[key]['error']:.3f} %, retrained {again[key]['error']:.3f} % "
                         f"(difference {d:+.3f} pp)")
    ok = worst <= a.tolerance
    lines.append(f"{'reproduced' if ok else 'NOT reproduced'} within {a.tolerance} pp (largest difference {worst:.3f} pp); "
                 "bit-identical results need the same CPU kind, torch version and thread count (recorded in config.json)")
    print("\n".join(lines))
    if a.record:
        made = (json.loads((run.path / "config.json").read_text()).get("versions") or {}).get("git_commit") or "?"
        here = git_commit() or "?"
        changed = training_code_changed(ROOT, made.split("+")[0]) if made != "?" else []
        head = [f"# jade verify {relative(run.path)}",
                f"# run trained by commit {made[:7]}" + (" (training code changed since)" if changed else "")
                + f"; retrained on {time.strftime('%Y-%m-%d')} by the code of commit {here[:7]}, {cfg.threads} "
                f"thread{'s' if cfg.threads > 1 else ''}, {cpu_name()}, wall {wall / 60:.0f} min"]
        out = Path(a.record) / f"{cfg.variant}-{run.path.name}.txt"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("\n".join(head + lines) + "\n")
        print(f"recorded in {out}")
    return 0 if ok else 1


def cpu_name() -> str:
    """This machine's CPU model and core count, as a verify record says it (Linux /proc/cpuinfo)."""
    info = Path("/proc/cpuinfo")
    m = re.search(r"^model name\s*:\s*(.+)$", info.read_text(), re.M) if info.exists() else None
    return f"{m.group(1).strip() if m else 'unknown CPU'}, {os.cpu_count()} cores"


def cmd_table(a):
    if a.recipe:
        rep = reported_recipe(a.output_dir, a.protocol)  # the book's, never a search seed
        df, chosen = rep["runs"], rep["chosen"]
        if df.empty:
            raise ConfigError(f"no finished run of the tuned recipe under {a.output_dir}/recipe-remake; "
                              "make them with `jade study recipe-remake`.")
        print(markdown_table1(df, recipe=chosen))
    else:
        df = collect_table1(a.output_dir, a.protocol)
        if df.empty:
            raise ConfigError(f"no finished runs under {a.output_dir}/runs; train some with `jade train`.")
        print(markdown_table1(df))
    # on stderr, so the Markdown on stdout stays what the README quotes
    for r in provenance(df.path).itertuples():
        print(f"code {r.code}: {r.runs} runs; {r._3}", file=sys.stderr)
    print("(re-running a run whose training code changed may not reproduce it exactly: `jade verify RUN` "
          "retrains one and compares)", file=sys.stderr)


def cmd_export(a):
    for path, what in export_mirror(a.out, a.data_dir, a.download):
        print(f"{path}: {what}")


def cmd_check_data(a):

    d = a.data_dir or default_data_dir()
    missing, local_ok = [], False
    for ds, split in (("mnist", "train"), ("mnist", "test"), ("svhn", "train"), ("svhn", "test")):
        try:
            x, y, index, src = load_split(d, ds, split, a.download)
            print(f"{ds} {split}: {len(y)} images from {src}; per class {np.bincount(y, minlength=10).tolist()}")
            if (ds, split) == ("svhn", "test"):
                dev, ev = local_parts(index)  # what `train` needs of the local protocol: both parts
                local_ok = len(dev) > 0 and len(ev) > 0
                print(f"svhn test: local protocol's development part ({LOCAL_DEVELOPMENT[0]}..{LOCAL_DEVELOPMENT[1] - 1}) "
                      f"{len(dev)} images, evaluation part ({LOCAL_EVALUATION[0]}..{LOCAL_EVALUATION[1] - 1}) {len(ev)}")
        except DataError as e:
            print(f"{ds} {split}: unavailable: {e}")
            missing.append((ds, split))
    protocols = (["paper"] if ("svhn", "train") not in missing and ("svhn", "test") not in missing else []) \
        + (["local"] if local_ok else [])
    print(f"protocols this directory allows: {', '.join(protocols) or 'none'}")
    # SVHN train is optional (it only enables the paper protocol); the rest is needed
    return 1 if set(missing) - {("svhn", "train")} else 0


def cmd_sweep(a):
    name, runs = load_sweep(a.file, a.data_dir, seeds=a.seeds, max_runs=a.max_runs)
    if a.device:
        runs = [{**kw, "device": a.device} for kw in runs]
    return _report_runs(run_all(runs, a.workers, a.dry_run, a.scheduler, name))


def cmd_study(a):
    return _report_runs(run_study(a.study, a.workers, a.dry_run, a.scheduler, a.device, a.data_dir, a.stage,
                                  seeds=a.seeds))


def cmd_matrix(a):
    return _report_runs(run_matrix(a.profile, a.workers, a.data_dir, a.variant, a.dry_run, a.scheduler))


def _report_runs(results):
    for r in results:
        print(f"{r['status']:>9}  {r['run']}" + (f"  ({r['seconds']:.0f} s)" if r["seconds"] else "")
              + (f"  {r['error']}" if "error" in r else ""))
    failed = [r for r in results if r["status"] == "failed"]
    print(f"{len(results)} runs: " + ", ".join(f"{sum(r['status'] == s for r in results)} {s}"
                                               for s in ("reused", "done", "failed", "to train")))
    return 1 if failed else 0


def cmd_tidy_runs(a):
    only = None if a.grid is None else list(grid.select(a.grid, a.dir).path)  # one grid's runs only
    moves = rename_to_scheme(a.dir, dry_run=a.dry_run, only=only)
    for old, new in moves:
        print(f"{old} -> {new}" if new else f"{old}: left alone, the name its configuration gives it is taken")
    print(f"{sum(n is not None for _, n in moves)} run folders {'to rename' if a.dry_run else 'renamed'} under {a.dir}.")


def cmd_check_figures(a):
    return figcheck.main()


def cmd_check_numbers(a):
    stale = check_numbers(from_last_build=a.from_last_build, ref=a.ref, data_dir=a.data_dir)
    for line in stale:
        print(f"stale: {line}")
    print(f"check-numbers: {len(stale)} stale" + ("" if stale else "; every number matches the committed runs"))
    return 1 if stale else 0


def cmd_book(a):
    if a.accept_skipped:  # read by every chapter's kernel (jade_core.tooling.notebook.report_skipped)
        os.environ[ACCEPT_SKIPPED] = "1"
    build_book(profile=a.profile, data_dir=a.data_dir, force=a.force, skip_build=a.skip_build,
               reuse_only=a.reuse_only, only=a.only, jobs=a.jobs)


# the commands that train or execute chapters: refused inside another checkout whose code differs
TRAINING_COMMANDS = ("train", "verify", "matrix", "sweep", "study", "book", "check-numbers")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="jade", description="JADE companion: train, evaluate, export, build.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train", help="train one variant for one or more seeds (reuses finished runs)")
    _add_train_args(p)
    p.set_defaults(func=cmd_train)
    p = sub.add_parser("evaluate", help="re-evaluate a finished run on its protocol's images")
    p.add_argument("run", help="a run folder, e.g. results/runs/jade/local-seed0")
    p.add_argument("--data-dir")
    p.set_defaults(func=cmd_evaluate)
    p = sub.add_parser("verify", help="retrain a run in a temporary folder and compare with its recorded metrics")
    p.add_argument("run", help="a finished run folder")
    p.add_argument("--data-dir")
    p.add_argument("--tolerance", type=float, default=0.0, help="largest accepted difference, percentage points")
    p.add_argument("--record", metavar="DIR", help="also write the comparison to DIR (e.g. results/verify)")
    p.set_defaults(func=cmd_verify)
    p = sub.add_parser("table", help="Table 1 from the finished runs (never trains)")
    p.add_argument("--output-dir", default="results")
    p.add_argument("--protocol", choices=PROTOCOLS)
    p.add_argument("--recipe", action="store_true", help="the tuned recipe the book reports instead "
                   "(OUTPUT_DIR/recipe-remake)")
    p.set_defaults(func=cmd_table)
    p = sub.add_parser("export", help="write an offline mirror (npz) from the official files")
    p.add_argument("--out", required=True)
    p.add_argument("--data-dir", help="where the official files are (default: --out)")
    p.add_argument("--download", action="store_true", help="download the official files (needs internet)")
    p.set_defaults(func=cmd_export)
    p = sub.add_parser("check-data", help="check the data directory and say which protocols it allows")
    p.add_argument("--data-dir")
    p.add_argument("--download", action="store_true")
    p.set_defaults(func=cmd_check_data)
    p = sub.add_parser("matrix", help="train every run of book/matrix.yml on local worker processes")
    p.add_argument("--profile", choices=tuple(PROFILES), default="paper")
    p.add_argument("--workers", type=int, default=2, help="worker processes (each uses the run's threads)")
    p.add_argument("--variant", nargs="*", choices=VARIANTS, help="only these variants")
    p.add_argument("--data-dir")
    p.add_argument("--dry-run", action="store_true", help="list the runs and what would happen")
    p.add_argument("--scheduler", help="address of a Dask scheduler (tcp://host:8786) to run on a cluster")
    p.set_defaults(func=cmd_matrix)
    p = sub.add_parser("sweep", help="train the runs of a sweep file (e.g. sweeps/table1.yml)")
    p.add_argument("file", help="a sweep YAML file (format: jade_core.experiments.sweep.load_sweep)")
    p.add_argument("--seeds", type=int, nargs="+", help="these seeds instead of the file's seeds: (a long grid a "
                   "few seeds per sitting; seeds it does not list yet may be made first)")
    p.add_argument("--workers", type=int, default=2, help="worker processes (each uses the run's threads)")
    p.add_argument("--data-dir")
    p.add_argument("--dry-run", action="store_true", help="list the runs and what would happen")
    p.add_argument("--scheduler", help="address of a Dask scheduler (tcp://host:8786) to run on a cluster")
    p.add_argument("--device", help="cpu or cuda (where the runs train; not part of a run's identity)")
    p.add_argument("--max-runs", type=int, default=MAX_RUNS, help=f"refuse a file of more runs (default {MAX_RUNS:,})")
    p.set_defaults(func=cmd_sweep)
    p = sub.add_parser("study", help="a study beyond the paper: its search, the declared choice, its final runs")
    p.add_argument("study", choices=tuple(STUDIES),
                   help="recipe-remake: the tuned recipe, chosen on the search seeds")
    p.add_argument("--stage", choices=("search", "final", "all"), default="all")
    p.add_argument("--seeds", type=int, nargs="+", help="only these seeds of the final runs (default: all)")
    p.add_argument("--workers", type=int, default=2, help="worker processes (each uses the run's threads)")
    p.add_argument("--device", help="cpu or cuda (where the runs train; not part of a run's identity)")
    p.add_argument("--data-dir")
    p.add_argument("--dry-run", action="store_true", help="list the runs and what would happen")
    p.add_argument("--scheduler", help="address of a Dask scheduler (tcp://host:8786) to run on a cluster")
    p.set_defaults(func=cmd_study)
    p = sub.add_parser("tidy-runs", help="rename run folders to the names their configurations give them")
    p.add_argument("dir", nargs="?", default="results", help="folder searched for runs/ (default results)")
    p.add_argument("--dry-run", action="store_true", help="only list the renames")
    p.add_argument("--grid", help="only the runs of this grid (sweeps/<grid>.yml), e.g. table1")
    p.set_defaults(func=cmd_tidy_runs)
    p = sub.add_parser("check-figures", help="compare the regenerated figures/ with the committed ones (CI)")
    p.set_defaults(func=cmd_check_figures)
    p = sub.add_parser("book", help="execute the notebook matrix with papermill and build the site")
    p.add_argument("--profile", choices=tuple(PROFILES), default="paper")
    p.add_argument("--data-dir")
    p.add_argument("--force", action="store_true", help="retrain runs even where finished ones exist")
    p.add_argument("--skip-build", action="store_true", help="execute notebooks only")
    p.add_argument("--reuse-only", action="store_true",
                   help="never train the other seeds: build from the finished runs that exist")
    p.add_argument("--only", nargs="*", help="run only these notebooks (names without .ipynb)")
    p.add_argument("--jobs", type=int, default=2, help="notebooks executed side by side (default 2)")
    p.add_argument("--accept-skipped", action="store_true", help="build the paper profile even when some runs "
                   "cannot be read (each page then lists them); without it such a build fails")
    p.set_defaults(func=cmd_book)
    p = sub.add_parser("check-numbers", help="recompute every glued number and README block from results/ and "
                       "fail when one differs from what is committed")
    p.add_argument("--from-last-build", action="store_true",
                   help="compare the last `jade book --profile paper` instead of executing the chapters again")
    p.add_argument("--ref", default="HEAD", help="the commit whose results/numbers.json is the reference")
    p.add_argument("--data-dir")
    p.set_defaults(func=cmd_check_numbers)
    a = parser.parse_args(argv)
    try:
        if a.command in TRAINING_COMMANDS and (other := foreign_checkout()) is not None:
            raise ConfigError(f"you are in the checkout {other}, but this jade runs the code installed from {ROOT}, "
                              f"which differs: runs would be made with that code and written here. Run this "
                              f"checkout's code (PYTHONPATH=$PWD jade ..., or its own environment: python -m venv "
                              f".venv && .venv/bin/pip install -e .), or run from {ROOT}.")
        return a.func(a) or 0
    except JadeError as e:  # a parameter, the data or a run folder: one line, no traceback
        print(f"jade {a.command}: {'' if getattr(e, 'exit_code', 2) == 130 else 'error: '}{e}", file=sys.stderr)
        return getattr(e, "exit_code", 2)
    except KeyboardInterrupt:  # Ctrl-C outside a sweep (a book build between notebooks): no traceback
        print(f"jade {a.command}: interrupted; run the same command again (finished runs are kept).", file=sys.stderr)
        return 130
    except OSError as e:  # the disk or the network, e.g. an unreachable scheduler: one line naming it
        print(f"jade {a.command}: error: {e.strerror or e} ({type(e).__name__}"
              + (f": {e.filename}" if getattr(e, "filename", None) else "") + "); check the path, the disk or the "
              "address and run the same command again (finished runs are kept).", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
