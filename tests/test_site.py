"""Browser test of the built smoke site (:mod:`jade_core.tooling.sitecheck`): every page loads without
console errors, maths typeset, images with pixels, nothing wider than its column, no glue left.

Skipped where Chromium, Playwright or the built site are missing, unless ``JADE_REQUIRE_BROWSER=1``
(set by ``.ci/run``), which turns a skip into a failure.
"""
import os

import pytest
from jade_core.tooling import sitecheck
from jade_core.tooling.book import ROOT, site_dir, toc_chapters

SITE = site_dir("smoke")
REQUIRE = os.environ.get("JADE_REQUIRE_BROWSER") == "1"


pytestmark = pytest.mark.slow  # end to end: the README test command runs it, `-m "not slow"` skips it

@pytest.fixture(scope="module")
def problems():
    why = sitecheck.available() or (None if (SITE / "book" / "intro.html").exists() else
                                   f"no built smoke site in {SITE}: run `jade book --profile smoke` first")
    if why:
        if REQUIRE:
            pytest.fail(f"browser test required (JADE_REQUIRE_BROWSER=1) but {why}")
        pytest.skip(why)
    return sitecheck.check_site(SITE, toc_chapters(), ROOT / "_build" / "screenshots" / "smoke")


@pytest.mark.parametrize("name", toc_chapters())
def test_page_renders_cleanly(problems, name):
    assert not problems[name], f"{name}: " + "; ".join(problems[name])
