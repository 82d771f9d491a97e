"""Reporting: what the runs say.

``verdicts`` (the rule against the paper's effect), ``report`` (Table 1 and its claims), ``budget``, ``dose``
(the w_match dose-response),
``findings`` (every chapter's numbers and sentences), ``prose`` (the numbers the prose quotes),
``plotting``. Builds on :mod:`jade_core.science` and :mod:`jade_core.experiments`.
"""
