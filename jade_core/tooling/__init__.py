"""The book's and the site's tooling, which assumes a checkout of this project.

``notebook`` (chapter helpers), ``book`` (the runner and the run matrix), ``ledger`` (where every number
comes from), ``figcheck``, ``sitecheck``, ``sphinx_ext``, ``cli``. Builds on the three other parts.
"""
