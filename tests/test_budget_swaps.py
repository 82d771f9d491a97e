"""The label-budget tables (jade_core.reporting.budget) and content/style swaps (jade_core.science.swaps)."""
import json

import numpy as np
import pandas as pd
import pytest
import torch
from jade_core.reporting import budget
from jade_core.science import swaps
from jade_core.science.models import LATENT_CONTENT, build_model


def _runs():
    """Planted runs: at 10 labels paired is 5 pp better than single on every seed (+-0.5), JADE equal to paired."""
    rows = []
    for seed in range(5):
        wobble = 0.5 * (-1) ** seed
        for b, base in ((10, 70.0), (100, 30.0)):
            gain = 5.0 if b == 10 else 0.0
            rows += [{"labels_per_class": b, "variant": "single", "seed": seed, "svhn_error": base + wobble},
                     {"labels_per_class": b, "variant": "paired", "seed": seed, "svhn_error": base - gain + 2 * wobble},
                     {"labels_per_class": b, "variant": "jade", "seed": seed, "svhn_error": base - gain + 2 * wobble
                      + 0.1 * seed}]
    df = pd.DataFrame(rows)
    return df.assign(steps=2400, device="cpu")


def test_budget_summary_gives_mean_sd_and_t_interval():
    s = budget.budget_summary(_runs()).set_index(["labels_per_class", "variant"])
    e = np.array([70.5, 69.5, 70.5, 69.5, 70.5])
    r = s.loc[(10, "single")]
    assert r.seeds == 5 and r["mean"] == pytest.approx(e.mean()) and r.sd == pytest.approx(e.std(ddof=1))
    assert r.ci_half == pytest.approx(2.776445 * e.std(ddof=1) / np.sqrt(5), rel=1e-5)


def test_budget_claims_pair_seeds_within_a_budget_and_correct_over_all_rows():
    c = budget.budget_claims(_runs()).set_index(["labels_per_class", "claim"])
    ps10 = c.loc[(10, "paired beats single")]
    assert ps10.mean_difference == pytest.approx(-5.0 + 0.5 * np.mean([(-1) ** s for s in range(5)]))
    assert ps10.verdict == "reproduced" and ps10.family_high < 0 and ps10.a_wins == 5
    assert np.isnan(ps10.paper_difference)                                   # the paper ran 100 labels only
    p100 = c.loc[(100, "paired beats single")]
    assert p100.paper_difference == pytest.approx(30.17 - 32.31) and p100.verdict != "reproduced"
    assert ps10.family_level == pytest.approx(1 - 0.05 / len(c))            # every row one family
    assert c.loc[(10, "JADE beats paired")].mean_difference == pytest.approx(0.2)
    raw = c.p_t.to_numpy()
    assert (c.p_t_holm.to_numpy() >= raw - 1e-12).all() and len(c) == 6


class _Probe(torch.nn.Module):
    """A JADE-shaped model whose posterior mean is the image's first 20 pixels and whose decoder writes
    its latent code into the image: a swap can then be read back exactly."""
    datasets = ("svhn", "mnist")

    def __init__(self):
        super().__init__()
        self.decoders = torch.nn.ModuleDict({"svhn": _Writer((3, 32, 32)), "mnist": _Writer((1, 28, 28))})

    def posterior(self, x, dataset):
        mu = x.flatten(1)[:, :20]
        return mu, torch.zeros_like(mu)

    def forward(self, x, dataset="svhn"):  # the classifier reads the content part only
        return self.posterior(x, dataset)[0][:, :LATENT_CONTENT]


class _Writer(torch.nn.Module):
    def __init__(self, shape):
        super().__init__()
        self.shape = shape

    def forward(self, z):
        out = torch.full((len(z), int(np.prod(self.shape))), -30.0)
        out[:, :20] = torch.logit(z.clamp(1e-4, 1 - 1e-4))
        return out.view(-1, *self.shape)


def test_swap_takes_content_from_rows_and_style_from_columns():
    g = torch.Generator().manual_seed(0)
    c = torch.rand(3, 1, 28, 28, generator=g)
    s = torch.rand(4, 3, 32, 32, generator=g)
    out = swaps.swap(_Probe(), c, "mnist", s, "svhn", "svhn")
    assert out.shape == (3, 4, 3, 32, 32)
    code = out.flatten(2)[..., :20]
    for i in range(3):
        for j in range(4):
            assert torch.allclose(code[i, j, :LATENT_CONTENT], c[i].flatten()[:LATENT_CONTENT], atol=1e-3)
            assert torch.allclose(code[i, j, LATENT_CONTENT:], s[j].flatten()[LATENT_CONTENT:20], atol=1e-3)


def test_swap_uses_posterior_means_in_eval_mode_and_restores_the_mode():
    torch.manual_seed(0)
    model = build_model("jade").train()
    x = torch.rand(2, 3, 32, 32)
    a = swaps.swap(model, x, "svhn", x, "svhn")
    b = swaps.swap(model, x, "svhn", x, "svhn")
    assert torch.equal(a, b) and model.training
    with pytest.raises(ValueError, match="JADE"):
        swaps.swap(build_model("paired"), x, "svhn", x, "svhn")
    assert list(swaps.first_of_each_class([3, 0, 1, 0, 2], classes=range(4))) == [1, 2, 4, 0]


def _coded(labels, style_labels, shape):
    """Images whose first 20 pixels are one-hot content (0-9) and one-hot style (10-19) codes."""
    x = torch.zeros(len(labels), *shape)
    flat = x.view(len(labels), -1)
    flat[torch.arange(len(labels)), torch.as_tensor(labels)] = 0.9
    flat[torch.arange(len(labels)), 10 + torch.as_tensor(style_labels)] = 0.9
    return x


def test_swap_agreement_counts_content_and_style_digits_over_differing_pairs():
    cy, sy = np.arange(10), np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 3, 3])
    content = (_coded(cy, cy, (1, 28, 28)), cy)
    style = (_coded(sy, sy, (3, 32, 32)), sy)
    a = swaps.swap_agreement(_Probe(), content, style, "svhn")
    assert a["pairs"] == 10 * 12 - 12  # each style image has one content image of its digit
    assert a["content_agreement"] == 100.0 and a["style_agreement"] == 0.0


def test_length_caveat_names_the_budgets_with_unequal_lengths():
    s = pd.DataFrame({"labels_per_class": [10, 10, 25, 25], "variant": ["single", "jade"] * 2,
                      "steps": ["4800", "2400", "1200", "1200"]})
    text = budget.length_caveat(s)
    assert "10 labels per class: single 4800, jade 2400" in text and "25 labels" not in text
    assert budget.length_caveat(s[s.labels_per_class == 25]).startswith("Within each budget every model")


def test_a_planted_budget_curve_is_read_back():
    # paired beats single by 5 pp at 10 labels (every seed), by ~0 at 100; JADE worse than paired at 10 by 2 pp
    rng = np.random.default_rng(0)
    rows = []
    for b, gain, jade_gap in ((10, 5.0, 2.0), (100, 0.0, 0.0)):
        for s in range(10):
            base = 60.0 if b == 10 else 30.0
            noise = rng.normal(0, 0.3, 3)
            rows += [{"labels_per_class": b, "variant": "single", "seed": s, "svhn_error": base + noise[0]},
                     {"labels_per_class": b, "variant": "paired", "seed": s, "svhn_error": base - gain + noise[1]},
                     {"labels_per_class": b, "variant": "jade", "seed": s, "svhn_error": base - gain + jade_gap + noise[2]}]
    claims = budget.budget_claims(pd.DataFrame(rows))
    a = budget.differences(claims)
    assert float(a["b_ps_10"]) == pytest.approx(-5.0, abs=0.3) and float(a["b_jp_10"]) == pytest.approx(2.0, abs=0.3)
    jp = claims[claims.claim == "JADE beats paired"].set_index("labels_per_class")   # JADE worse at 10: no advantage left
    assert jp.family_low[10] > 0 and jp.family_low[100] < 0
    assert set(a) == {f"b_{k}_{b}" for k in ("ps", "jp", "js") for b in (10, 100)}


def test_the_swaps_answer_reads_a_planted_agreement_table():
    from jade_core.science import swaps as sw
    rows = []
    for model, cross in (("JADE", 40.0), ("JADE, w_match = 0", 20.0)):
        for title, *_ in sw.KINDS:
            rows.append({"model": model, "swap": title, "content_agreement": cross if "decoder" in title else 90.0})
    v = sw.answer(pd.DataFrame(rows))
    assert (v["m2s_with"], v["m2s_without"], v["within_mnist"], v["helps"]) == ("40", "20", "90", "both")
    rows[3]["content_agreement"] = 10.0                       # JADE worse than without matching on the last cross swap
    assert sw.answer(pd.DataFrame(rows))["helps"] == "one of them, and hurts the other"


def test_the_remade_budget_study_has_one_design_with_table1():
    """sweeps/label-budget.yml: every run trains Table 1's number of steps, validates and checks the plateau at
    its step counts, and differs from Table 1's re-made run of its model only in the budget and the epochs
    that make those steps (JADE's: Table 1's as made before the warm-up, which the study keeps without)."""
    from jade_core.experiments.grid import expected
    from jade_core.experiments.studies import TABLE1_BEFORE_WARMUP
    from jade_core.science.config import resolve_config
    table1 = {kw["variant"]: resolve_config(**kw) for label, kw in expected("table1", "paper")
              if label in ("single", "paired") and kw["seed"] == 0}
    table1["jade"] = next(resolve_config(**kw) for _, kw in expected(TABLE1_BEFORE_WARMUP, "paper") if kw["seed"] == 0)
    runs = [resolve_config(**kw) for _, kw in expected("label-budget", "paper")]
    assert sorted({c.labels_per_class for c in runs}) == [10, 25, 50] and len(runs) == 90
    t = table1["jade"]
    for c in runs:
        spe = c.steps_per_epoch
        assert (c.epochs * spe, c.eval_every * spe, c.restart_epoch * spe) == \
            (t.epochs * t.steps_per_epoch, t.eval_every * t.steps_per_epoch, t.restart_epoch * t.steps_per_epoch)
        keep = ("labels_per_class", "epochs", "eval_every", "restart_epoch", "seed")
        ref = table1[c.variant]
        assert {k: v for k, v in c.semantic().items() if k not in keep} == \
            {k: v for k, v in ref.semantic().items() if k not in keep}, c.run_name


def _plant(kw: dict, error: float) -> None:
    """A finished run of ``kw`` (resolve_config keywords) on disk, as training leaves it."""
    from jade_core.science.config import resolve_config
    cfg = resolve_config(**{**kw, "data_dir": "."})
    cfg.run_dir.mkdir(parents=True)
    (cfg.run_dir / "config.json").write_text(json.dumps({"config": cfg.to_dict(), "versions": {"torch": "x"}}))
    (cfg.run_dir / "metrics.json").write_text(json.dumps({"svhn": {"error": error, "n": 5500}, "train_seconds": 1.0,
                                                          "steps": cfg.epochs * cfg.steps_per_epoch}))
    (cfg.run_dir / "curve.csv").write_text("epoch,svhn_ce\n1,0.1\n")


def test_the_equal_steps_study_reads_its_grid_and_table1_by_configuration(tmp_path):
    """equal_steps_runs: the grid's finished runs and Table 1's three models (not its ablation) as the 100-label
    point, found by configuration, JADE's made without the warm-up as the study's (not Table 1's JADE that warms up);
    a run of another length in the grid's folder is not the grid's; only budgets where every model has two
    common seeds are judged (comparable)."""
    from jade_core.experiments.grid import expected
    from jade_core.experiments.studies import TABLE1_BEFORE_WARMUP
    res = str(tmp_path)
    planned = budget.equal_steps_planned(res)
    err = {"single": 60.0, "paired": 55.0, "jade": 56.0}
    for kw in planned:
        if kw["labels_per_class"] == 10 and kw["seed"] < 3 or kw["labels_per_class"] == 25 and kw["seed"] == 0:
            _plant(kw, err[kw["variant"]] + kw["seed"] % 2)
    for label, kw in expected("table1", "paper", res):
        if kw["seed"] < 2:
            _plant(kw, 99.0 if label == "jade" else 30.0 + kw["seed"] + (label == "jade_nomatch"))
    for _, kw in expected(TABLE1_BEFORE_WARMUP, "paper", res):   # Table 1's JADE without the warm-up, as the study
        if kw["seed"] < 2:
            _plant(kw, 31.5 + kw["seed"])
    stray = next(kw for kw in planned if kw["labels_per_class"] == 50 and kw["seed"] == 0)
    _plant({**stray, "epochs": 7}, 1.0)                              # not the grid's length: not one of its runs
    runs = budget.equal_steps_runs(res)
    assert len(budget.own_runs(runs, planned)) == 9 + 3 and len(runs) == 12 + 6
    assert sorted(set(runs.labels_per_class)) == [10, 25, 100] and 1.0 not in set(runs.svhn_error)
    assert set(runs[runs.labels_per_class == 100].variant) == {"single", "paired", "jade"}  # no ablation
    assert sorted(runs[(runs.labels_per_class == 100) & (runs.variant == "jade")].svhn_error) == [31.5, 32.5]
    assert (runs[runs.labels_per_class == 10].steps == 2400).all()
    judged = budget.budget_claims(budget.comparable(runs))
    assert sorted(set(judged.labels_per_class)) == [10, 100]       # 25: one seed so far
    ps10 = judged.set_index(["labels_per_class", "claim"]).loc[(10, "paired beats single")]
    assert ps10.mean_difference == pytest.approx(-5.0) and ps10.seeds == 3


def test_the_budget_page_answers_in_verdict_words_and_numbers():
    """findings.budget_words on planted claims: the verdicts over the budgets, where the paired classifier's
    advantage is largest, and how much better than the paired classifier JADE's intervals still allow."""
    from jade_core.reporting import findings
    rng = np.random.default_rng(5)
    rows = [{"labels_per_class": b, "variant": v, "seed": s,
             "svhn_error": 50.0 - (6.0 if (v != "single" and b == 10) else 0.0) + rng.normal(0, 0.3)}
            for b in (10, 25) for s in range(6) for v in ("single", "paired", "jade")]
    v = findings.budget_words(budget.budget_claims(pd.DataFrame(rows)))
    assert v["b_ps_best_labels"] == "10" and abs(float(v["b_ps_best"]) + 6.0) < 0.5
    assert v["b_ps_verdicts"] == "10: reproduced, 25: inconclusive" and float(v["b_jp_room"]) > 0
    assert all(len(x.split()) <= 12 for x in v.values())
