"""Run the notebook matrix with papermill and build the site with Jupyter Book.

The matrix (``book/matrix.yml``) says which notebook runs with which
parameters for each profile. Executed notebooks are build outputs, written to
``_build/executed/<profile>/``; the site is built from a staged copy
(``_build/site/``) of ``_config.yml``, ``_toc.yml`` and the executed
notebooks, with execution off and warnings as errors, into ``_build/html``.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import yaml

from ..experiments.grid import expected, missing
from ..experiments.runs import ROOT
from ..experiments.sweep import run_all
from ..science.config import PROFILES, VARIANTS, JadeError, resolve_config
from . import ledger as _ledger
from . import sitecheck
from .figcheck import write_made_with
from .ledger import COMMITTED, PAGE, link_numbers, numbers_page, stale_numbers, write_numbers

KERNEL = "python3"
LAST = ("intro",)  # chapters that read what every other chapter's runs produced


class BuildError(JadeError):
    """The book could not be built: one line that names the notebook or run and the fix."""


def load_matrix(path=None) -> dict:
    """``{profile: [{"notebook": name, "parameters": {...}, "site": bool}, ...]}``."""
    data = yaml.safe_load(Path(path or ROOT / "book" / "matrix.yml").read_text())
    return data["profiles"]


def remaking_grids(path=None) -> list:
    """The grids being re-made (``remaking:`` in ``book/matrix.yml``): finished runs committed, no chapter reading
    them yet."""
    data = yaml.safe_load(Path(path or ROOT / "book" / "matrix.yml").read_text())
    return list(data.get("remaking") or [])


def toc_chapters(path=None) -> list:
    """Notebook names (without suffix) listed in ``_toc.yml``, in order."""
    toc = yaml.safe_load(Path(path or ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc.get("parts", [toc]) for c in part.get("chapters", [])]
    return [Path(f).stem for f in files]


def output_name(entry: dict) -> str:
    return entry["notebook"]


def chapter_grids(profile: str, only=None) -> list:
    """The grids (``sweeps/<name>.yml``) the profile's chapters read, in matrix order, without repeats."""
    names = []
    for e in load_matrix()[profile]:
        if not only or e["notebook"] in only:
            names += [g for g in e.get("grids", []) if g not in names]
    return names


def train_grids(profile: str, data_dir=None, only=None, reuse_only=False, workers: int = 2, dry_run=False) -> list:
    """Train, through the one runner (:func:`jade_core.experiments.sweep.run_all`), the runs missing from the grids
    the chapters read; with ``reuse_only``, refuse (listing them) instead. Returns the runner's results."""
    todo = [kw for g in chapter_grids(profile, only) for kw in missing(g, profile, data_dir=data_dir)]
    if not todo:
        return []
    home = Path(PROFILES[profile].get("output_dir", "results")).resolve()
    stray = [kw for kw in todo if home not in (Path(resolve_config(**kw).output_dir).resolve() / "x").parents]
    if profile != "paper" and stray:  # a smoke build must never write into the committed results/
        raise BuildError(f"the {profile} profile would train {len(stray)} run(s) outside its folder {home} (first: "
                         f"{resolve_config(**stray[0]).run_dir}); give that grid's sweep file an output_dir under "
                         "{results}, or take the grid off the profile's chapter in book/matrix.yml.")
    if reuse_only and not dry_run:
        listed = "\n  ".join(str(resolve_config(**kw).run_dir) for kw in todo[:10])
        raise BuildError(f"--reuse-only: {len(todo)} run(s) the chapters read are not finished:\n  {listed}"
                         + ("\n  ..." if len(todo) > 10 else "")
                         + f"\nTrain them with `jade matrix --profile {profile}` (or drop --reuse-only).")
    print(f"[book] {len(todo)} run(s) of the grids {', '.join(chapter_grids(profile, only))} to train", flush=True)
    results = run_all(todo, workers, dry_run, label=f"{profile} grids")
    failed = [r for r in results if r["status"] == "failed"]
    if failed:
        raise BuildError(f"{len(failed)} run(s) failed to train (first: {failed[0]['run']}: {failed[0]['error']}); "
                         "the others are kept. Fix it and run the book again: finished runs are reused.")
    return results


def plan_waves(names: list, jobs: int) -> list:
    """Positions of ``names`` (notebooks in matrix order) grouped into waves that may run side by side:
    one wave in order when ``jobs`` is 1; else the model chapters, then the others, then :data:`LAST`."""
    if jobs <= 1:
        return [list(range(len(names)))]
    wave = [0 if n in VARIANTS else 2 if n in LAST else 1 for n in names]
    return [[k for k, w in enumerate(wave) if w == i] for i in range(3)]


def _execute_one(src: str, target: str, params: dict, threads: int | None, ledger: str | None = None) -> tuple:
    """Execute one notebook with papermill (in a worker process); returns (seconds, error or None).
    ``ledger``: the folder where the kernel records every number it glues (:mod:`jade_core.tooling.ledger`)."""

    import papermill as pm  # the book's extra: a plain install trains and tests without it

    if threads:
        os.environ["OMP_NUM_THREADS"] = str(threads)  # the kernel's torch: share the cores between jobs
    if ledger:  # inherited by the kernel papermill starts
        os.environ[_ledger.CHAPTER], os.environ[_ledger.LEDGER_DIR] = Path(src).stem, ledger
        (Path(ledger) / f"{Path(src).stem}.jsonl").unlink(missing_ok=True)
    t0 = time.time()
    try:
        # the kernel's own log (a warning that its local TCP sockets are unencrypted, Ctrl-C notices) stays off the
        # console: a failing cell still raises here with its traceback
        pm.execute_notebook(src, target, parameters=params, kernel_name=KERNEL, cwd=str(ROOT), progress_bar=False,
                            log_output=False, extra_arguments=["--IPKernelApp.log_level=ERROR"])
    except pm.PapermillExecutionError as e:
        return time.time() - t0, (f"failed in cell {e.exec_count}: {e.ename}: {e.evalue}\n" + "\n".join(e.traceback))
    return time.time() - t0, None


def execute(profile: str, data_dir=None, force=False, only=None, reuse_only=False, jobs: int = 1) -> Path:
    """Train the runs the chapters' grids miss (:func:`train_grids`; with ``reuse_only``, refuse and list
    them), then execute every notebook of the profile's matrix; stop at the first failing notebook,
    printing its cell.

    With ``jobs`` > 1 notebooks run side by side in three waves: the model chapters (which may train
    the runs every other chapter reads), then the other chapters (the label-budget chapter trains its
    own smoke runs, reading Table 1's), then :data:`LAST` (the intro, which quotes them all); inside a
    wave the order does not matter. Each kernel gets cores / jobs torch threads.
    """

    known = [e["notebook"] for e in load_matrix()[profile]]
    unknown = [c for c in (only or []) if c not in known]
    if unknown:  # a misspelt chapter would otherwise rebuild the site from old notebooks and exit 0
        import difflib
        hint = "; ".join(f"{c!r} (did you mean {m[0]!r}?)" if (m := difflib.get_close_matches(c, known, 1)) else repr(c)
                         for c in unknown)
        raise BuildError(f"--only names no chapter of the {profile} profile: {hint}; its chapters: {', '.join(known)}.")
    out_dir = ROOT / "_build" / "executed" / profile
    out_dir.mkdir(parents=True, exist_ok=True)
    # the runs first (smoke runs stay in _build/smoke-results, so a second build reuses them; nothing
    # here deletes a run folder), then the chapters, which only read them
    train_grids(profile, data_dir, only, reuse_only, workers=max(1, jobs))
    entries = [e for e in load_matrix()[profile] if not only or e["notebook"] in only]
    todo = []
    for i, entry in enumerate(entries, 1):
        params = dict(entry.get("parameters", {}), profile=profile)
        if data_dir:
            params["data_dir"] = str(data_dir)
        if force:
            params["force"] = True
        todo.append((i, entry, params, out_dir / f"{output_name(entry)}.ipynb"))
    waves = [[todo[k] for k in wave] for wave in plan_waves([t[1]["notebook"] for t in todo], jobs)]
    threads = max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else None
    start = time.time()
    from ..experiments.sweep import die_with_parent  # a killed `jade book` takes its notebook workers with it
    with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=get_context("spawn"),
                             initializer=die_with_parent) as pool:
        for wave in waves:
            futures = []
            for i, entry, params, target in wave:
                print(f"[book] {i}/{len(entries)} {entry['notebook']} {params}", flush=True)
                futures.append(((i, entry, target), pool.submit(
                    _execute_one, str(ROOT / "book" / f"{entry['notebook']}.ipynb"), str(target), params, threads,
                    str(ledger_dir(profile)))))
            failed = None
            for (i, entry, target), f in futures:
                seconds, error = f.result()
                if error:
                    print(f"\n[book] {entry['notebook']} {error}", file=sys.stderr)
                    failed = failed or (entry, target)
                else:
                    print(f"[book] {i}/{len(entries)} {entry['notebook']} done in {seconds:.0f} s "
                          f"({time.time() - start:.0f} s so far)", flush=True)
            if failed:
                raise BuildError(f"notebook {failed[0]['notebook']} failed; executed copy with the error: {failed[1]}")
    return out_dir


def ledger_dir(profile: str) -> Path:
    """Where a build's chapters record their glued numbers (one file per chapter)."""
    return ROOT / "_build" / "numbers" / profile


def numbers_file(profile: str) -> Path:
    """The merged ledger of the last build of a profile: ``results/numbers.json`` for the paper profile
    (committed; `jade check-numbers` compares a rebuild with it), ``_build/numbers-<profile>.json`` else."""
    return COMMITTED if profile == "paper" else ROOT / "_build" / f"numbers-{profile}.json"


def check_numbers(from_last_build: bool = False, ref: str = "HEAD", data_dir=None, fresh_file=None) -> list:
    """Stale numbers: every glued number of the paper book, recomputed from ``results/`` (by executing the
    chapters on the committed runs, unless ``from_last_build``), against the ledger committed at ``ref``
    (``results/numbers.json``), and every README block that ``benchmarks/update_readme.py`` would change.
    Returns one line per stale number (empty: nothing is stale). ``fresh_file``: another recomputed ledger
    than ``results/numbers.json`` (tests)."""

    rel = COMMITTED.relative_to(ROOT).as_posix()
    shown = subprocess.run(["git", "show", f"{ref}:{rel}"], cwd=ROOT, capture_output=True, text=True)
    if shown.returncode:
        return [f"no committed ledger {rel} at {ref}: build the paper book (`jade book --profile paper`) and commit it"]
    committed = json.loads(shown.stdout)
    if not from_last_build:
        execute("paper", data_dir=data_dir, reuse_only=True, jobs=2)
        write_numbers(ledger_dir("paper"), COMMITTED, "paper", load_matrix()["paper"])
    fresh = json.loads(Path(fresh_file or COMMITTED).read_text())
    out = [f"{c}: {n}: committed {a!r}, recomputed {b!r}" for c, n, a, b in stale_numbers(committed, fresh)]
    spec = importlib.util.spec_from_file_location("update_readme", ROOT / "benchmarks" / "update_readme.py")
    update = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(update)
    for (file, name), block in update.blocks().items():
        m = re.search(rf"<!-- {name}:start -->\n(.*?)<!-- {name}:end -->", (ROOT / file).read_text(), re.S)
        if not m or m.group(1) != block:
            out.append(f"{file}: the {name} block is not what the committed runs give "
                       "(run python benchmarks/update_readme.py)")
    return out


def stage_notebook(src: Path, dst: Path) -> None:
    """Copy an executed notebook for the site, as a reader should meet it: papermill's injected
    parameters cell removed like the ``parameters`` cell (it does not inherit its tags), and
    stderr streams (progress bars, log lines, which belong on the terminal) dropped."""
    nb = json.loads(Path(src).read_text())
    for cell in nb["cells"]:
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
        if cell["cell_type"] == "code":
            cell["outputs"] = [o for o in cell.get("outputs", [])
                               if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    Path(dst).write_text(json.dumps(nb, indent=1))


def copy_mathjax(target: Path) -> None:
    """Copy MathJax 3 (the combined TeX/MathML component and its fonts) into the site."""
    try:
        import mathjax  # the django-static-mathjax wheel: static files only
    except ImportError as e:
        raise BuildError("MathJax is missing: install the book extras, `pip install -e '.[book]'`.") from e
    es5 = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(es5 / "tex-mml-chtml.js", target / "tex-mml-chtml.js")
    shutil.copytree(es5 / "output" / "chtml" / "fonts", target / "output" / "chtml" / "fonts", dirs_exist_ok=True)


def stage_and_build(profile: str) -> Path:
    """Stage config, toc and executed notebooks; build HTML with warnings as errors."""
    executed = ROOT / "_build" / "executed" / profile
    site = ROOT / "_build" / f"site-{profile}"
    shutil.rmtree(site, ignore_errors=True)
    (site / "book").mkdir(parents=True)
    for f in ("_config.yml", "_toc.yml", "references.bib"):
        shutil.copy(ROOT / f, site / f)

    for name in toc_chapters():
        if name == PAGE:  # generated below from the ledger
            continue
        src = executed / f"{name}.ipynb"
        if not src.exists():
            raise BuildError(f"{src} is missing: the matrix for profile {profile!r} did not execute {name}.")
        stage_notebook(src, site / "book" / src.name)
    ledger = numbers_file(profile)
    if not ledger.exists():
        raise BuildError(f"{ledger} is missing: execute the chapters first (`jade book --profile {profile}`).")
    (site / "book" / f"{PAGE}.md").write_text(numbers_page(json.loads(ledger.read_text())))
    copy_mathjax(site / "_mathjax_static" / "mathjax")
    for extra in (ROOT / "book").glob("*.md"):
        shutil.copy(extra, site / "book" / extra.name)
    html = site_dir(profile)
    shutil.rmtree(html, ignore_errors=True)
    cmd = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(site), "--path-output", str(site),
           "--warningiserror", "--nitpick", "--keep-going"]
    res = subprocess.run(cmd)
    if res.returncode:
        raise BuildError(f"jupyter-book build failed (exit {res.returncode}); see the warnings above.")
    shutil.copytree(site / "_build" / "html", html)
    n = link_numbers(html, site / "book", [c for c in toc_chapters() if c != PAGE])
    print(f"[book] {n} glued numbers linked to {PAGE}.html", flush=True)
    check_site(html)
    print(f"[book] site: {html / 'index.html'}")
    return html


def site_dir(profile: str) -> Path:
    """Where a profile's site goes: the paper site in ``_build/html`` (the README's address), every
    other profile beside it (``_build/html-smoke``), so running the tests never replaces the paper site."""
    return ROOT / "_build" / ("html" if profile == "paper" else f"html-{profile}")


# chapters that must show at least one figure
FIGURE_CHAPTERS = ("data", "single", "paired", "jade", "table1", "figure2")


def check_site(html: Path) -> None:
    """Every chapter of the toc has its page; chapters with figures have images that exist."""
    problems = []
    for name in toc_chapters():
        page = html / "book" / f"{name}.html"
        if not page.exists():
            problems.append(f"{page} missing")
            continue
        imgs = re.findall(r'<img[^>]+src="([^"]+)"', page.read_text())
        imgs = [i for i in imgs if not i.startswith(("http", "data:")) and "logo" not in i]
        if name in FIGURE_CHAPTERS and not imgs:
            problems.append(f"{page} shows no figure")
        problems += [f"{page}: image {i} missing" for i in imgs if not (page.parent / i).resolve().exists()]
    numbers = html / "book" / f"{PAGE}.html"
    anchors = set(re.findall(r'id="([^"]+)"', numbers.read_text())) if numbers.exists() else set()
    for name in toc_chapters():
        page = html / "book" / f"{name}.html"
        links = re.findall(rf'class="number-source" href="{PAGE}.html#([^"]+)"', page.read_text()) if page.exists() else []
        problems += [f"{page}: the number link #{a} has no entry on {PAGE}.html" for a in links if a not in anchors]
    if problems:
        raise BuildError("the built site is incomplete:\n" + "\n".join(problems))


def look_at_site(profile: str) -> None:
    """The browser check of :mod:`jade_core.tooling.sitecheck` on the built site, with screenshots under
    ``_build/screenshots/<profile>/``; says so and returns when no browser is available here."""
    why = sitecheck.available()
    if why:
        print(f"[book] browser check skipped: {why}", flush=True)
        return
    shots, words = ROOT / "_build" / "screenshots" / profile, {}
    problems = {k: v for k, v in sitecheck.check_site(site_dir(profile), toc_chapters(), shots, words).items() if v}
    if problems:
        raise BuildError("the built site does not render cleanly in a browser:\n"
                         + "\n".join(f"{k}: {'; '.join(v)}" for k, v in problems.items()))
    print(f"[book] browser check: every page clean; screenshots in {shots}", flush=True)
    print("[book] words of prose per page: " + ", ".join(f"{k} {n:,}" for k, n in words.items()), flush=True)


class build_lock:
    """One build of a profile at a time: a second `jade book --profile P` fails at once, naming the first (its
    process id), instead of failing half-way on the first one's files and mixing both builds' ledgers."""

    def __init__(self, profile: str):
        self.path = ROOT / "_build" / f".book-{profile}.lock"

    def __enter__(self):
        import fcntl
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(self.path, "a+")
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.file.seek(0)
            other = self.file.read().strip() or "?"
            self.file.close()
            raise BuildError(f"another build of this profile is running (process {other}, lock {self.path}); wait "
                             "for it to finish, or stop it, then build again.") from None
        self.file.truncate(0)
        self.file.write(str(os.getpid()))
        self.file.flush()
        return self

    def __exit__(self, *exc):
        self.file.close()  # closing releases the lock


def build_book(profile="paper", data_dir=None, force=False, skip_build=False, only=None, reuse_only=False, jobs=2):
    with build_lock(profile):
        _build_book(profile, data_dir, force, skip_build, only, reuse_only, jobs)


def _build_book(profile, data_dir, force, skip_build, only, reuse_only, jobs):
    t0 = time.time()
    execute(profile, data_dir, force, only, reuse_only, jobs)
    if not only:  # a partial build keeps the last whole build's ledger
        write_numbers(ledger_dir(profile), numbers_file(profile), profile, load_matrix()[profile])
    if profile == "paper":  # what drew the committed figures (jade check-figures compares with it)
        write_made_with(ROOT / "figures")
    t1 = time.time()
    print(f"[book] notebooks: {t1 - t0:.0f} s", flush=True)
    if not skip_build:
        stage_and_build(profile)
        t2 = time.time()
        look_at_site(profile)
        print(f"[book] site built in {t2 - t1:.0f} s, browser check {time.time() - t2:.0f} s; "
              f"{time.time() - t0:.0f} s in all", flush=True)


# The run matrix: every run of the grids the book's chapters read (book/matrix.yml names the grids).

def matrix_runs(profile: str, data_dir=None, variants=None, results=None, grids=None) -> list:
    """Keyword arguments of :func:`jade_core.science.config.resolve_config` for every run of the grids the book's
    chapters read (:func:`jade_core.tooling.book.chapter_grids`; only ``grids`` when given), optionally only
    those of some variants."""
    out, seen = [], set()
    for g in grids or chapter_grids(profile):
        for _, kw in expected(g, profile, results=results, data_dir=data_dir):
            key = str(resolve_config(**kw).run_dir)
            if key not in seen and (not variants or kw["variant"] in variants):
                seen.add(key)
                out.append(kw)
    return out


def run_matrix(profile: str = "paper", workers: int = 2, data_dir=None, variants=None, dry_run=False,
               scheduler: str | None = None, results=None, grids=None) -> list:
    """Train the matrix's missing runs (see :func:`run_all`); ``results``: another results folder than the
    profile's (tests); ``grids``: only these of the chapters' grids."""
    return run_all(matrix_runs(profile, data_dir, variants, results, grids), workers, dry_run, scheduler, profile)
