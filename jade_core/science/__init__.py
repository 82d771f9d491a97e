"""The paper's science: what the paper describes, and nothing about this project's folders.

``paper`` (its numbers, quoted), ``config`` (a run's settings), ``data`` and ``split`` (MNIST, SVHN, the
few-label pool and the local protocol), ``augment``, ``models`` (Section 3), ``losses`` (Eq. 1 and 2),
``train`` (the loop and its restart rule), ``evaluate``, ``latent`` (Figure 2), ``swaps``, ``checks``
(the numerical checks of the derivation). Imports nothing from the other three parts.
"""
