"""Experiments: runs on disk and how they are chosen.

``runs`` (folders, naming, provenance), ``lifecycle`` (train a run into its folder: reuse, resume),
``sweep`` (the one runner), ``grid`` (runs selected by configuration), ``studies``, ``selection`` (the
declared rules), ``audit``. Builds on :mod:`jade_core.science` only.
"""
