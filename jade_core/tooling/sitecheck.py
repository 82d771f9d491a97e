"""Look at the built site in a browser: headless Chromium (Debian's package) driven by Playwright.

For every page of the table of contents: it loads without console errors,
MathJax typeset every formula (no raw ``$$``/``\\(`` left, no error node),
every image has pixels, nothing widens the page beyond its column (a table may
scroll in its own box), and no glue placeholder is left. A full-page
screenshot of each goes to ``_build/screenshots/<profile>/``. Every request
outside the local server is blocked. Used by the tests (smoke site) and by
``jade book`` (any profile) when Chromium is present.
"""
from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]

WIDE_JS = """() => {
    const main = document.querySelector('main') || document.body;
    const limit = main.getBoundingClientRect().right + 1;
    return [...main.querySelectorAll('*')].filter(e => {
        const r = e.getBoundingClientRect();
        if (r.right <= limit || r.width === 0) return false;
        for (let p = e.parentElement; p && p !== main; p = p.parentElement) {
            if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(p).overflowX)) return false;
        }
        return true;
    }).slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + (e.textContent || '').slice(0, 40));
}"""


def chromium() -> str | None:
    """Path of a Chromium binary, or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@functools.lru_cache(maxsize=None)
def available() -> str | None:
    """None when a browser check can run here, else why not."""
    if not chromium():
        return "Chromium is not installed (Debian: apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    return None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # one line per request would bury the check's own output
        pass


class serve:
    """Serve ``folder`` on 127.0.0.1 (a free port) while the ``with`` block runs; yields the base URL."""

    def __init__(self, folder):
        handler = functools.partial(_QuietHandler, directory=str(folder))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_port}"

    def __exit__(self, *exc):
        self.server.shutdown()


# Glued numbers read as text: in the sentence's own weight, bold only where the sentence is (a strong, a heading).
HEAVY_NUMBERS_JS = """() => [...document.querySelectorAll('a.number-source')].filter(a =>
    !a.closest('strong, b, th, h1, h2, h3, h4, h5, h6') &&
    parseInt(getComputedStyle(a.firstElementChild || a).fontWeight) > 500).slice(0, 3).map(a => a.textContent)"""
# The article's words, tables, code, figures and the re-run box aside: what a reader reads as prose.
WORDS_JS = """() => { const m = (document.querySelector('main article') || document.querySelector('main')).cloneNode(true);
    m.querySelectorAll('table, pre, .cell_input, figure, .output, script, style, blockquote').forEach(e => e.remove());
    return (m.innerText.match(/\\S+/g) || []).length; }"""
# The longest a page may be, in words of prose (WORDS_JS): the front page is read in two minutes; the appendix
# and the numbers page (a reference list) have no limit.
WORD_LIMITS = {"intro": 700}
WORD_LIMIT = 1500
NO_WORD_LIMIT = ("history", "numbers")


def check_page(browser, base: str, name: str, screenshots: Path, word_counts: dict | None = None) -> list:
    """Problems of one page (empty list: clean); writes its screenshot."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors, missing = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: missing.append(r.url) if r.status >= 400 else None)
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base) else route.abort())
    page.goto(f"{base}/book/{name}.html", wait_until="load")
    page.wait_for_function("() => !window.MathJax || (window.MathJax.startup && window.MathJax.startup.promise)")
    page.evaluate("() => window.MathJax && window.MathJax.startup ? window.MathJax.startup.promise : null")
    screenshots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)
    main = page.inner_text("main")
    # the browser asks for /favicon.ico by itself (not a page response; the book has none): a
    # "Failed to load resource" with no failed page resource behind it is that request
    if all(u.endswith("/favicon.ico") for u in missing):
        errors = [e for e in errors if not e.startswith("Failed to load resource")]
    problems = [f"console errors: {errors}"] if errors else []
    if "$$" in main or "\\(" in main or "\\[" in main:
        problems.append("raw TeX left untypeset")
    if page.locator("mjx-merror").count():
        problems.append("MathJax error node")
    if "glue:" in main or "missing glue" in main.lower():
        problems.append("glue placeholder left")
    broken = page.evaluate("() => [...document.images].filter(i => !(i.naturalWidth > 0)).map(i => i.src)")
    if broken:
        problems.append(f"images without pixels: {broken}")
    wide = page.evaluate(WIDE_JS)
    if wide:
        problems.append(f"content wider than the column: {wide}")
    heavy = page.evaluate(HEAVY_NUMBERS_JS)
    if heavy:
        problems.append(f"glued numbers in bold outside a bold sentence: {heavy}")
    words = page.evaluate(WORDS_JS)
    if word_counts is not None:
        word_counts[name] = words
    limit = WORD_LIMITS.get(name, WORD_LIMIT)
    if name not in NO_WORD_LIMIT and words > limit:
        problems.append(f"{words} words of prose, more than the {limit} this page may have")
    page.close()
    return problems


def check_site(site: Path, pages, screenshots: Path, word_counts: dict | None = None) -> dict:
    """``{page: problems}`` for every page name in ``pages`` of the built ``site``; ``word_counts``, when given,
    receives each page's words of prose."""
    from playwright.sync_api import sync_playwright  # the browser check's extra
    with serve(site) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            return {name: check_page(browser, base, name, screenshots, word_counts) for name in pages}
        finally:
            browser.close()
