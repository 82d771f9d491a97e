"""The ledger of glued numbers (jade_core.tooling.ledger): records, the numbers page, links, stale numbers."""
import json

import pytest
from jade_core.tooling import ledger


def test_record_writes_only_under_the_book_runner_with_the_chapters_runs(tmp_path, monkeypatch):
    run = tmp_path / "runs" / "single" / "local-seed0"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"config": {"variant": "single", "seed": 0, "profile": "smoke"}}))
    monkeypatch.setattr(ledger, "_runs", [])
    monkeypatch.delenv(ledger.CHAPTER, raising=False)
    ledger.record("x", "1.00")
    assert not list(tmp_path.glob("*.jsonl"))                    # papermill by hand: nothing recorded
    monkeypatch.setenv(ledger.CHAPTER, "table1")
    monkeypatch.setenv(ledger.LEDGER_DIR, str(tmp_path / "led"))
    ledger.note_runs([run])
    ledger.record("t1_err", "32.30 ± 3.43")
    ledger.record("t1_n", "5500", runs=[])
    book = ledger.collect(tmp_path / "led")
    e = book["table1"]["t1_err"]
    assert e["text"] == "32.30 ± 3.43" and len(e["runs"]) == 1 and len(e["runs"][0]["config"]) == 12
    assert book["table1"]["t1_n"]["runs"] == []


def _book(text="32.30"):
    return {"profile": "paper",
            "chapters": {"table1": {"commands": ledger.commands("table1", "paper", {}, ["table1"]),
                                    "numbers": {"t1_err": {"chapter": "table1", "name": "t1_err", "text": text,
                                                           "runs": [{"run": "results/runs/single/local-seed0",
                                                                     "config": "0123456789ab"}]}}}}}


def test_the_numbers_page_has_an_anchor_per_number_and_the_commands():
    page = ledger.numbers_page(_book(), code={"git_commit": "abc", "jade_core_source": "def"})
    assert "code `abc`" in page
    assert f'<a id="{ledger.anchor("table1", "t1_err")}"></a>' in page
    assert "jade matrix --profile paper --workers 2" in page and "papermill book/table1.ipynb out.ipynb -p profile paper" in page
    assert "`results/runs/single/local-seed0` (0123456789ab)" in page


def test_link_numbers_wraps_each_glued_value_in_order_and_refuses_a_mismatch(tmp_path):
    (tmp_path / "html" / "book").mkdir(parents=True)
    (tmp_path / "src").mkdir()
    nb = {"cells": [{"cell_type": "markdown", "source": ["a {glue:text}`k1` b {glue:text}`k2:.2f`"]},
                    {"cell_type": "code", "source": ["nb.glue('k3', 1)"]}]}
    (tmp_path / "src" / "table1.ipynb").write_text(json.dumps(nb))
    page = tmp_path / "html" / "book" / "table1.html"
    page.write_text('<p>a <span class="pasted-text">1</span> b <span class="pasted-text">2.00</span></p>')
    assert ledger.link_numbers(tmp_path / "html", tmp_path / "src", ["table1"]) == 2
    out = page.read_text()
    assert out.count('class="number-source"') == 2 and 'href="numbers.html#n-table1-k2"' in out
    page.write_text('<p><span class="pasted-text">1</span></p>')
    from jade_core.tooling.book import BuildError
    with pytest.raises(BuildError, match="1 glued values on the page but 2 in its source"):
        ledger.link_numbers(tmp_path / "html", tmp_path / "src", ["table1"])


def test_a_stale_number_is_found():
    assert ledger.stale_numbers(_book(), _book()) == []
    assert ledger.stale_numbers(_book(), _book("32.31")) == [("table1", "t1_err", "32.30", "32.31")]


def test_forward_pass_chapters_allow_one_unit_of_the_last_digit():
    def book(chapter, text):
        return {"chapters": {chapter: {"numbers": {"k": {"text": text}}}}}
    assert ledger.stale_numbers(book("swaps", "88 % against 12.5 %"), book("swaps", "89 % against 12.6 %")) == []
    assert ledger.stale_numbers(book("swaps", "88 %"), book("swaps", "90 %")) != []
    assert ledger.stale_numbers(book("swaps", "88 % a"), book("swaps", "88 % b")) != []
    assert ledger.stale_numbers(book("table1", "88 %"), book("table1", "89 %")) != []   # recorded numbers: exact


def test_check_numbers_fails_on_a_planted_stale_number(tmp_path):
    import subprocess

    from jade_core.tooling import book
    if subprocess.run(["git", "cat-file", "-e", "HEAD:results/numbers.json"], cwd=book.ROOT).returncode:
        pytest.skip("no committed ledger at HEAD yet")
    committed = json.loads(subprocess.run(["git", "show", "HEAD:results/numbers.json"], cwd=book.ROOT,
                                          capture_output=True, text=True).stdout)
    fresh = tmp_path / "numbers.json"
    fresh.write_text(json.dumps(committed))
    assert book.check_numbers(from_last_build=True, fresh_file=fresh) == []
    chapter = next(c for c, v in committed["chapters"].items() if v["numbers"] and c not in ledger.FORWARD_PASS_CHAPTERS)
    name = next(iter(committed["chapters"][chapter]["numbers"]))
    committed["chapters"][chapter]["numbers"][name]["text"] += " (edited by hand)"
    fresh.write_text(json.dumps(committed))
    stale = book.check_numbers(from_last_build=True, fresh_file=fresh)
    assert len(stale) == 1 and stale[0].startswith(f"{chapter}: {name}: committed")
