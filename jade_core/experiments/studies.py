"""The study beyond the paper that chose something on validation: a search, a declared rule, final runs.

It is two sweep files, the one definition of its runs: the search and the final runs, which name what the
rule chose, as ``sweeps/table1.yml`` names what the settings search chose. ``jade study recipe-remake``
trains the search, applies the rule to it, writes the choice to ``<study folder>/choice.json`` with the
numbers it was made from, refuses to go on if the final file trains something else (naming both), and trains
the final runs. Finished runs are reused.

**Tuned recipe** (``jade study recipe-remake``; book: Table 1). Five candidate recipes for the single classifier
at Table 1's settings, searched on the search seeds 100-102 (``sweeps/recipe-remake-search.yml``); rule
(:func:`jade_core.experiments.selection.choose_recipe`): the lowest mean SVHN validation error over those seeds;
the final runs (``sweeps/recipe-remake.yml``): the chosen recipe unchanged for all three models on seeds 0-4, which
Table 1 reports beside them, none of them a search seed.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..science.config import ConfigError, resolve_config
from .grid import locate, select
from .runs import ROOT
from .selection import choose_recipe, common_seed_means
from .sweep import load_sweep, run_all

# The tuned recipe: candidates searched on the search seeds (selection.SEARCH_SEEDS) at Table 1's settings, the
# rule over their mean, and the final runs on Table 1's first five seeds, all of them reported.
RECIPE_REMAKE_DIR = "results/recipe-remake"
RECIPE_REMAKE_SEARCH = "sweeps/recipe-remake-search.yml"
RECIPE_REMAKE_FINAL = "sweeps/recipe-remake.yml"


def _path(path) -> Path:
    """A sweep file's path; a relative one is the project's."""
    return Path(path) if Path(path).is_absolute() else ROOT / path


def sweep_runs(path, results=None, **extra) -> list:
    """The runs of the sweep file ``path`` (resolve_config keyword arguments) under the results folder
    ``results`` (default: the profile's, relative to the working folder), with ``extra`` fields (a device, a
    data folder) added to each."""
    return [{**kw, **extra} for kw in load_sweep(_path(path), extra.get("data_dir"), results=results)[1]]


TABLE1_BEFORE_WARMUP = "table1-before-warmup"  # sweeps/table1-before-warmup.yml


def table1_without_warmup(output_dir="results", profile="paper", protocol=None) -> pd.DataFrame:
    """Table 1's runs as the studies made without the warm-up of w_match see them (:data:`jade_core.experiments.
    selection.KEPT_BY_STUDIES`): its single and paired classifiers and its ablation (none of them warms up a
    matching weight) and, as JADE, the runs of :data:`TABLE1_BEFORE_WARMUP` (Table 1's JADE with
    w_match_warmup = 0), all selected by configuration; labelled as in Table 1."""
    t1 = select("table1", output_dir, protocol, profiles=[profile])
    jade = select(TABLE1_BEFORE_WARMUP, output_dir, protocol, profiles=[profile])
    parts = [p for p in (t1[t1.variant != "jade"], jade) if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else t1.iloc[:0]


def recipe_search_runs(path: str = RECIPE_REMAKE_SEARCH, **extra) -> list:
    return sweep_runs(path, **extra)


def recipe_overrides(search_kw: dict) -> dict:
    """The recipe of a search run: its fields (profile included) without the run's identity (variant,
    seed, folder) and where it ran."""
    return {k: v for k, v in search_kw.items() if k not in ("variant", "seed", "output_dir", "data_dir", "device")}


def collect_recipe(output_dir="results", protocol=None, seeds=None, study="recipe-remake") -> tuple:
    """The tuned recipe's final runs: ``(runs, chosen)``, the finished runs of study ``study``'s final grid
    (``sweeps/recipe-remake.yml``) under ``output_dir`` (selected by
    the configuration each recorded, :func:`jade_core.experiments.grid.select`), only those of ``seeds`` when
    given (the reported ones: :func:`recipe_reported_seeds`), and the chosen candidate's name from the
    study's ``choice.json`` (``<output_dir>/recipe-remake/``; None without one)."""
    _, final, root = STUDIES[study]
    runs = select(Path(final).stem, output_dir, protocol)
    if seeds is not None:
        runs = runs[runs.seed.isin(list(seeds))].reset_index(drop=True)
    choice = Path(output_dir) / Path(root).name / "choice.json"
    return runs, json.loads(choice.read_text())["chosen"] if choice.exists() else None


def reported_recipe(output_dir="results", protocol=None) -> dict:
    """The tuned recipe's table as the book, ``jade table --recipe`` and the README report it: ``{"study",
    "runs", "chosen", "seeds"}``, its final runs on the seeds it reports (:func:`recipe_reported_seeds`: never a
    seed its search ran on) and the chosen candidate."""
    study = "recipe-remake"
    search, final, _ = STUDIES[study]
    seeds = recipe_reported_seeds(search, final)
    runs, chosen = collect_recipe(output_dir, protocol, seeds, study)
    return {"study": study, "runs": runs, "chosen": chosen, "seeds": seeds}


def recipe_seeds(path=RECIPE_REMAKE_FINAL) -> list:
    """The seeds of the recipe's final runs (its sweep file)."""
    return sorted({kw["seed"] for kw in sweep_runs(path)})


def recipe_search_seeds(path=RECIPE_REMAKE_SEARCH) -> list:
    """The seeds the recipe search ran on (its sweep file's runs; a relative path is the project's)."""
    return sorted({kw["seed"] for kw in sweep_runs(path)})


def recipe_reported_seeds(path=RECIPE_REMAKE_SEARCH, final=RECIPE_REMAKE_FINAL) -> list:
    """The final seeds the recipe's table reports: :func:`recipe_seeds` without the search's seeds, so no
    reported run was chosen on its own pool."""
    return [s for s in recipe_seeds(final) if s not in set(recipe_search_seeds(path))]


def study_progress(name: str, results=None) -> dict:
    """How far study ``name`` (:data:`STUDIES`) has run: ``{"search": (finished, planned), "final": (finished,
    planned)}``, its runs found by configuration (:func:`jade_core.experiments.grid.locate`) under ``results``."""
    counts = {}
    for stage, path in zip(("search", "final"), STUDIES[name][:2]):
        found = locate(sweep_runs(path, results))
        counts[stage] = (sum(p is not None for p in found), len(found))
    return counts


def _finished(runs: list) -> list:
    """Each run's finished folder, found by its configuration (:func:`jade_core.experiments.grid.locate`); a clear
    error naming the first that is not finished."""
    paths = locate(runs)
    for kw, d in zip(runs, paths):
        if d is None:
            raise ConfigError(f"the search run {resolve_config(**kw).run_dir} is not finished; run `jade study` "
                              "first (it reuses what is finished).")
    return paths


def check_recipe_final(recipe: dict, final: list, final_file=RECIPE_REMAKE_FINAL) -> None:
    """Every final run ``final`` has the chosen recipe (``recipe``: :func:`recipe_choice`'s, fields of the
    search run), whatever its variant and seed; otherwise a clear error naming the fields that differ."""
    wrong = sorted({f"{k}: chosen {v!r}, the file {kw.get(k)!r}" for kw in final for k, v in recipe.items()
                    if kw.get(k) != v})
    if wrong:
        raise ConfigError(f"{final_file} does not train the recipe the rule chose ({'; '.join(wrong)}); edit its base "
                          "to the chosen recipe, then run again.")


def _candidate(kw: dict) -> str:
    """A recipe-search run's candidate: its run name (folder), less the "_seed-N" a sweep's `seeds:` adds."""
    return Path(kw["output_dir"]).name.removesuffix(f"_seed-{kw['seed']}")


def recipe_choice(search: list, partial: bool = False) -> dict:
    """Apply :func:`jade_core.experiments.selection.choose_recipe` to the finished recipe-search runs ``search``
    (:func:`recipe_search_runs`): ``{"chosen", "recipe", "table", "seeds", "means"}`` (``means``: each candidate's
    mean validation error over ``seeds``, the seeds every candidate finished: the rule's comparison). ``partial``: read the runs finished
    so far (a page's provisional view: ``chosen`` None until some seed has every candidate) instead of requiring
    them all."""
    rows = []
    paths = locate(search) if partial else _finished(search)
    for kw, d in zip(search, paths):
        if d is None:
            continue
        m = json.loads((d / "metrics.json").read_text())
        rows.append({"candidate": _candidate(kw), "seed": kw["seed"], "svhn_val_error": m["svhn_val"]["error"],
                     "recipe": recipe_overrides(kw)})
    names = list(dict.fromkeys(_candidate(kw) for kw in search))
    table = pd.DataFrame(rows)
    means, seeds = common_seed_means(table, "candidate", names) if rows else ({}, [])
    chosen = choose_recipe(table, names) if seeds or not partial else None
    return {"chosen": chosen, "recipe": next((r["recipe"] for r in rows if r["candidate"] == chosen), None),
            "table": [{k: v for k, v in r.items() if k != "recipe"} for r in rows], "seeds": seeds, "means": means}


STUDIES = {"recipe-remake": (RECIPE_REMAKE_SEARCH, RECIPE_REMAKE_FINAL, RECIPE_REMAKE_DIR)}


def run_study(name: str, workers: int = 2, dry_run: bool = False, scheduler=None, device=None, data_dir=None,
              stage: str = "all", root=None, search_file=None, final_file=None, seeds=None,
              results=None, **extra) -> list:
    """Both stages of study ``name`` (:data:`STUDIES`): the search, the choice (written
    to ``choice.json`` in ``root``), the check that the final sweep file trains what was chosen, the final runs
    (only ``seeds`` of them when given, e.g. to split them over sessions). ``stage`` = search | final | all.
    ``search_file``, ``final_file`` and ``root`` default to the study's own (tests give tiny ones);
    ``results``: the results folder the sweep files' runs are under (default: the profile's)."""
    if name not in STUDIES:
        raise ConfigError(f"unknown study {name!r}: choose one of {', '.join(STUDIES)}.")
    extra.update({k: v for k, v in (("device", device), ("data_dir", data_dir)) if v is not None})
    search_file, final_file = search_file or STUDIES[name][0], final_file or STUDIES[name][1]
    root = root or str(ROOT / STUDIES[name][2])
    search, final = sweep_runs(search_file, results, **extra), sweep_runs(final_file, results, **extra)
    done = []
    if stage in ("search", "all"):
        done += run_all(search, workers, dry_run, scheduler, f"{name} search")
    if stage in ("final", "all"):
        unfinished = sum(p is None for p in locate(search))
        if dry_run and unfinished:
            return done  # the final runs depend on the search's outcome
        if unfinished:
            raise ConfigError(f"{unfinished} of the {len(search)} search runs of the {name} study are not finished, "
                              f"and its final runs depend on their outcome; run `jade study {name} --stage search` "
                              "first (it reuses what is finished).")
        choice = recipe_choice(search)
        check_recipe_final(choice["recipe"], final, final_file)
        if not dry_run:
            Path(root).mkdir(parents=True, exist_ok=True)
            (Path(root) / "choice.json").write_text(json.dumps(choice, indent=1) + "\n")
        if seeds is not None:
            final = [kw for kw in final if kw["seed"] in set(seeds)]
        done += run_all(final, workers, dry_run, scheduler, f"{name} final")
    return done
