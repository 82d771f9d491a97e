"""Where every number comes from: the ledger of glued values, its page, and the links to it.

While ``jade book`` executes a chapter, every value the chapter glues
(:func:`jade_core.tooling.notebook.glue`) is recorded with the run folders it was
computed from (the runs the chapter read, unless the call names its own), each
run's configuration digest, the code version and the commands that regenerate
those runs and the page. ``jade book`` merges the records into ``numbers.json``
(:func:`write_numbers`), renders the page "Where every number comes from"
(:func:`numbers_page`) and links every glued value of the built site to its
entry (:func:`link_numbers`). ``jade check-numbers`` compares a fresh ledger with
the committed one (:func:`stale_numbers`).
"""
from __future__ import annotations

import hashlib
import html
import json
import os
import re
from pathlib import Path

from ..experiments.grid import semantic_key
from ..experiments.runs import ROOT, git_commit, relative, source_hash

CHAPTER = "JADE_CHAPTER"          # set by the book runner for each chapter's kernel
LEDGER_DIR = "JADE_LEDGER_DIR"    # where the kernel writes its records
COMMITTED = ROOT / "results" / "numbers.json"  # the paper build's ledger, checked by `jade check-numbers`
PAGE = "numbers"                  # book/numbers.md, generated at build time

_runs: list = []                  # the runs the current chapter has read (note_runs)


def note_runs(paths) -> None:
    """Record that the current chapter read these run folders (its numbers are computed from them)."""
    for p in paths:
        p = str(p)
        if p not in _runs:
            _runs.append(p)


def _digest(run: str) -> str:
    """The configuration digest of a run: sha256 (12 hex) of its semantic configuration."""
    try:
        saved = json.loads((Path(run) / "config.json").read_text())["config"]
        return hashlib.sha256(semantic_key(saved).encode()).hexdigest()[:12]
    except (OSError, ValueError, KeyError, TypeError):
        return "unreadable"


def record(name: str, text: str, runs=None, source: str | None = None) -> None:
    """Append one glued value to the chapter's ledger file (only while the book runner executes it);
    ``source``: where a number that no run computes is held (the paper, the protocol's module)."""
    chapter, folder = os.environ.get(CHAPTER), os.environ.get(LEDGER_DIR)
    if not chapter or not folder:
        return
    runs = [str(r) for r in (runs if runs is not None else _runs)]
    entry = {"chapter": chapter, "name": name, "text": text,
             "runs": [{"run": relative(r), "config": _digest(r)} for r in runs]}
    if source:
        entry["source"] = source
    Path(folder).mkdir(parents=True, exist_ok=True)
    with open(Path(folder) / f"{chapter}.jsonl", "a") as f:
        f.write(json.dumps(entry) + "\n")


def collect(folder) -> dict:
    """``{chapter: {name: entry}}`` from the ledger files of one build (the last value of a name wins)."""
    out = {}
    for f in sorted(Path(folder).glob("*.jsonl")):
        for line in f.read_text().splitlines():
            e = json.loads(line)
            out.setdefault(e["chapter"], {})[e["name"]] = e
    return out


def commands(chapter: str, profile: str, params: dict, grids: list) -> dict:
    """The commands that re-execute a chapter and remake its runs."""
    p = " ".join(f"-p {k} {v}" for k, v in params.items() if k != "profile")
    run = {"single": "jade train --variant single", "paired": "jade train --variant paired",
           "jade": "jade train --variant jade"}.get(chapter)
    if run:
        remake = f"{run} --seed {params.get('seed', 0)} --profile {profile}"
    elif chapter == "budget":
        remake = ("jade sweep sweeps/label-budget.yml --workers 2; jade sweep sweeps/table1.yml --workers 2 "
                  "(the first study: jade study budget --workers 2)")
    elif chapter == "matching":
        remake = "jade sweep sweeps/matching-dose.yml --workers 2; jade sweep sweeps/table1.yml --workers 2"
    elif chapter == "tuning":
        remake = ("jade sweep sweeps/settings-search.yml --workers 2; jade sweep sweeps/reading-search.yml --workers 2; "
                  "jade sweep sweeps/warmup-search.yml --workers 2")
    elif grids:
        remake = f"jade matrix --profile {profile} --workers 2"
    else:
        remake = "none: this page reads no run"
    return {"page": f"papermill book/{chapter}.ipynb out.ipynb -p profile {profile} {p}".strip(), "runs": remake}


def write_numbers(folder, out, profile: str, entries: list) -> dict:
    """Merge one build's ledger into ``out`` (numbers.json): per chapter its commands and numbers.
    ``entries``: the matrix entries executed (for the commands). The code version is not written (it
    changes with every commit, so a committed ledger would never match a rebuild); the page states it."""
    ledger = collect(folder)
    book = {"profile": profile, "chapters": {}}
    for e in entries:
        name = e["notebook"]
        numbers = ledger.get(name, {})
        page = ROOT / "book" / f"{name}.ipynb"
        if page.exists():  # every chapter glues every prose number: keep those its page shows
            shown = set(glue_order(page))
            numbers = {k: v for k, v in numbers.items() if "source" not in v or k in shown}
        book["chapters"][name] = {"commands": commands(name, profile, e.get("parameters", {}), e.get("grids", [])),
                                  "numbers": numbers}
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(book, indent=1, sort_keys=True) + "\n")
    return book


def anchor(chapter: str, name: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", f"n-{chapter}-{name}".lower())


def numbers_page(book: dict, code: dict | None = None) -> str:
    """The page "Where every number comes from" (Markdown, with an HTML anchor per number); ``code``:
    the code version that built it (default: this checkout's)."""
    if code is None:
        code = {"git_commit": git_commit(), "jade_core_source": source_hash()}
    lines = ["# Where every number comes from", "",
             f"Every number glued into a page of this build ({book['profile']} profile, code "
             f"`{code['git_commit'] or 'not a git checkout'}`, `jade_core` source "
             f"`{code['jade_core_source']}`), with the runs it was computed from (each run's configuration "
             "digest beside it) and the commands that regenerate them. Every such number on a page links here.", ""]
    for chapter, c in book["chapters"].items():
        if not c["numbers"]:
            continue
        lines += [f"## {chapter}", "", f"Re-execute the page: `{c['commands']['page']}`  ",
                  f"Remake its runs: `{c['commands']['runs']}`", ""]
        for name, e in c["numbers"].items():
            runs = e["runs"]
            where = (f"{len(runs)} run(s): " + ", ".join(f"`{r['run']}` ({r['config']})" for r in runs[:6])
                     + (f" and {len(runs) - 6} more" if len(runs) > 6 else "")) if runs else \
                e.get("source") or "no run (code and data only)"
            text = e["text"] if len(e["text"]) <= 160 else e["text"][:157] + "…"
            lines += [f'<a id="{anchor(chapter, name)}"></a>', "",
                      f"**{chapter} · `{name}`**: {html.escape(text)}  ", f"from {where}", ""]
    return "\n".join(lines) + "\n"


GLUE = re.compile(r"\{glue:text\}`([^`]+)`")
PASTED = re.compile(r'<span class="pasted-text">')


def glue_order(notebook: Path) -> list:
    """The glue keys of a notebook's markdown cells, in the order a page shows them."""
    nb = json.loads(Path(notebook).read_text())
    return [m.group(1).split(":")[0] for c in nb["cells"] if c["cell_type"] == "markdown"
            for m in GLUE.finditer("".join(c["source"]))]


def link_numbers(html_dir: Path, staged_dir: Path, chapters: list) -> int:
    """Wrap the i-th glued value of every built page in a link to its entry on the numbers page; returns
    how many were linked. A page whose glued values do not match its sources one to one is an error."""
    from .book import BuildError  # book imports this module: a cycle at the top
    linked = 0
    for chapter in chapters:
        page, src = Path(html_dir) / "book" / f"{chapter}.html", Path(staged_dir) / f"{chapter}.ipynb"
        if not page.exists() or not src.exists():
            continue
        keys, text = glue_order(src), page.read_text()
        spans = list(PASTED.finditer(text))
        if len(spans) != len(keys):
            raise BuildError(f"{page}: {len(spans)} glued values on the page but {len(keys)} in its source; "
                             "the numbers cannot be linked to their sources.")
        out, last = [], 0
        for key, m in zip(keys, spans):
            end = text.index("</span>", m.end()) + len("</span>")
            out += [text[last:m.start()], f'<a class="number-source" href="{PAGE}.html#{anchor(chapter, key)}" '
                    'style="color: inherit; font-weight: inherit; text-decoration: underline dotted 1px; '
                    'text-decoration-color: #aaa;" '  # a number in the sentence's own weight, not a call to click
                    f'title="where this number comes from">',
                    # myst-nb sets every pasted value in bold; a number reads in its sentence's weight
                    text[m.start():end].replace('class="pasted-text">', 'class="pasted-text" style="font-weight: inherit;">', 1),
                    "</a>"]
            last = end
        page.write_text("".join(out) + text[last:])
        linked += len(keys)
    return linked


# Chapters that compute numbers from a forward pass of trained weights at build time (the swaps grid):
# their last float bits may differ between CPU kinds (oneDNN picks kernels by instruction set), as the
# forward-pass figures' pixels may (jade_core.tooling.figcheck), so a number there may move by one unit of its last
# digit. Every other chapter reads recorded metrics or the Figure 2 cache and must match exactly.
FORWARD_PASS_CHAPTERS = ("swaps",)
NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def within_last_digit(a: str, b: str) -> bool:
    """Two texts that differ only in numbers, each within one unit of its last shown digit."""
    if NUMBER.sub("#", a) != NUMBER.sub("#", b):
        return False
    for x, y in zip(NUMBER.findall(a), NUMBER.findall(b)):
        unit = 10 ** -len(x.split(".")[1]) if "." in x else 1
        if abs(float(x) - float(y)) > unit + 1e-9:
            return False
    return True


def stale_numbers(committed: dict, fresh: dict) -> list:
    """Every number whose text differs between two ledgers (or exists in only one): ``(chapter, name,
    committed text, fresh text)``; in :data:`FORWARD_PASS_CHAPTERS`, a move of one unit of the last digit
    is not stale."""
    out = []
    for chapter in sorted(set(committed.get("chapters", {})) | set(fresh.get("chapters", {}))):
        a = committed.get("chapters", {}).get(chapter, {}).get("numbers", {})
        b = fresh.get("chapters", {}).get(chapter, {}).get("numbers", {})
        for name in sorted(set(a) | set(b)):
            ta, tb = a.get(name, {}).get("text"), b.get(name, {}).get("text")
            if ta != tb and not (chapter in FORWARD_PASS_CHAPTERS and ta and tb and within_last_digit(ta, tb)):
                out.append((chapter, name, ta, tb))
    return out


# --- No number typed by hand: the digit scan of the book's prose ---
# What a digit may stand in besides a glued value: math and code (equations and commands are not
# results), link targets and roles, references to the paper's numbered parts, citation years and the
# enumerators of a numbered list. Everything else in prose is a number someone typed.
_NOT_PROSE = [
    re.compile(r"```.*?```", re.S),                              # fenced code and directive blocks
    re.compile(r"\$\$.*?\$\$", re.S), re.compile(r"\$[^$\n]+\$"),  # math
    re.compile(r"\{[\w:-]+\}`[^`]*`"),                           # roles: glue, doc, cite, ref, math
    re.compile(r"`[^`]*`"),                                       # inline code
    re.compile(r"\]\([^)]*\)"), re.compile(r"<[^>]+>"),          # link targets, HTML tags
]
ALLOWED_DIGITS = [
    re.compile(r"\b(?:Eq|Eqs|Table|Figure|Fig|Section|Appendix|Algorithm)s?\.?\s+\d+[a-z]?"
               r"(?:\s*(?:,|and|or|–|-)\s*\d+[a-z]?)*"),       # the paper's numbered parts
    re.compile(r"(?:et al\.|[A-Z][a-z]+)\s*\(?(?:19|20)\d\d\)?"),  # citation years
    re.compile(r"^\s*\d+\.\s", re.M),                             # enumerators of a numbered list
    re.compile(r"\b(?:PCG64|M1\+M2|M1|M2)\b"),                     # names: a generator, the VAE models
]
DIGIT = re.compile(r"\S*\d\S*")


def typed_numbers(markdown: str) -> list:
    """The tokens of a Markdown text that hold a digit which is neither glued nor allowed
    (:data:`ALLOWED_DIGITS`); ``[]`` when every number in the prose is glued."""
    for pattern in _NOT_PROSE + ALLOWED_DIGITS:
        markdown = pattern.sub(" ", markdown)
    return DIGIT.findall(markdown)


def typed_numbers_in(notebook: Path) -> list:
    """``[(cell index, token)]`` of :func:`typed_numbers` over a notebook's Markdown cells."""
    cells = json.loads(Path(notebook).read_text())["cells"]
    return [(i, t) for i, c in enumerate(cells) if c["cell_type"] == "markdown"
            for t in typed_numbers("".join(c["source"]))]
