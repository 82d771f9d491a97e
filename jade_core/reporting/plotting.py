"""Figures, written by library functions from results, deterministically.

Each function draws one figure, writes it as PNG (no software/date metadata,
fixed DPI) and returns the path; the notebooks display the file, so the book
shows exactly what is in ``figures/``.
"""
from __future__ import annotations

import fnmatch
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import io

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd
import seaborn as sns  # noqa: E402

from ..science import swaps

DPI = 100
VARIANT_NAMES = {"single": "Single classifier", "paired": "Paired classifier", "jade": "JADE",
                 "jade_nomatch": "JADE, w_match = 0"}


def style():
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    plt.rcParams["svg.hashsalt"] = "jade"


# The figures drawn from a forward pass of trained weights, whose last float bits may differ between CPU
# kinds (oneDNN picks kernels by instruction set), and how far their pixels may move (jade_core.tooling.figcheck).
FROM_WEIGHTS = ("figure2-*.png", "swaps-*.png", "*-recon-*.png")
PIXEL_TOLERANCE = (4 / 255, 0.001)   # (largest channel difference, fraction of channels allowed beyond it)


def save(fig, path) -> Path:
    """Write ``fig`` to ``path`` (PNG) without metadata that changes between runs; close it. A figure of
    :data:`FROM_WEIGHTS` that is already there and within :data:`PIXEL_TOLERANCE` of the new drawing is
    kept as it is, so rebuilding the book on another CPU kind leaves the committed figures untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None}, bbox_inches="tight")
    plt.close(fig)
    new = buf.getvalue()
    if path.exists() and from_weights(path.name):
        old = path.read_bytes()
        if old == new or compare_png(path.name, old, new) is None:
            return path
    path.write_bytes(new)
    return path


def from_weights(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in FROM_WEIGHTS)


def _pixels(data: bytes) -> np.ndarray:

    from PIL import Image  # only to read a figure back
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGBA"), dtype=np.float64) / 255.0


def compare_png(name: str, committed: bytes, regenerated: bytes, strict: bool = True) -> str | None:
    """None when ``regenerated`` passes for a figure called ``name``, else why it does not.
    ``strict=False``: the pixel tolerance for every figure (another plotting stack drew them)."""
    if committed == regenerated:
        return None
    if strict and not from_weights(name):
        return f"{name}: differs from the committed file (it is drawn from committed numbers, so it must be byte-identical)"
    a, b = _pixels(committed), _pixels(regenerated)
    if a.shape != b.shape:
        return f"{name}: size {b.shape[1]}x{b.shape[0]} instead of the committed {a.shape[1]}x{a.shape[0]}"
    worst, allowed = PIXEL_TOLERANCE
    beyond = float((np.abs(a - b) > worst + 1e-9).mean())
    if beyond > allowed:
        return (f"{name}: {100 * beyond:.2f} % of pixel channels differ by more than {round(worst * 255)}/255 "
                f"(allowed {100 * allowed:.1f} %; largest {np.abs(a - b).max() * 255:.0f}/255)")
    return None


def _image(x):
    x = np.asarray(x)
    return x.transpose(1, 2, 0) if x.ndim == 3 else x


def image_grid(x, y, path, per_class=8, title=None):
    """A grid: one row per digit 0..9, ``per_class`` uint8 images of it."""
    style()
    x, y = np.asarray(x), np.asarray(y)
    fig, axes = plt.subplots(10, per_class, figsize=(per_class * 0.8, 8.4))
    for c in range(10):
        idx = np.flatnonzero(y == c)[:per_class]
        for j in range(per_class):
            ax = axes[c, j]
            ax.axis("off")
            if j < len(idx):
                ax.imshow(_image(x[idx[j]]), cmap="gray", vmin=0, vmax=255)
        axes[c, 0].text(-4, 14, str(c), ha="right", va="center", fontsize=11)
    if title:
        fig.suptitle(title)
    return save(fig, path)


def class_balance(counts: dict, path, title="Images per class"):
    """Bars of images per digit, one colour per split: ``counts = {name: array(10)}``."""
    style()
    df = pd.DataFrame([{"digit": d, "split": k, "images": int(v[d])} for k, v in counts.items() for d in range(10)])
    fig, ax = plt.subplots(figsize=(8, 3.5))
    sns.barplot(df, x="digit", y="images", hue="split", ax=ax)
    ax.set_title(title)
    return save(fig, path)


def learning_curve(curve, path, title=None):
    """Training loss per epoch and, where recorded, validation errors."""
    style()
    val_cols = [c for c in curve.columns if c.endswith("_val_error")]
    fig, axes = plt.subplots(1, 2 if val_cols else 1, figsize=(10 if val_cols else 5, 3.5), squeeze=False)
    axes[0, 0].plot(curve["epoch"], curve["loss"])
    axes[0, 0].set(xlabel="epoch", ylabel="training loss (batch mean)", title="loss")
    if val_cols:
        for c in val_cols:
            d = curve[["epoch", c]].dropna()
            axes[0, 1].plot(d["epoch"], d[c], marker="o", ms=3, label=c.replace("_val_error", " validation"))
        axes[0, 1].set(xlabel="epoch", ylabel="error (%)", title="validation error")
        axes[0, 1].legend()
    if title:
        fig.suptitle(title)
    return save(fig, path)


def loss_terms(curve, path, title="Terms of Eq. 2 during training"):
    """JADE: each term of Eq. 1 for both datasets, and the matching KL, per epoch."""
    style()
    terms = ["rec", "cls", "kl_style", "kl_content"]
    fig, axes = plt.subplots(1, 5, figsize=(17, 3.2))
    for ax, t in zip(axes, terms):
        for d in ("svhn", "mnist"):
            ax.plot(curve["epoch"], curve[f"{d}_{t}"], label=d.upper())
        ax.set(title=t, xlabel="epoch")
        ax.legend()
    axes[-1].plot(curve["epoch"], curve["kl_match"], color="k")
    axes[-1].set(title="matching KL (training batches)", xlabel="epoch", yscale="log")
    fig.suptitle(title, y=1.04)  # above the panel titles, not over them
    fig.tight_layout()
    return save(fig, path)


def confusion(matrix, path, title="Confusion matrix"):
    """Row-normalised confusion matrix (true digit in rows), counts annotated."""
    style()
    m = np.asarray(matrix, dtype=float)
    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    sns.heatmap(m / np.maximum(m.sum(1, keepdims=True), 1), annot=np.asarray(matrix), fmt="d", cmap="Blues",
                vmin=0, vmax=1, cbar_kws={"label": "fraction of true class"}, annot_kws={"fontsize": 6}, ax=ax)
    ax.set(xlabel="predicted digit", ylabel="true digit", title=title)
    return save(fig, path)


def reconstructions(originals, recon, path, title="Inputs (top) and reconstructions (bottom)"):
    """Two rows: float images in [0, 1] and their reconstructions (N, C, H, W)."""
    style()
    n = len(originals)
    fig, axes = plt.subplots(2, n, figsize=(n * 0.9, 2.1))
    for j in range(n):
        for i, imgs in enumerate((originals, recon)):
            img = _image(np.asarray(imgs[j]).clip(0, 1))
            axes[i, j].imshow(img.squeeze(), cmap="gray", vmin=0, vmax=1)
            axes[i, j].axis("off")
    fig.suptitle(title)
    return save(fig, path)


def latent_variance(by_class, random, path, title="Normalised latent variance", n_content=10):
    """Figure 2: heatmaps of (a) per-class and (b) random-group normalised variances."""
    style()
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    vmax = max(1.5, float(np.nanmax(by_class)), float(np.nanmax(random)))
    for ax, data, name, ylab in ((axes[0], by_class, "(a) fixed class: 500 images of one digit", "digit"),
                                 (axes[1], random, "(b) random groups of the 2,500 images", "group")):
        sns.heatmap(data, ax=ax, cmap="viridis", vmin=0, vmax=vmax, cbar_kws={"label": "var / var(2,500 random)"})
        ax.axvline(n_content, color="w", lw=2)
        ax.set(xlabel="latent dimension (0-9 content -> classifier, 10-19 style)", ylabel=ylab, title=name)
    fig.suptitle(title, y=1.03)
    fig.tight_layout()
    return save(fig, path)


def error_bars(table, path, paper=None, title="SVHN error over seeds"):
    """Per-seed SVHN errors per variant (points) with the paper's mean ± sd (bars) where given."""
    style()
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    order = [v for v in VARIANT_NAMES if v in set(table["variant"])]
    for i, v in enumerate(order):  # deterministic horizontal spread (seaborn's jitter is random)
        d = table[table.variant == v].sort_values("seed")
        ax.scatter(i + np.linspace(-0.12, 0.12, len(d)), d["svhn_error"], s=30, zorder=3,
                   color=sns.color_palette("colorblind")[i])
    if paper:
        for i, v in enumerate(order):
            if v in paper:
                m, s = paper[v]
                ax.errorbar(i + 0.3, m, yerr=s, fmt="s", color="k", capsize=4)
    ax.set(xlabel="", ylabel="SVHN error (%)", title=title + ("\ndots: our seeds; black squares: paper mean ± sd" if paper else ""))
    ax.set_xticks(range(len(order)), [VARIANT_NAMES.get(v, v) for v in order])
    return save(fig, path)


def matching_curve(curve, path, title="Matching over training (validation images)"):
    """The matching KL on validation pairs (log scale) and the cross-domain centroid accuracy next to
    the SVHN validation accuracy, per evaluation epoch, from a JADE run's learning curve."""
    style()
    d = curve.dropna(subset=["val_kl_match"])
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    a.plot(d["epoch"], d["val_kl_match"], marker="o", ms=3)
    a.set(yscale="log", xlabel="epoch", ylabel="KL (nats, 10 content dims)", title="matching KL")
    b.plot(d["epoch"], d["val_centroid_accuracy"], marker="o", ms=3, label="centroid accuracy (MNIST centroids)")
    b.plot(d["epoch"], 100 - d["svhn_val_error"], marker="s", ms=3, label="own SVHN accuracy")
    b.set(xlabel="epoch", ylabel="accuracy (%)", ylim=(0, 100), title="cross-domain check")
    b.legend(fontsize=8, loc="lower right")
    fig.suptitle(title, y=1.02)
    fig.tight_layout()
    return save(fig, path)


def budget_curve(summary, path, title="SVHN error against labelled SVHN images per class", budgets=(), names=None):
    """Mean SVHN error ± 95 % t interval per variant at each label budget (log x axis), from
    :func:`jade_core.reporting.budget.budget_summary`; variants offset slightly so the intervals do not overlap.
    ``budgets``: every budget the study plans, given an axis tick even before it has a run; ``names``: the
    legend's name of each variant (default :data:`VARIANT_NAMES`), where a study's model differs from Table 1's."""
    names = {**VARIANT_NAMES, **(names or {})}
    style()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    order = [v for v in VARIANT_NAMES if v in set(summary["variant"])]
    for i, v in enumerate(order):
        d = summary[summary.variant == v].sort_values("labels_per_class")
        x = d["labels_per_class"].to_numpy(dtype=float) * 1.04 ** (i - (len(order) - 1) / 2)
        ax.errorbar(x, d["mean"], yerr=d["ci_half"].fillna(0), marker="o", capsize=3, label=names[v],
                    color=sns.color_palette("colorblind")[i])
    ax.set_xscale("log")
    ticks = sorted(set(summary["labels_per_class"]) | set(budgets))
    ax.set_xticks(ticks, [str(t) for t in ticks])
    if len(ticks) > 1:
        ax.set_xlim(ticks[0] / 1.25, ticks[-1] * 1.25)
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set(xlabel="labelled SVHN images per class (log scale)", ylabel="SVHN error (%)", title=title)
    ax.legend()
    return save(fig, path)


def dose_curve(summary, path, rule_kl=None):
    """The w_match dose-response (:func:`jade_core.reporting.dose.dose_summary`): mean SVHN error, validation
    matching KL per content dimension (log axis, with the declared rule's threshold ``rule_kl``) and
    cross-domain centroid accuracy, each ± its 95 % t interval, against w_match (symmetric-log axis, so
    w_match = 0 has a place); doses without a finished run are left out."""
    style()
    d = summary[summary.seeds > 0].sort_values("w_match")
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
    panels = (("svhn_error", "SVHN error (%)"), ("val_kl_per_dim", "KL per content dim (nats)"),
              ("val_centroid_accuracy", "centroid accuracy (%)"))
    for ax, (col, label) in zip(axes, panels):
        ax.errorbar(d.w_match, d[col], yerr=d[f"{col}_ci"].fillna(0), marker="o", capsize=3,
                    color=sns.color_palette("colorblind")[2])
        ax.set_xscale("symlog", linthresh=1)
        ax.set(xlabel="w_match (symmetric log scale)", ylabel=label)
    axes[1].set_yscale("log")
    if rule_kl is not None:
        axes[1].axhline(rule_kl, color="grey", linestyle="--", label="declared matching rule")
        axes[1].legend()
    fig.suptitle("JADE at each matching weight, everything else equal")
    fig.tight_layout()
    return save(fig, path)


def swap_grid(content, style_imgs, grid, path, title=None):
    """Content/style swaps: ``grid[i, j]`` decodes the content of ``content[i]`` (rows) with the style
    of ``style_imgs[j]`` (columns); the first column and row show the two sources. Float images in
    [0, 1], (N, C, H, W) with C = 1 or 3."""
    style()
    n, m = len(content), len(style_imgs)
    fig, axes = plt.subplots(n + 1, m + 1, figsize=(0.75 * (m + 1), 0.75 * (n + 1)))

    def show(ax, img):
        img = np.asarray(img, dtype=float)
        ax.imshow(img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0), cmap="gray", vmin=0, vmax=1)

    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
        for s in ax.spines.values():
            s.set_visible(False)
    for j in range(m):
        show(axes[0, j + 1], style_imgs[j])
    for i in range(n):
        show(axes[i + 1, 0], content[i])
        for j in range(m):
            show(axes[i + 1, j + 1], grid[i, j])
    axes[0, 0].text(0.5, 0.5, "content ↓\nstyle →", ha="center", va="center", fontsize=7,
                    transform=axes[0, 0].transAxes)
    for s in axes[1:, 0]:
        s.spines["right"].set_visible(True)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.subplots_adjust(wspace=0.05, hspace=0.05)
    return save(fig, path)


def swap_figure(run, kind: int, data: dict, tag: str, seed: int, figures) -> Path:
    """One swap grid of the swaps chapter: kind ``kind`` of :data:`jade_core.science.swaps.KINDS` for ``run``, the
    first image of each digit as content and the first eight images of the style dataset as style, drawn
    to ``figures/swaps-<tag>-<decoder>-<content>content-seed<seed>.png``. ``data``: dataset -> (x, y)."""
    title, content, style, decoder = swaps.KINDS[kind]
    cx, cy = data[content]
    ci = swaps.first_of_each_class(cy.numpy())
    tx = data[style][0][:8]
    grid = swaps.swap(run.model, cx[ci], content, tx, style, decoder)
    return swap_grid(cx[ci], tx, grid, Path(figures) / f"swaps-{tag}-{decoder}-{content}content-seed{seed}.png",
                     title=title)


VERDICT_COLOURS = {"reproduced": 2, "contradicted": 3, "inconclusive": 7}  # indices of seaborn's colorblind palette


def forest(rec, path, title="The paper's claims on our runs"):
    """A forest plot of :func:`jade_core.reporting.claims.record`: one row per claim, its mean difference (A − B,
    pp; negative: A has the lower error) with its interval at the family's level, zero (no difference, dotted)
    and the paper's own difference (black diamond), the verdict written beside each row and colouring it
    (seaborn's colour-blind palette)."""
    style()
    palette = sns.color_palette("colorblind")
    rec = rec.reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(rec) + 1.2))
    y = np.arange(len(rec))[::-1]
    for yi, r in zip(y, rec.itertuples()):
        colour = palette[VERDICT_COLOURS.get(r.verdict, 7)]
        if not np.isnan(r.low):
            ax.plot([r.low, r.high], [yi, yi], color=colour, lw=2.5, solid_capstyle="butt")
        ax.scatter([r.mean], [yi], color=colour, s=45, zorder=3)
        if not np.isnan(r.paper):
            ax.scatter([r.paper], [yi], marker="D", color="black", s=30, zorder=4,
                       label="the paper's difference" if yi == y[0] else None)
    ax.axvline(0, color="grey", lw=1, ls=":")
    ax.set_yticks(y, list(rec.claim))
    lo = np.nanmin(np.r_[rec.low, rec.paper, 0.0])
    hi = np.nanmax(np.r_[rec.high, rec.paper, 0.0])
    pad = 0.08 * (hi - lo or 1.0)
    ax.set_xlim(lo - pad, hi + pad)
    for yi, r in zip(y, rec.itertuples()):  # the verdict in the right margin, in the axes' own coordinates
        ax.annotate(r.verdict, (1.02, yi), xycoords=("axes fraction", "data"), va="center", fontsize=9,
                    color=palette[VERDICT_COLOURS.get(r.verdict, 7)])
    ax.set(xlabel="difference in error, A − B (pp; negative: A better)", title=title)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), fontsize=8, frameon=False)
    return save(fig, path)
