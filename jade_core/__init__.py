"""jade_core: the library behind the JADE companion book.

Banijamali, Karimi, Wong & Ghodsi, "JADE: Joint Autoencoders for Dis-Entanglement". Four parts, each
importing only from the parts above it (:data:`LAYERS`; ``tests/test_layers.py`` fails on an import
that points the other way):

**The paper's science**: what the paper describes, and nothing about this project's folders.
``paper`` (its numbers, quoted), ``config`` (a run's settings), ``data`` and ``split`` (MNIST, SVHN,
the few-label pool and the local protocol), ``augment``, ``models`` (Section 3), ``losses`` (Eq. 1
and 2), ``train`` (the loop and its restart rule), ``evaluate``, ``latent`` (Figure 2), ``swaps``,
``checks`` (the numerical checks of the derivation).

**Experiments**: runs on disk and how they are chosen. ``runs`` (folders, naming, provenance),
``lifecycle`` (train a run into its folder: reuse, resume), ``sweep`` (the one runner), ``grid``
(runs selected by configuration), ``studies``, ``selection`` (the declared rules), ``audit``.

**Reporting**: what the runs say. ``verdicts`` (the rule against the paper's effect), ``report``
(Table 1 and its claims), ``budget``, ``findings`` (every chapter's numbers and sentences),
``prose`` (the numbers the prose quotes), ``plotting``.

**The book's tooling**: ``notebook`` (chapter helpers), ``book`` (the runner and the run matrix),
``ledger`` (where every number comes from), ``figcheck``, ``sitecheck``, ``sphinx_ext``, ``cli``.
"""
from .config import PROFILES, PROTOCOLS, VARIANTS, ConfigError, JadeError, RunConfig, resolve_config

LAYERS = {
    "science": ("paper", "config", "data", "split", "augment", "models", "losses", "train", "evaluate", "latent",
                "swaps", "checks"),
    "experiments": ("runs", "lifecycle", "sweep", "grid", "studies", "selection", "audit"),
    "reporting": ("verdicts", "report", "budget", "findings", "prose", "plotting"),
    "tooling": ("notebook", "book", "ledger", "figcheck", "sitecheck", "sphinx_ext", "cli"),
}

__version__ = "0.3.0"  # the one place of the version (pyproject.toml reads it)
__all__ = ["ConfigError", "JadeError", "RunConfig", "resolve_config", "PROFILES", "VARIANTS", "PROTOCOLS",
           "LAYERS", "__version__"]
