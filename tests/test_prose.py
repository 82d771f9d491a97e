"""No number typed by hand: the digit scan of every chapter, and the numbers the prose quotes from code."""
from pathlib import Path

import pytest
from jade_core.reporting import prose
from jade_core.science import models, paper
from jade_core.tooling import ledger

BOOK = Path(__file__).resolve().parents[1] / "book"


@pytest.mark.parametrize("chapter", sorted(p.stem for p in BOOK.glob("*.ipynb")))
def test_no_chapter_types_a_number(chapter):
    """Every digit in a chapter's Markdown is glued, math, code, a reference to the paper's numbered
    parts, a citation year or a list enumerator (ledger.ALLOWED_DIGITS)."""
    typed = ledger.typed_numbers_in(BOOK / f"{chapter}.ipynb")
    assert not typed, f"{chapter}: numbers typed by hand (glue them, jade_core.reporting.prose): {typed}"


def test_the_scan_catches_a_typed_number_and_passes_what_is_allowed():
    assert ledger.typed_numbers("JADE reaches 29.08 % here.") == ["29.08"]
    assert ledger.typed_numbers("trained for 2,400 steps") == ["2,400"]
    assert ledger.typed_numbers("a 10-dimensional bottleneck") == ["10-dimensional"]
    allowed = ("{glue:text}`paper_jade` % in Table 1 and Eq. 2, Figure 2a, Section 3; $w_{match} = 0$; "
               "`jade train --seed 3`; Oliver et al. (2018); VAE (M1+M2); [x](runs/seed-0.md)\n"
               "1. first item\n```bash\npapermill a.ipynb -p seed 3\n```")
    assert ledger.typed_numbers(allowed) == []


def test_the_code_builds_the_architecture_the_paper_states():
    a = paper.ARCHITECTURE
    assert (models.KERNEL, models.POOL, models.MLP_WIDTH, models.DROPOUT) == (a["kernel"], a["pool"], a["mlp_width"],
                                                                              a["dropout"])
    assert models.SVHN_FILTERS == a["svhn_filters"] and models.MNIST_FILTERS == a["mnist_filters"]
    assert (models.LATENT_CONTENT, models.LATENT, models.N_CLASSES) == (a["bottleneck"], a["jade_latent"], a["classes"])
    enc = models.Encoder("svhn", models.LATENT)
    convs = [m for m in enc.features if m.__class__.__name__ == "Conv2d"]
    assert tuple(c.out_channels for c in convs) == a["svhn_filters"] and convs[0].kernel_size == (a["kernel"],) * 2
    mlp = models.Classifier()
    widths = [m.out_features for m in mlp.net if m.__class__.__name__ == "Linear"]
    assert widths == [a["mlp_width"]] * a["mlp_blocks"] + [a["classes"]]


def test_prose_numbers_read_their_sources():
    n = prose.numbers()
    assert n["paper_jade"][0] == "29.08" and n["paper_paired_mnist"][0] == "0.82" and n["paper_labelled"][0] == "1,000"
    assert n["arch_svhn_filters"][0] == "64, 96, 64 and 8" and n["arch_content_dims"][0] == "0–9"
    assert n["proto_dev_range"][0] == "0–2,499" and n["proto_eval_range"][0] == "2,500–7,999"
    assert n["proto_eval_size"][0] == "5,500" and n["cfg_lr"][0] == "10⁻³"
    assert all(source for _, source in n.values())
    assert prose._power(3e-3) == "3·10⁻³"


def test_the_ledger_keeps_only_the_prose_numbers_a_page_shows(tmp_path, monkeypatch):
    import json
    folder = tmp_path / "ledger"
    monkeypatch.setenv(ledger.CHAPTER, "intro")
    monkeypatch.setenv(ledger.LEDGER_DIR, str(folder))
    ledger.record("paper_jade_mnist", "0.72", [], source="the paper, Table 1")   # shown by the intro
    ledger.record("arch_kernel", "3×3", [], source="jade_core.science.models")    # not shown there
    book = ledger.write_numbers(folder, tmp_path / "numbers.json", "paper", [{"notebook": "intro"}])
    kept = book["chapters"]["intro"]["numbers"]
    assert set(kept) == {"paper_jade_mnist"} and kept["paper_jade_mnist"]["source"] == "the paper, Table 1"
    assert "from the paper, Table 1" in ledger.numbers_page(book, code={"git_commit": "x", "jade_core_source": "y"})
    assert json.loads((tmp_path / "numbers.json").read_text()) == book


def test_no_glued_value_is_a_sentence_assembled_by_code():
    """A glued value is a number, a verdict word, or a run or setting name: at most 12 words. Sentences whose
    wording follows the runs are written in the chapters (or shown as a table or list), never glued whole.
    Checked over the committed ledger of the paper book (results/numbers.json)."""
    import json
    book = json.loads((BOOK.parent / "results" / "numbers.json").read_text())
    long = [(c, k, len(v["text"].split())) for c, ch in book["chapters"].items() for k, v in ch["numbers"].items()
            if len(v["text"].split()) > 12]
    assert not long, f"glued values over 12 words: {long}"
