"""Browser test of the built smoke site: headless Chromium (Debian's package) driven by Playwright,
with every request outside the local server blocked.

Checks per page: it loads without console errors, MathJax typeset every formula (no raw ``$$`` or
``\\(`` left, no MathJax error node), every image has pixels, nothing widens the page beyond its
column, and no glue placeholder is left. A screenshot of each page goes to ``_build/screenshots/``.
Skipped where Chromium, Playwright or the built site are missing, unless ``JADE_REQUIRE_BROWSER=1``
(set by ``.ci/run``), which turns a skip into a failure.
"""
import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

from jade_core.book import site_dir, toc_chapters

ROOT = Path(__file__).resolve().parents[1]
SITE = site_dir("smoke")
REQUIRE = os.environ.get("JADE_REQUIRE_BROWSER") == "1"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _missing(why):
    if REQUIRE:
        pytest.fail(f"browser test required (JADE_REQUIRE_BROWSER=1) but {why}")
    pytest.skip(why)


@pytest.fixture(scope="module")
def site_url():
    if not (SITE / "book" / "intro.html").exists():
        _missing(f"no built smoke site in {SITE}: run `jade book --profile smoke` first")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM:
        _missing("Chromium is not installed (Debian: apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic"])
        yield b
        b.close()


@pytest.mark.parametrize("name", toc_chapters())
def test_page_renders_cleanly(browser, site_url, name):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    missing = []
    page.on("response", lambda r: missing.append(r.url) if r.status >= 400 else None)
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(site_url) else route.abort())
    page.goto(f"{site_url}/book/{name}.html", wait_until="load")
    page.wait_for_function("() => !window.MathJax || (window.MathJax.startup && window.MathJax.startup.promise)")
    page.evaluate("() => window.MathJax && window.MathJax.startup ? window.MathJax.startup.promise : null")
    shots = ROOT / "_build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    main = page.inner_text("main")
    problems = []
    # the browser asks for /favicon.ico by itself (not a page response; the book has none): a
    # "Failed to load resource" with no failed page resource behind it is that request
    if all(u.endswith("/favicon.ico") for u in missing):
        errors = [e for e in errors if not e.startswith("Failed to load resource")]
    if errors:
        problems.append(f"console errors: {errors}")
    if "$$" in main or "\\(" in main or "\\[" in main:
        problems.append("raw TeX left untypeset")
    if page.locator("mjx-merror").count():
        problems.append("MathJax error node")
    if "glue:" in main or "missing glue" in main.lower():
        problems.append("glue placeholder left")
    broken = page.evaluate("() => [...document.images].filter(i => !(i.naturalWidth > 0)).map(i => i.src)")
    if broken:
        problems.append(f"images without pixels: {broken}")
    wide = page.evaluate("""() => {
        const main = document.querySelector('main') || document.body;
        const limit = main.getBoundingClientRect().right + 1;
        return [...main.querySelectorAll('*')].filter(e => {
            const r = e.getBoundingClientRect();
            if (r.right <= limit || r.width === 0) return false;
            for (let p = e.parentElement; p && p !== main; p = p.parentElement) {
                const s = getComputedStyle(p);
                if (['auto', 'scroll', 'hidden'].includes(s.overflowX)) return false;
            }
            return true;
        }).slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + (e.textContent || '').slice(0, 40));
    }""")
    if wide:
        problems.append(f"content wider than the column: {wide}")
    page.close()
    assert not problems, f"{name}: " + "; ".join(problems)
