"""The numbers the book's prose quotes that no run computes, each from the one place that holds it.

The paper's (:mod:`jade_core.science.paper`), the architecture's as built (:mod:`jade_core.science.models`), the local
protocol's (:mod:`jade_core.science.split`, :mod:`jade_core.science.data`) and the configuration's defaults
(:class:`jade_core.science.config.RunConfig`). Every chapter glues them (:func:`jade_core.tooling.notebook.check_parameters`),
so its Markdown writes ``{glue:text}`arch_svhn_filters``` instead of typing "64, 96, 64 and 8"; the digit
scan (:func:`jade_core.tooling.ledger.typed_numbers`) fails on any number typed instead.
"""
from __future__ import annotations

from ..science import data, models, paper, split
from ..science.config import PROFILES, RunConfig
from . import budget


def _n(x) -> str:
    """An integer with thousands separators (1,000), a float as written (0.5)."""
    return f"{x:,}" if isinstance(x, int) else f"{x:g}"


def _and(xs) -> str:
    xs = [_n(x) for x in xs]
    return ", ".join(xs[:-1]) + " and " + xs[-1]


def _range(lo: int, hi: int) -> str:
    """Half-open index range [lo, hi) as the inclusive range people write: 2,500–7,999."""
    return f"{_n(lo)}–{_n(hi - 1)}"


def _power(x: float) -> str:
    """0.001 as 10⁻³, 0.003 as 3·10⁻³."""
    mantissa, exponent = f"{x:.0e}".split("e")
    sup = str(int(exponent)).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return ("" if mantissa == "1" else f"{mantissa}·") + f"10{sup}"


PAPER = "the paper"
MODELS = "jade_core.science.models (the sizes Section 3 gives)"
PROTOCOL = "jade_core.science.split (the local protocol of ../shared/data/README.md)"
CONFIG = "jade_core.science.config.RunConfig (the paper profile)"


def numbers() -> dict:
    """``{name: (text, source)}``: every such number, as the prose shows it."""
    t = paper.TABLE1.set_index("method")
    rows = (("m1m2", "VAE (M1+M2) [3]"), ("siddharth", "Siddharth et al. [11]"),
            ("single", "Single Classifier (benchmark)"), ("paired", "Paired Classifier"), ("jade", "JADE (proposed)"))
    out = {f"paper_{key}": (f"{t.loc[m, 'svhn_mean']:.2f}", f"{PAPER}, Table 1") for key, m in rows}
    out.update({f"paper_{key}_mnist": (f"{t.loc[m, 'mnist_mean']:.2f}", f"{PAPER}, Table 1") for key, m in rows[3:]})
    out.update({
        "paper_labels_per_class": (_n(paper.LABELS_PER_CLASS), f"{PAPER}, Table 1's caption"),
        "paper_labelled": (_n(paper.LABELLED), f"{PAPER}, Table 1"),
        "paper_runs": (_n(paper.RUNS), f"{PAPER}, Table 1's caption"),
        "paper_mnist_train": (_n(paper.MNIST_TRAIN), f"{PAPER}, Table 1"),
        "paper_f2_per_class": (_n(paper.FIGURE2_PER_CLASS), f"{PAPER}, Figure 2's caption"),
        "paper_f2_reference": (_n(paper.FIGURE2_REFERENCE), f"{PAPER}, Figure 2's caption"),
        "arch_kernel": (f"{models.KERNEL}×{models.KERNEL}", MODELS),
        "arch_pool": (f"{models.POOL}×", MODELS),
        "arch_svhn_filters": (_and(models.SVHN_FILTERS), MODELS),
        "arch_mnist_filters": (_and(models.MNIST_FILTERS), MODELS),
        "arch_mlp_width": (_n(models.MLP_WIDTH), MODELS),
        "arch_dropout": (_n(models.DROPOUT), MODELS),
        "arch_bottleneck": (_n(models.LATENT_CONTENT), MODELS),
        "arch_latent": (_n(models.LATENT), MODELS),
        "arch_classes": (_n(models.N_CLASSES), MODELS),
        "arch_content_dims": (f"0–{models.LATENT_CONTENT - 1}", MODELS),
        "arch_style_dims": (f"{models.LATENT_CONTENT}–{models.LATENT - 1}", MODELS),
        "proto_dev_range": (_range(*split.LOCAL_DEVELOPMENT), PROTOCOL),
        "proto_dev_size": (_n(split.LOCAL_DEVELOPMENT[1] - split.LOCAL_DEVELOPMENT[0]), PROTOCOL),
        "proto_eval_range": (_range(*split.LOCAL_EVALUATION), PROTOCOL),
        "proto_eval_size": (_n(split.LOCAL_EVALUATION[1] - split.LOCAL_EVALUATION[0]), PROTOCOL),
        "proto_mirror_size": (_n(split.LOCAL_EVALUATION[1]), PROTOCOL),
        "proto_mnist_shape": (" × ".join(map(str, data.SHAPES["mnist"])), "jade_core.science.data"),
        "proto_svhn_shape": (" × ".join(map(str, data.SHAPES["svhn"][1:])), "jade_core.science.data"),
        "proto_mnist_train": (_n(data.MNIST_TRAIN_SIZE), "jade_core.science.data"),
        "proto_mnist_rest": (_n(data.MNIST_FULL_TRAIN - data.MNIST_TRAIN_SIZE), "jade_core.science.data"),
    })
    budgets = tuple(budget.grid_budgets(budget.equal_steps_planned()))
    out["study_budgets"] = (_and(budgets), "sweeps/label-budget.yml (the label-budget study)")
    out["study_budgets_all"] = (_and(budgets + (RunConfig.labels_per_class,)),
                                "sweeps/label-budget.yml, with Table 1's budget")
    cfg = {**RunConfig.defaults(), **PROFILES["paper"]}
    out.update({f"cfg_{k}": (_n(cfg[k]), CONFIG) for k in
                ("labels_per_class", "val_per_class", "batch_size", "mnist_batch_size", "epochs", "svhn_sigma")})
    out["cfg_lr"] = (_power(cfg["lr"]), CONFIG)
    return out
