"""The two studies beyond the paper, each a search on validation, a declared rule, then final runs.

**Label budget** (book: budget). SVHN error of the three variants at 10, 25
and 50 labelled SVHN images per class (100 is Table 1). A small pool makes
an epoch a few steps, so training length is counted in optimisation steps:
Table 1 trains 2,400 steps (150 epochs of 16 batches of 64). Search: seed 0
of each variant and budget trains 4,800 steps; the learning rate is constant,
so its state after s steps is that of an s-step run, and the validation error
on its curve at s = 1,200, 2,400 and 4,800 steps is that of each candidate
length. Rule (:func:`jade_core.experiments.selection.choose_steps`): per budget and
variant, the candidate with the lowest validation error (ties: fewer steps).
Final: seeds 0-4 at the chosen length. Validation every 80 steps and the
plateau rule at 480 steps, as in Table 1 (every 5 epochs, epoch 30).

**Tuned recipe** (book: Table 1, second table). Search: the single
classifier, seed 0, 100 labels per class, over the candidates of
``sweeps/recipe-search.yml``. Rule (:func:`jade_core.experiments.selection.choose_recipe`):
the lowest SVHN validation error. Final: the chosen recipe unchanged for all
three variants, seeds 0-4.

``jade study budget|recipe`` runs both stages (finished runs are reused);
the choice is written to ``<study folder>/choice.json`` with the numbers it
was made from.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from ..science.config import VARIANTS, ConfigError, RunConfig, resolve_config
from .grid import grid_file, locate
from .runs import ROOT, collect_table1
from .selection import STEP_CANDIDATES, choose_recipe, choose_steps
from .sweep import load_sweep, run_all

# The Table 1 grid each profile's studies compare to. The paper profile's GPU label-budget study, tuned recipe
# and MNIST-schedule runs were made with the first version's settings (bf16, w_cls 30,000, w_match 30, MNIST
# batch 256: BudgetPlan.settings, sweeps/recipe-search.yml, sweeps/mnist-schedule.yml), so their Table 1 is
# that version's (sweeps/table1-bf16.yml), not the re-made one: a comparison shares its settings. The smoke
# studies train at the defaults, as the smoke Table 1 does.
STUDY_TABLE1_GRID = {"paper": "table1-bf16", "smoke": "table1"}

BUDGET_DIR = "results/label-budget"
RECIPE_DIR = "results/recipe"
RECIPE_SEARCH = "sweeps/recipe-search.yml"


@dataclass(frozen=True)
class BudgetPlan:
    """The label-budget study's grid. ``paper``: the book's; ``smoke``: a tiny one for tests and CI."""

    budgets: tuple = (10, 25, 50)                 # labelled SVHN images per class (100 is Table 1)
    step_candidates: tuple = STEP_CANDIDATES      # training lengths searched, optimisation steps
    eval_steps: int = 80                          # validation interval; Table 1: every 5 epochs of 16 steps
    restart_steps: int = 480                      # plateau check; Table 1: epoch 30 of 16 steps
    seeds: tuple = (0, 1, 2, 3, 4)                # final seeds
    search_seed: int = 0                          # the length search's seed (a final seed too: see the audit)
    # the settings its runs were made with (on a GPU, before fp32 and the settings search), named so that
    # they stay when the profile's defaults change
    settings: tuple = (("precision", "bf16"), ("w_cls", 30000.0), ("w_match", 30.0), ("mnist_batch_size", 256))


PLANS = {"paper": BudgetPlan(),
         "smoke": BudgetPlan(budgets=(2,), step_candidates=(2, 4), eval_steps=1, restart_steps=100, seeds=(0, 1),
                             settings=())}


def study_table1(output_dir="results", profile="paper", protocol=None) -> pd.DataFrame:
    """Table 1's runs made with the studies' settings (:data:`STUDY_TABLE1_GRID`), selected by configuration:
    the 100-label point of the label-budget study, the plain recipe beside the tuned one."""
    return collect_table1(output_dir, protocol, grid=STUDY_TABLE1_GRID[profile])


def study_settings(profile="paper") -> dict:
    """The settings the studies of ``profile`` share with their Table 1 (the ``base`` of
    :data:`STUDY_TABLE1_GRID`'s sweep file: precision, w_cls, w_match, MNIST batch); {} for the defaults."""
    spec = yaml.safe_load(grid_file(STUDY_TABLE1_GRID[profile]).read_text())
    return dict(spec.get("base") or {})


def settings_words(settings: dict) -> str:
    """``{"precision": "bf16", "w_cls": 30000.0}`` -> ``"bf16, w_cls 30,000"``: settings as a page says them."""
    names = {"precision": "", "mnist_batch_size": "MNIST batch "}
    return ", ".join(f"{names.get(k, k + ' ')}{v:,g}" if isinstance(v, float) else f"{names.get(k, k + ' ')}{v}"
                     for k, v in settings.items())


def steps_per_epoch(labels_per_class: int, batch_size: int = 64) -> int:
    """:attr:`RunConfig.steps_per_epoch` of a pool of ``labels_per_class`` images per digit."""
    return RunConfig(labels_per_class=labels_per_class, batch_size=batch_size).steps_per_epoch


def budget_run(variant: str, labels: int, seed: int, steps: int, output_dir: str, **extra) -> dict:
    """resolve_config keywords of a label-budget run of ``steps`` optimisation steps (validation and
    plateau check at the plan's step counts)."""
    profile = extra.get("profile", "paper")
    plan = PLANS[profile]
    spe = steps_per_epoch(labels, resolve_config(variant, profile, data_dir=".").batch_size)
    for name, s in (("steps", steps), ("validation interval", plan.eval_steps),
                    ("plateau check", plan.restart_steps)):
        if s % spe:
            raise ConfigError(f"label budget {labels}: {name} {s} is not a whole number of epochs of {spe} steps.")
    return dict(variant=variant, seed=seed, labels_per_class=labels, epochs=steps // spe,
                eval_every=plan.eval_steps // spe, restart_epoch=plan.restart_steps // spe, output_dir=output_dir,
                **{**dict(plan.settings), **extra})


def budget_folder(root, labels: int) -> str:
    """Where the final runs of budget ``labels`` go (and are read from, by configuration)."""
    return f"{root}/labels-{labels}"


def budget_search_runs(root: str = BUDGET_DIR, **extra) -> list:
    plan = PLANS[extra.get("profile", "paper")]
    return [budget_run(v, b, plan.search_seed, max(plan.step_candidates), f"{root}/length/labels-{b}", **extra)
            for b in plan.budgets for v in VARIANTS]


def budget_final_runs(choice: dict, root: str = BUDGET_DIR, **extra) -> list:
    plan = PLANS[extra.get("profile", "paper")]
    return [budget_run(v, b, s, choice[str(b)][v], budget_folder(root, b), **extra)
            for s in plan.seeds for b in plan.budgets for v in VARIANTS]


def recipe_search_runs(path: str = RECIPE_SEARCH, **extra) -> list:
    return [{**kw, **extra} for kw in load_sweep(path, extra.get("data_dir"))[1]]


def recipe_overrides(search_kw: dict) -> dict:
    """The recipe of a search run: its fields (profile included) without the run's identity (variant,
    seed, folder) and where it ran."""
    return {k: v for k, v in search_kw.items() if k not in ("variant", "seed", "output_dir", "data_dir", "device")}


RECIPE_SEEDS = (0, 1, 2, 3, 4)


def recipe_search_seeds(path=RECIPE_SEARCH) -> list:
    """The seeds the recipe search ran on (its sweep file's runs; a relative path is the project's)."""
    path = Path(path) if Path(path).is_absolute() else ROOT / path
    return sorted({kw["seed"] for kw in load_sweep(path)[1]})


def recipe_reported_seeds(path=RECIPE_SEARCH) -> list:
    """The final seeds the recipe's table reports: :data:`RECIPE_SEEDS` without the search's seeds, so no
    reported run is the search's winning run (the search ran on seed 0 before searches moved to their own
    seeds; its final run of the single classifier on that seed is the winner itself)."""
    return [s for s in RECIPE_SEEDS if s not in set(recipe_search_seeds(path))]


def recipe_final_runs(recipe: dict, root: str = RECIPE_DIR, seeds=None, **extra) -> list:
    return [{**recipe, "variant": v, "seed": s, "output_dir": root, **extra}
            for s in (RECIPE_SEEDS if seeds is None else seeds) for v in VARIANTS]


def _finished(runs: list) -> list:
    """Each run's finished folder, found by its configuration (:func:`jade_core.experiments.grid.locate`); a clear
    error naming the first that is not finished."""
    paths = locate(runs)
    for kw, d in zip(runs, paths):
        if d is None:
            raise ConfigError(f"the search run {resolve_config(**kw).run_dir} is not finished; run `jade study` "
                              "first (it reuses what is finished).")
    return paths


def budget_choice(root: str = BUDGET_DIR, **extra) -> dict:
    """Apply :func:`jade_core.experiments.selection.choose_steps` to the finished search runs; returns
    ``{"steps": {budget: {variant: steps}}, "table": [...]}`` (raises if a search run is missing)."""
    steps, rows = {}, []
    search = budget_search_runs(root, **extra)
    for kw, d in zip(search, _finished(search)):
        curve = pd.read_csv(d / "curve.csv")
        c = choose_steps(curve, PLANS[extra.get("profile", "paper")].step_candidates)
        steps.setdefault(str(kw["labels_per_class"]), {})[kw["variant"]] = c["chosen"]
        rows += [{"labels_per_class": kw["labels_per_class"], "variant": kw["variant"], "steps": s,
                  "svhn_val_error": e, "chosen": s == c["chosen"]} for s, e in c["errors"].items()]
    return {"steps": steps, "table": rows}


def recipe_choice(search: list) -> dict:
    """Apply :func:`jade_core.experiments.selection.choose_recipe` to the finished recipe-search runs ``search``
    (:func:`recipe_search_runs`)."""
    rows = []
    for kw, d in zip(search, _finished(search)):
        m = json.loads((d / "metrics.json").read_text())
        rows.append({"candidate": Path(kw["output_dir"]).name, "svhn_val_error": m["svhn_val"]["error"],
                     "recipe": recipe_overrides(kw)})
    chosen = choose_recipe(pd.DataFrame(rows))
    return {"chosen": chosen, "recipe": next(r["recipe"] for r in rows if r["candidate"] == chosen),
            "table": [{k: v for k, v in r.items() if k != "recipe"} for r in rows]}


def run_study(name: str, workers: int = 2, dry_run: bool = False, scheduler=None, device=None, data_dir=None,
              stage: str = "all", root=None, recipe_search=RECIPE_SEARCH, seeds=None, **extra) -> list:
    """Both stages of study ``name`` (``budget`` or ``recipe``): the search, the choice (written to
    ``choice.json`` beside the runs), the final runs (only ``seeds`` of them when given, e.g. to
    split them over sessions). ``stage`` = search | final | all. ``root``
    (default ``results/label-budget`` or ``results/recipe``) and ``extra`` RunConfig fields (a
    profile, say) are for tests."""
    extra.update({k: v for k, v in (("device", device), ("data_dir", data_dir)) if v is not None})
    if name == "budget":
        root = root or BUDGET_DIR
        search = budget_search_runs(root, **extra)
    elif name == "recipe":
        root = root or RECIPE_DIR
        search = recipe_search_runs(recipe_search, **extra)
    else:
        raise ConfigError(f"unknown study {name!r}: choose budget or recipe.")
    results = []
    if stage in ("search", "all"):
        results += run_all(search, workers, dry_run, scheduler, f"{name} search")
    if stage in ("final", "all"):
        if dry_run and None in locate(search):
            return results  # the final runs depend on the search's outcome
        if name == "budget":
            choice = budget_choice(root, **extra)
            final = budget_final_runs(choice["steps"], root, **extra)
        else:
            choice = recipe_choice(search)
            final = recipe_final_runs(choice["recipe"], root, **extra)
        if not dry_run:
            Path(root).mkdir(parents=True, exist_ok=True)
            (Path(root) / "choice.json").write_text(json.dumps(choice, indent=1) + "\n")
        if seeds is not None:
            final = [kw for kw in final if kw["seed"] in set(seeds)]
        results += run_all(final, workers, dry_run, scheduler, f"{name} final")
    return results
