"""Helpers the book's notebooks call, so no notebook copies another's logic.

Each chapter has one ``parameters`` cell; the cell after it calls
:func:`check_parameters`, which turns a wrong value passed through papermill
into one clear error naming the parameter and what it accepts.
"""
from __future__ import annotations

import ast
import dataclasses
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np

from ..experiments import grid
from ..experiments.lifecycle import train
from ..experiments.runs import ROOT, collect_table1, load_run, provenance, relative
from ..reporting import plotting
from ..reporting.prose import numbers
from ..reporting.report import VARIANT_ORDER, verify_records
from ..reporting.report import latent_table as _latent_table
from ..science.config import PROFILES, ConfigError, JadeError, default_data_dir, resolve_config
from ..science.data import build_splits
from .book import load_matrix
from .ledger import _runs, commands, record
from .ledger import note_runs as _note

FIGURES = {"paper": "figures", "smoke": "_build/smoke-figures"}


def project_root() -> Path:
    """The project's root: the folder above ``book/`` that holds ``_config.yml``, found from the
    working directory upwards (a notebook opened in Jupyter runs in ``book/``), else from the package."""
    for d in (Path.cwd(), *Path.cwd().parents):
        if (d / "_config.yml").exists() and (d / "jade_core").is_dir():
            return d
    return ROOT


def project_path(path) -> Path:
    """``path`` as given when absolute, else relative to :func:`project_root` (not the working directory)."""
    path = Path(path)
    return path if path.is_absolute() else project_root() / path


def _assigned(source: str) -> list:
    """Names a cell assigns at its top level (``name = value`` lines), in order."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [t.id for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target]) if isinstance(t, ast.Name)]


def unknown_parameters(history) -> tuple[list, list]:
    """Parameters papermill injected that the chapter does not declare: ``(unknown, declared)``.

    ``history`` is the kernel's list of executed cell sources (IPython's ``In``). Papermill runs its
    injected cell, which starts with ``# Parameters``, right after the chapter's ``parameters`` cell;
    any name it assigns that the parameters cell does not is a parameter this chapter does not have
    (papermill itself only logs a warning and runs on)."""
    for i in range(len(history) - 1, 0, -1):
        if history[i].lstrip().startswith("# Parameters"):
            declared = _assigned(history[i - 1])
            return [n for n in _assigned(history[i]) if n not in declared], declared
    return [], []


def check_parameters(profile="paper", seed=0, data_dir=None, output_dir=None, seeds=None, **extra) -> dict:
    """Validate notebook parameters; return them resolved (data and output folders, figure folder).

    A parameter papermill passed that the chapter does not declare is refused, with the list of the
    ones it has (:func:`unknown_parameters`)."""
    global _started
    _started = time.time()  # the page's execution time, for its re-run box
    try:
        from IPython import get_ipython  # notebook-only: the helpers also run in a plain interpreter
        shell = get_ipython()
    except ImportError:
        shell = None
    if shell is not None:
        unknown, declared = unknown_parameters(shell.user_ns.get("In", []))
        if unknown:
            raise ConfigError(f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}: this "
                              f"chapter's parameters are {', '.join(declared)}.")
    if not isinstance(profile, str) or profile not in PROFILES:
        raise ConfigError(f"parameter profile={profile!r}: accepts one of {', '.join(PROFILES)}.")
    for name, value in [("seed", seed)] + [(f"seeds[{i}]", s) for i, s in enumerate(seeds or [])]:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"parameter {name}={value!r}: accepts an integer >= 0.")
    if "force" in extra and not isinstance(extra["force"], bool):
        raise ConfigError(f"parameter force={extra['force']!r}: accepts True or False.")
    if data_dir is None:
        # $JADE_DATA_DIR as the user wrote it (relative to where they are), else <project>/data
        data_dir = default_data_dir() if os.environ.get("JADE_DATA_DIR") else str(project_path("data"))
    data_dir = str(data_dir)
    if not Path(data_dir).is_dir():
        raise ConfigError(f"parameter data_dir={data_dir!r}: the directory does not exist. Pass a data mirror "
                          "such as ../shared/data (or set $JADE_DATA_DIR); see the README.")
    # an output_dir of one's own takes the figures too (under <output_dir>/figures), so re-running a
    # chapter elsewhere never overwrites the committed figures/
    out = dict(profile=profile, seed=seed, data_dir=data_dir,
               output_dir=str(project_path(output_dir or PROFILES[profile].get("output_dir", "results"))),
               figures=project_path(output_dir) / "figures" if output_dir else project_path(FIGURES[profile]),
               **extra)
    if seeds is not None:
        out["seeds"] = list(seeds)
    out["figures"].mkdir(parents=True, exist_ok=True)
    glue_prose()  # every chapter's prose can quote the paper's, the architecture's and the protocol's numbers
    return out


def show(path):
    """Display a figure file in the notebook (the book shows exactly the file in figures/)."""
    from IPython.display import Image, display  # notebook-only
    display(Image(filename=str(path)))


def show_provenance(paths, verify_dir) -> None:
    """A chapter's "Which code trained these runs": the runs in ``paths`` grouped by the code that trained them
    (:func:`jade_core.experiments.runs.provenance`), then every ``jade verify --record`` record of them in
    ``verify_dir`` (:func:`jade_core.reporting.report.verify_records`), a retrained run metric by metric."""
    from IPython.display import Markdown, display  # notebook-only

    display(provenance(paths).style.hide(axis="index"))
    for line in verify_records(verify_dir, paths):
        display(Markdown(line))


def glue(name, value, fmt="{:.2f}", runs=None, source=None) -> None:
    """myst-nb glue of a number as text, so prose quotes what the code computed (shown only where quoted),
    recorded in the book's ledger with the runs it came from (``runs``; default: every run this chapter
    has read, :func:`note_runs`), or, for a number no run computes, the ``source`` that holds it;
    :mod:`jade_core.tooling.ledger`."""
    from myst_nb import glue as _glue  # the book's extra: tests call these helpers without it

    text = fmt.format(value) if isinstance(value, (int, float, np.floating, np.integer)) else str(value)
    _glue(name, text, display=False)
    record(name, text, [] if source else runs, source=source)


def glue_prose() -> None:
    """Glue every number the prose quotes that no run computes (:func:`jade_core.reporting.prose.numbers`): the
    paper's, the architecture's, the protocol's; the ledger keeps those a page shows, with their source."""
    for name, (text, source) in numbers().items():
        glue(name, text, fmt="{}", source=source)


def note_runs(paths) -> None:
    """The chapter read these run folders: its glued numbers are computed from them (the ledger says so)."""
    _note(paths)


def run_variant(variant: str, params: dict, force: bool = False, **overrides):
    """Train (or reuse) one run of ``variant`` for the chapter's seed; return the loaded :class:`Run`."""
    cfg = resolve_config(**grid.place(dict(variant=variant, profile=params["profile"], seed=params["seed"],
                                           data_dir=params["data_dir"], output_dir=params["output_dir"],
                                           **{k: v for k, v in overrides.items() if v is not None})))
    run = load_run(train(cfg, force=force, progress=True))
    note_runs([run.path])
    return run


def figure_name(run, tag: str = "") -> str:
    """Stem of a run's figure files: ``<variant><tag>-<protocol>-seed<k>`` (``tag`` tells ablations apart)."""
    return f"{run.config.variant}{tag}-{run.config.protocol}-seed{run.config.seed}"


def variant_figures(run, figures: Path, tag: str = "") -> dict:
    """Learning curve and confusion matrices of one run, written under ``figures``."""
    name = figure_name(run, tag)
    out = {"curve": plotting.learning_curve(run.curve, figures / f"{name}-curve.png",
                                            title=f"{plotting.VARIANT_NAMES[run.config.variant]}, seed {run.config.seed}"),
           "confusion_svhn": plotting.confusion(run.metrics["svhn"]["confusion"], figures / f"{name}-confusion-svhn.png",
                                                title=f"SVHN ({run.config.protocol} protocol evaluation images)")}
    if "mnist" in run.metrics:
        out["confusion_mnist"] = plotting.confusion(run.metrics["mnist"]["confusion"],
                                                    figures / f"{name}-confusion-mnist.png", title="MNIST test")
    return out


def shown_run(runs, variant: str, params: dict):
    """The finished run of ``variant`` for the chapter's seed among ``runs`` (:func:`table_runs`), loaded;
    a clear error naming the seeds there are, or the chapter to run first."""
    mine = runs[runs.variant == variant]
    if mine.empty:
        raise ConfigError(f"no finished {variant} run under {params['output_dir']}/runs: run the {variant} chapter first.")
    shown = mine[mine.seed == params["seed"]]
    if shown.empty:
        raise ConfigError(f"no finished {variant} run for seed {params['seed']} under {params['output_dir']}/runs; "
                          f"finished seeds: {sorted(mine.seed)}.")
    return load_run(shown.path.iloc[0])


def run_splits(run, params: dict, need_mnist: bool = True):
    """The data splits of a finished run, loaded from this build's data directory (the one the run
    recorded may be another machine's path); the same cut, since it depends on the config alone."""

    return build_splits(dataclasses.replace(run.config, data_dir=params["data_dir"]), need_mnist=need_mnist)


def glue_run(run, prefix: str) -> None:
    """Glue the numbers every variant chapter quotes, as ``<prefix>_<name>``: SVHN error, evaluation
    images, protocol, minutes, epochs, seed, restarts under the plateau rule, (two-dataset models) MNIST
    error and (JADE) its loss weights and matching numbers on validation and evaluation images; print
    where the run is."""
    m = run.metrics
    glue(f"{prefix}_svhn_error", m["svhn"]["error"])
    glue(f"{prefix}_n_eval", m["svhn"]["n"], fmt="{}")
    glue(f"{prefix}_protocol", run.config.protocol, fmt="{}")
    glue(f"{prefix}_minutes", m["train_seconds"] / 60, fmt="{:.1f}")
    glue(f"{prefix}_epochs", run.config.epochs, fmt="{}")
    glue(f"{prefix}_seed", run.config.seed, fmt="{}")
    glue(f"{prefix}_restarts", m.get("attempts", 1) - 1, fmt="{}")
    if "mnist" in m:
        glue(f"{prefix}_mnist_error", m["mnist"]["error"])
    if "kl_match" in m.get("matching_val", {}):  # JADE: its weights and whether its content space matches
        cfg, mv, me = run.config, m["matching_val"], m["matching_eval"]
        for name in ("w_rec", "w_cls", "w_kl", "w_match", "w_match_warmup", "rec_reduction", "svhn_sigma"):
            glue(f"{prefix}_{name}", getattr(cfg, name), fmt="{:,g}" if name != "rec_reduction" else "{}")
        glue(f"{prefix}_kl_val", mv["kl_match"], fmt="{:.1f}")
        glue(f"{prefix}_kl_dim", mv["kl_match"] / len(mv["kl_match_per_dim"]), fmt="{:.2f}")
        glue(f"{prefix}_centroid_val", mv["centroid_accuracy"], fmt="{:.1f}")
        glue(f"{prefix}_centroid_eval", me["centroid_accuracy"], fmt="{:.1f}")
        glue(f"{prefix}_own_val", 100 - m["svhn_val"]["error"], fmt="{:.1f}")
        glue(f"{prefix}_own_eval", 100 - m["svhn"]["error"], fmt="{:.1f}")
    glue(f"{prefix}_run", relative(run.path), fmt="{}")  # the page says where the run is, as the project names it


ACCEPT_SKIPPED = "JADE_ACCEPT_SKIPPED"  # set by `jade book --accept-skipped`


def table_runs(output_dir, profile: str):
    """Table 1's runs for a chapter (:func:`jade_core.experiments.runs.collect_table1`, warnings kept off the page),
    with :func:`report_skipped` applied: a run that cannot be read is said on the page, never dropped quietly."""

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the page says it instead (report_skipped)
        runs = collect_table1(output_dir)
    report_skipped(runs, profile)
    note_runs(runs.path)
    return runs


def report_skipped(runs, profile: str) -> str:
    """Say on the page which runs could not be read (``runs.attrs["skipped"]``) and why. In the paper
    profile that is an error unless the build accepts it (``jade book --accept-skipped``), so a corrupt
    run never silently changes a published table."""
    skipped = runs.attrs.get("skipped", [])
    if not skipped:
        return ""
    listed = "; ".join(f"{Path(p).relative_to(project_root()) if Path(p).is_absolute() and project_root() in Path(p).parents else p}"
                       f" ({why})" for p, why in skipped)
    if profile == "paper" and not os.environ.get(ACCEPT_SKIPPED):
        raise JadeError(f"{len(skipped)} run(s) of this table cannot be read: {listed}. Retrain them with "
                        "`jade train ... --force` (or delete them), or build with `jade book --accept-skipped`.")
    from IPython.display import Markdown, display  # notebook-only
    text = f"**{len(skipped)} run(s) could not be read and are not in this table:** {listed}."
    display(Markdown(text))
    return text


_started = None


def rerun_box(chapter: str, params: dict):
    """The box that ends every chapter: the command that re-executes it (papermill, with the parameters
    this build used), the one that remakes its runs, and what each took on the machine that built it (the
    runs' recorded training time; this page's execution time)."""

    from IPython.display import Markdown  # notebook-only

    entry = next((e for e in load_matrix().get(params["profile"], []) if e["notebook"] == chapter), {})
    shown = {k: params[k] for k in ("seed",) if k in entry.get("parameters", {})}
    cmd = commands(chapter, params["profile"], shown, entry.get("grids", []))
    seconds = 0.0
    for r in _runs:
        try:
            seconds += json.loads((Path(r) / "metrics.json").read_text()).get("train_seconds", 0.0)
        except (OSError, ValueError):
            pass
    page = time.time() - _started if _started else float("nan")
    runs = (f"{len(_runs)} run(s), {seconds / 3600:.1f} hours of recorded training" if _runs else "no run")
    return Markdown(f"> **Re-run this page.** `{cmd['page']}` (this page took {page:.0f} s to execute here).  \n"
                    f"> **Remake its runs.** `{cmd['runs']}` (it reads {runs}; finished runs are reused).")


def latent_table(runs, params: dict):
    """Figure 2's per-run table of Table 1's ``runs`` (:func:`jade_core.reporting.report.latent_table`) on the
    SVHN evaluation images of the chapter's JADE run, cached beside the runs (keyed by each run's weights, the
    images and the analysis code): the Figure 2 chapter and the front page read the same numbers."""
    splits = run_splits(shown_run(runs, "jade", params), params)
    return _latent_table(runs[runs.variant.isin(VARIANT_ORDER)], splits.svhn_eval,
                 cache=Path(params["output_dir"]) / "figure2" / "latent-table.csv")


def show_caveats(caveats: list):
    """A page's caveats, computed from its runs, as a list under a bold lead (Markdown output: sentences whose
    wording follows the runs are shown, not glued into the prose)."""
    from IPython.display import Markdown  # notebook-only

    return Markdown("**Caveats, computed from these runs.**\n\n" + "\n".join(f"- {c}" for c in caveats))
