"""jade_core: the library behind the JADE companion book.

Banijamali, Karimi, Wong & Ghodsi, "JADE: Joint Autoencoders for
Dis-Entanglement". The modules follow the paper:

- :mod:`jade_core.data`     MNIST and SVHN from a mirror or the official files, the tensors of a run
- :mod:`jade_core.split`    the few-label pool, validation and evaluation images of the two SVHN protocols
- :mod:`jade_core.models`   single classifier, paired classifier, JADE (Section 3)
- :mod:`jade_core.losses`   the ELBO of Eq. 1 and the objective of Eq. 2
- :mod:`jade_core.augment`  the tuned recipe's SVHN augmentation (the paper uses none)
- :mod:`jade_core.train`    training with checkpoints and resume
- :mod:`jade_core.evaluate` error rates and confusion matrices
- :mod:`jade_core.runs`     run folders on disk, loading finished runs
- :mod:`jade_core.latent`   the latent-variance analysis of Figure 2
- :mod:`jade_core.plotting` figures, written deterministically
- :mod:`jade_core.selection` the declared rules that choose settings on validation data
- :mod:`jade_core.studies`  the label-budget and tuned-recipe studies (search, choice, final runs)
- :mod:`jade_core.cli`      the ``jade`` command line
"""
from .config import PROFILES, PROTOCOLS, VARIANTS, ConfigError, JadeError, RunConfig, resolve_config

__version__ = "0.3.0"  # the one place of the version (pyproject.toml reads it)
__all__ = ["ConfigError", "JadeError", "RunConfig", "resolve_config", "PROFILES", "VARIANTS", "PROTOCOLS",
           "__version__"]
