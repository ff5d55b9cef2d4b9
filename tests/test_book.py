"""The built HTML book, opened in headless Chromium with no network.

Needs `make book` first (`make test` does it). Checks, page by page: every
formula is typeset by the site's own MathJax (no raw TeX left), every
embedded widget is drawn by the site's own widget manager, every image loads,
nothing is fetched from outside, and every internal link and anchor resolves.
"""
from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "_build" / "html"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SKIP_DIRS = {"_static", "_sources", "_images"}
PAGES = sorted(
    p for p in SITE.rglob("*.html")
    if not SKIP_DIRS & set(p.relative_to(SITE).parts) and p.name not in {"search.html", "genindex.html"}
) if SITE.exists() else []

pytestmark = pytest.mark.book


def _require_site():
    if not (SITE / "index.html").exists():
        pytest.fail("the book is not built: run `make book` (or `make test`, which builds it first)")


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])
        if tag in ("img", "script") and attrs.get("src"):
            self.hrefs.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.hrefs.append(attrs["href"])


@functools.lru_cache(maxsize=None)
def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(errors="replace"))
    return parser


def test_site_has_the_expected_pages():
    _require_site()
    names = {p.relative_to(SITE).as_posix() for p in PAGES}
    assert {"book/intro.html", "notebooks/00_setup.html"} <= names
    assert len(PAGES) >= 3


def test_every_internal_link_and_anchor_resolves():
    _require_site()
    broken = []
    for page in PAGES:
        for href in _parse(page).hrefs:
            parts = urlsplit(href)
            if parts.scheme or href.startswith(("//", "mailto:", "javascript:")):
                continue
            target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(SITE)}: {href} (no such file)")
            elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in _parse(target).ids:
                broken.append(f"{page.relative_to(SITE)}: {href} (no such anchor)")
    assert not broken, "broken internal links:\n" + "\n".join(broken)


def test_vendored_scripts_are_served_locally():
    _require_site()
    html = (SITE / "notebooks" / "00_setup.html").read_text()
    assert re.search(r'src="\.\./_static/mathjax/tex-chtml\.js', html), "MathJax must come from the site itself"
    assert "@jupyter-widgets/html-manager/dist/embed-amd.js" in html
    assert "cdn.jsdelivr" not in html and "cdnjs.cloudflare" not in html


@pytest.fixture(scope="module")
def server():
    _require_site()
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing in CI: scripts/install-system.sh should have installed it")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield b
        b.close()


_PAGE_STATE = """() => {
  const article = document.querySelector('article') || document.body;
  const clone = article.cloneNode(true);
  clone.querySelectorAll('pre, code, mjx-container, script, .highlight').forEach(e => e.remove());
  const views = Array.from(document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]'));
  return {
    text: clone.innerText,
    mathSource: document.querySelectorAll('.math').length,
    mathTypeset: document.querySelectorAll('mjx-container').length,
    widgetViews: views.length,
    widgetsDrawn: views.filter(s => s.parentElement.querySelector('.jupyter-widgets')).length,
    brokenImages: Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src),
  };
}"""


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(SITE).as_posix())
def test_page_renders_offline(page, server, browser):
    tab = browser.new_page(viewport={"width": 1280, "height": 900})
    external, failed = [], []

    def offline(route):
        if route.request.url.startswith(server):
            route.continue_()
        else:
            external.append(route.request.url)
            route.abort()

    tab.route("**/*", offline)
    tab.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
    try:
        tab.goto(f"{server}/{page.relative_to(SITE).as_posix()}", wait_until="networkidle")
        tab.evaluate("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
        tab.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
        tab.wait_for_load_state("networkidle")
        state = tab.evaluate(_PAGE_STATE)
    finally:
        tab.close()
    assert not external, f"the page fetched from outside the site: {external}"
    assert not failed, f"failed requests: {failed}"
    assert state["mathTypeset"] >= state["mathSource"], state
    raw_tex = re.findall(r"\$\$|\\\(|\\\[|\\begin\{|\\frac|\\mathbf|\\sum", state["text"])
    assert not raw_tex, f"raw TeX left in the rendered page: {raw_tex[:5]}"
    assert state["widgetsDrawn"] == state["widgetViews"], f"{state['widgetViews'] - state['widgetsDrawn']} widget(s) not drawn"
    assert not state["brokenImages"], f"images that did not load: {state['brokenImages']}"


def test_book_has_math_and_widgets_somewhere(server, browser):
    """Guards the checks above against passing vacuously."""
    tab = browser.new_page()
    tab.goto(f"{server}/notebooks/00_setup.html", wait_until="networkidle")
    tab.evaluate("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
    state = tab.evaluate(_PAGE_STATE)
    tab.close()
    assert state["mathSource"] >= 1 and state["mathTypeset"] >= 1
    assert state["widgetViews"] >= 1 and state["widgetsDrawn"] >= 1
