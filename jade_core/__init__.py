"""jade_core: the library behind the JADE companion book.

Banijamali, Karimi, Wong & Ghodsi, "JADE: Joint Autoencoders for Dis-Entanglement". Four sub-packages,
each importing only from the ones before it (:data:`LAYERS`; ``tests/test_layers.py`` fails on an
import that points the other way):

- :mod:`jade_core.science`: the paper's science (data, split, models, losses of Eq. 1 and 2, training
  with its restart rule, evaluation, Figure 2, swaps), with no project paths;
- :mod:`jade_core.experiments`: runs on disk, the one runner, the grids, the studies, the declared
  selection rules, the audit;
- :mod:`jade_core.reporting`: verdicts, tables, findings, the prose's numbers, figures;
- :mod:`jade_core.tooling`: the book runner, notebook helpers, the ledger of numbers, figure and site
  checks, the Sphinx extension, the command line.
"""
from .science.config import PROFILES, PROTOCOLS, VARIANTS, ConfigError, JadeError, RunConfig, resolve_config

# the sub-packages in import order, and their modules (a module's folder is its part)
LAYERS = {
    "science": ("paper", "config", "data", "split", "augment", "models", "losses", "train", "evaluate", "latent",
                "swaps", "checks"),
    "experiments": ("runs", "lifecycle", "sweep", "grid", "studies", "selection", "audit"),
    "reporting": ("verdicts", "report", "budget", "dose", "findings", "prose", "plotting", "history", "claims"),
    "tooling": ("notebook", "book", "ledger", "figcheck", "sitecheck", "sphinx_ext", "cli"),
}

__version__ = "0.3.0"  # the one place of the version (pyproject.toml reads it)
__all__ = ["ConfigError", "JadeError", "RunConfig", "resolve_config", "PROFILES", "VARIANTS", "PROTOCOLS",
           "LAYERS", "__version__"]
