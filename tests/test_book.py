"""The built HTML book, opened in headless Chromium with no network.

Needs `make book` first (`make test` does it). Checks, page by page: every
formula is typeset by the site's own MathJax (no raw TeX left), every
embedded widget is drawn by the site's own widget manager, every image loads,
nothing is fetched from outside, and every internal link and anchor resolves.
A reader's view of the page: nothing logs an error to the console; on a
phone (390 px) the table of contents opens and its links navigate, and on a
desktop the menu button hides and shows it; at 1280 px no code or output
block scrolls sideways and no figure is shrunk far below the width it was
drawn at; each chapter page links to Colab through a local badge.

``BOOK_SITE=path`` points the tests at another built site (for example an
older build, to see what a check reports there).
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
from urllib.parse import unquote, urljoin, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
SITE = Path(os.environ.get("BOOK_SITE", ROOT / "_build" / "html")).resolve()
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SKIP_DIRS = {"_static", "_sources", "_images"}
PAGES = sorted(
    p for p in SITE.rglob("*.html")
    if not SKIP_DIRS & set(p.relative_to(SITE).parts) and p.name not in {"search.html", "genindex.html"}
) if SITE.exists() else []
# The pages a reader reads (index.html only redirects to the introduction).
READ_PAGES = [p for p in PAGES if 'http-equiv="Refresh"' not in p.read_text(errors="replace")[:2000]]

pytestmark = [pytest.mark.book, pytest.mark.xdist_group("book site")]  # one worker: its module fixtures are costly


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
    httpd = _QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a tab closed while a file was still being sent


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


# What a reader meets at 1280 px: blocks of code or output that scroll sideways
# (innermost ones only, so a <pre> inside a scrolling output counts once), and
# figures drawn much wider than they are shown (their text shrinks with them).
_LAYOUT = """(factor) => {
  const article = document.querySelector('article') || document.body;
  const blocks = Array.from(article.querySelectorAll(
    'pre, .output, .cell_output, table, .pst-scrollable-table-container, .table-wrapper, div.highlight'));
  const wide = blocks.filter(e => e.clientWidth > 0 && e.scrollWidth - e.clientWidth > 4);
  const innermost = wide.filter(e => !wide.some(o => o !== e && e.contains(o)));
  const label = e => {
    const cls = (e.className && typeof e.className === 'string') ? '.' + e.className.split(' ')[0] : '';
    const text = (e.innerText || '').trim().split('\\n')[0].slice(0, 50);
    return `${e.tagName.toLowerCase()}${cls} +${e.scrollWidth - e.clientWidth}px: ${text}`;
  };
  const shown = img => img.getBoundingClientRect().width;
  const shrunk = Array.from(article.querySelectorAll('img'))
    .filter(i => i.naturalWidth > 0 && shown(i) > 0 && shown(i) * factor < i.naturalWidth)
    .map(i => `${(i.getAttribute('src') || '').split('/').pop().slice(0, 60)}: drawn ${i.naturalWidth}px, shown ${Math.round(shown(i))}px`);
  return {overflowing: innermost.map(label), shrunk};
}"""

# A figure may be shown down to 1/SHRINK_LIMIT of the width it was drawn at.
SHRINK_LIMIT = 1.25

_VISITS: dict[Path, dict] = {}


def _visit(page: Path, server: str, browser) -> dict:
    """Open ``page`` once at 1280 px with no network; everything the tests below check."""
    if page in _VISITS:
        return _VISITS[page]
    tab = browser.new_page(viewport={"width": 1280, "height": 900})
    external, failed, errors = [], [], []

    def offline(route):
        if route.request.url.startswith(server):
            route.continue_()
        else:
            external.append(route.request.url)
            route.abort()

    tab.route("**/*", offline)
    tab.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
    tab.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    tab.on("console", lambda m: m.type == "error" and errors.append(f"console.error: {m.text}"))
    try:
        tab.goto(f"{server}/{page.relative_to(SITE).as_posix()}", wait_until="networkidle")
        tab.evaluate("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
        tab.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
        tab.wait_for_load_state("networkidle")
        state = tab.evaluate(_PAGE_STATE)
        state.update(tab.evaluate(_LAYOUT, SHRINK_LIMIT))
    finally:
        tab.close()
    state.update(external=external, failed=failed, errors=errors)
    _VISITS[page] = state
    return state


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(SITE).as_posix())
def test_page_renders_offline(page, server, browser):
    state = _visit(page, server, browser)
    assert not state["external"], f"the page fetched from outside the site: {state['external']}"
    assert not state["failed"], f"failed requests: {state['failed']}"
    assert state["mathTypeset"] >= state["mathSource"], state
    raw_tex = re.findall(r"\$\$|\\\(|\\\[|\\begin\{|\\frac|\\mathbf|\\sum", state["text"])
    assert not raw_tex, f"raw TeX left in the rendered page: {raw_tex[:5]}"
    assert state["widgetsDrawn"] == state["widgetViews"], f"{state['widgetViews'] - state['widgetsDrawn']} widget(s) not drawn"
    assert not state["brokenImages"], f"images that did not load: {state['brokenImages']}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(SITE).as_posix())
def test_page_logs_no_console_errors(page, server, browser):
    errors = _visit(page, server, browser)["errors"]
    assert not errors, f"{len(errors)} console error(s):\n" + "\n".join(e[:300] for e in errors)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(SITE).as_posix())
def test_no_code_or_output_block_scrolls_sideways(page, server, browser):
    wide = _visit(page, server, browser)["overflowing"]
    assert not wide, f"{len(wide)} block(s) scroll sideways at 1280 px:\n" + "\n".join(wide)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(SITE).as_posix())
def test_no_figure_is_shrunk_below_its_drawn_width(page, server, browser):
    shrunk = _visit(page, server, browser)["shrunk"]
    assert not shrunk, (f"{len(shrunk)} figure(s) shown at less than 1/{SHRINK_LIMIT} of the width they were "
                        "drawn at (draw them at the column's width):\n" + "\n".join(shrunk))


# The contents are shown either in the sidebar (desktop) or, on a narrow
# screen, moved by the theme into a modal dialog.
_SIDEBAR = """() => {
  const onScreen = e => {
    const r = e.getBoundingClientRect();
    return r.width > 1 && r.height > 1 && r.right > 1 && r.left < window.innerWidth
      && getComputedStyle(e).visibility !== 'hidden';
  };
  const bar = document.getElementById('pst-primary-sidebar');
  const modal = document.getElementById('pst-primary-sidebar-modal');
  const box = [bar, modal].find(e => e && onScreen(e));
  const links = box ? Array.from(box.querySelectorAll('nav a.reference.internal'))
    .filter(a => onScreen(a) && a.href.split('#')[0] !== location.href.split('#')[0]) : [];
  return {shown: !!box && box.querySelectorAll('nav a').length > 0,
          box: box ? '#' + box.id : null,
          link: links.length ? links[0].getAttribute('href') : null};
}"""


def _visible_toggle(tab):
    toggles = [b for b in tab.query_selector_all(".primary-toggle") if b.is_visible()]
    assert toggles, "no visible button opens the table of contents"
    return toggles[0]


@pytest.mark.parametrize("page", READ_PAGES, ids=lambda p: p.relative_to(SITE).as_posix())
def test_phone_reader_opens_the_contents_and_follows_a_link(page, server, browser):
    tab = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        tab.goto(f"{server}/{page.relative_to(SITE).as_posix()}", wait_until="load")
        assert not tab.evaluate(_SIDEBAR)["shown"], "at 390 px the contents should start closed"
        _visible_toggle(tab).click()
        tab.wait_for_timeout(400)
        state = tab.evaluate(_SIDEBAR)
        assert state["shown"], "the menu button did not open the table of contents at 390 px"
        assert state["link"], "the opened table of contents shows no link to another page"
        target = tab.locator(f'{state["box"]} nav a[href="{state["link"]}"]').first
        expected = urljoin(tab.url, state["link"]).split("#")[0]
        with tab.expect_navigation(wait_until="load"):
            target.click()
        assert tab.url.split("#")[0] == expected, f"following {state['link']} led to {tab.url}"
    finally:
        tab.close()


@pytest.mark.parametrize("page", READ_PAGES, ids=lambda p: p.relative_to(SITE).as_posix())
def test_desktop_menu_button_toggles_the_contents(page, server, browser):
    tab = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        tab.goto(f"{server}/{page.relative_to(SITE).as_posix()}", wait_until="load")
        assert tab.evaluate(_SIDEBAR)["shown"], "at 1280 px the contents should start open"
        searches = [b for b in tab.query_selector_all(".search-button-field, input[type=search]") if b.is_visible()]
        assert len(searches) <= 1, f"{len(searches)} search boxes are visible"
        header = tab.query_selector("#pst-header")
        assert header is None or not header.is_visible(), "an empty top bar is shown above the page"
        _visible_toggle(tab).click()
        tab.wait_for_timeout(400)
        assert not tab.evaluate(_SIDEBAR)["shown"], "the menu button did not hide the contents"
        _visible_toggle(tab).click()
        tab.wait_for_timeout(400)
        assert tab.evaluate(_SIDEBAR)["shown"], "the menu button did not bring the contents back"
    finally:
        tab.close()


def test_every_chapter_links_to_colab_with_a_local_badge():
    _require_site()
    chapters = [p for p in PAGES if p.parent.name == "notebooks"]
    assert chapters
    for page in chapters:
        html = page.read_text()
        link = re.search(r'<a[^>]+href="https://colab\.research\.google\.com/github/[^"]+/' + re.escape(page.stem)
                         + r'\.ipynb"[^>]*>\s*<img[^>]+src="([^"]+)"[^>]*alt="([^"]+)"', html)
        assert link, f"{page.name}: no Open-in-Colab badge links to its notebook"
        src, alt = link.groups()
        assert not urlsplit(src).scheme and (page.parent / src).resolve().exists(), f"{page.name}: badge image {src} is not local"
        assert "Colab" in alt


def test_book_has_math_and_widgets_somewhere(server, browser):
    """Guards the checks above against passing vacuously."""
    tab = browser.new_page()
    tab.goto(f"{server}/notebooks/00_setup.html", wait_until="networkidle")
    tab.evaluate("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
    state = tab.evaluate(_PAGE_STATE)
    tab.close()
    assert state["mathSource"] >= 1 and state["mathTypeset"] >= 1
    assert state["widgetViews"] >= 1 and state["widgetsDrawn"] >= 1


def test_pages_give_the_repository_address_from_config():
    _require_site()
    from cnnlib.notebooks import repository

    url, _ = repository()
    intro = re.sub(r"<[^>]+>", "", (SITE / "book" / "intro.html").read_text())
    assert f"git clone {url}" in intro
    left = [p.name for p in PAGES if "repository_url }}" in p.read_text(errors="replace")]
    assert not left, f"unreplaced repository_url in {left}"
