"""The widgets of the built book work with no kernel: moving a control shows the right frame.

Needs `make book` first (`make test` does it). Every page with a widget is
opened in headless Chromium with no network; each control of each widget is
moved (drop-downs selected, toggle buttons clicked, slider handles dragged with
the mouse: the slider ignores arrow keys in headless Chromium), and after each
move the frame on screen must be the one embedded for the controls' values:
its title names exactly the values the controls now show, and its picture is
byte for byte the picture embedded under that title. The widget scripts log no
error from the moment the page opens, and nothing logs an error while the
controls move. (Errors of the page's other scripts are tests/test_book.py's.)
"""
from __future__ import annotations

import pytest

from test_book import SITE, _require_site, browser, server  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.book, pytest.mark.xdist_group("book site")]  # one worker: its module fixtures are costly

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_PAGES = sorted(p for p in SITE.rglob("*.html") if "_static" not in p.parts
                      and WIDGET_VIEW in p.read_text(errors="replace")) if SITE.exists() else []
WIDGET_SCRIPTS = ("/@jupyter-widgets/", "/require.js", "/widgets-config.js")  # what draws the widgets
CHAPTERS_WITH_WIDGETS = {"notebooks/00_setup.html", "notebooks/02_convolution.html", "notebooks/03_conv_arithmetic.html",
                         "notebooks/04_conv_variants.html", "notebooks/05_pooling_normalization.html",
                         "notebooks/07_classic_architectures.html"}

# The widgets on the page, their controls (description and the value they show) and the frame on screen.
_WIDGETS = """() => {
  const views = Array.from(document.querySelectorAll('script[type="%s"]'));
  return views.map((script, w) => {
    const root = script.parentElement;
    const controls = Array.from(root.querySelectorAll('.widget-dropdown, .widget-toggle-buttons, .widget-slider'))
      .map((el, c) => {
        el.dataset.testControl = w + '-' + c;
        const label = el.querySelector('.widget-label');
        let kind = 'slider', value = null, options = [];
        if (el.classList.contains('widget-dropdown')) {
          kind = 'dropdown'; const s = el.querySelector('select');
          value = s.selectedOptions.length ? s.selectedOptions[0].text : null;
          options = Array.from(s.options).map(o => o.text);
        } else if (el.classList.contains('widget-toggle-buttons')) {
          kind = 'toggle'; const on = el.querySelector('button.mod-active');
          value = on ? on.textContent.trim() : null;
          options = Array.from(el.querySelectorAll('button')).map(b => b.textContent.trim());
        } else {
          const r = el.querySelector('.widget-readout'); value = r ? (r.value || r.textContent).trim() : null;
        }
        return {id: el.dataset.testControl, kind, description: label ? label.textContent.trim() : '', value, options};
      });
    const frames = Array.from(root.querySelectorAll('[title]'))
      .filter(e => e.querySelector('img') && e.getClientRects().length > 0);
    return {controls, frames: frames.map(f => f.title)};
  });
}""" % WIDGET_VIEW

# The picture on screen under a frame title, and the one embedded for that title in the page's widget state.
_PICTURES = """async (title) => {
  const frame = Array.from(document.querySelectorAll('[title]'))
    .find(e => e.title === title && e.querySelector('img') && e.getClientRects().length > 0);
  const shownBlob = await (await fetch(frame.querySelector('img').src)).arrayBuffer();
  const shown = btoa(Array.from(new Uint8Array(shownBlob), b => String.fromCharCode(b)).join(''));
  const states = Array.from(document.querySelectorAll('script[type="application/vnd.jupyter.widget-state+json"]'))
    .map(s => JSON.parse(s.textContent).state);
  const models = Object.assign({}, ...states);
  const embedded = Object.values(models).filter(m => m.state.tooltip === title).map(m => {
    const image = m.state.children.map(c => models[c.replace('IPY_MODEL_', '')])
      .find(c => c && c.model_name === 'ImageModel');
    return image && image.buffers ? image.buffers[0].data : null;
  });
  return {shown, embedded};
}"""


def _parse(title: str) -> dict[str, str]:
    return dict(part.split(": ", 1) for part in title.split(", "))


def _targets(control: dict) -> list:
    """The moves to try: every option of a short list, else the last, first and middle one."""
    if control["kind"] == "slider":
        return [1.0, 0.0, 0.5]
    n = len(control["options"])
    indices = range(n) if n <= 5 else [n - 1, 0, n // 2]
    return [i for i in indices if control["options"][i] != control["value"]] or [0]


def _move(tab, control: dict, target) -> None:
    element = tab.locator(f'[data-test-control="{control["id"]}"]')
    element.scroll_into_view_if_needed()
    if control["kind"] == "dropdown":
        element.locator("select").select_option(index=target)
    elif control["kind"] == "toggle":
        element.locator("button").nth(target).click()
    else:
        handle = element.locator(".noUi-handle").bounding_box()
        track = element.locator(".noUi-target").bounding_box()
        y = handle["y"] + handle["height"] / 2
        tab.mouse.move(handle["x"] + handle["width"] / 2, y)
        tab.mouse.down()
        tab.mouse.move(track["x"] + target * track["width"], y, steps=8)
        tab.mouse.up()


def _check_frame(tab, w: int, where: str) -> str:
    """The frame on screen names exactly the controls' values, and shows the picture embedded for them."""
    for _ in range(50):  # the widget manager redraws asynchronously
        state = tab.evaluate(_WIDGETS)[w]
        # Buttons show their labels with non-breaking spaces ("masked\xa0B"); the frame titles use plain ones.
        shown = {c["description"]: (c["value"] or "").replace("\xa0", " ") for c in state["controls"]}
        if len(state["frames"]) == 1 and _parse(state["frames"][0]) == shown:
            break
        tab.wait_for_timeout(100)
    assert state["frames"], (f"{where}: widget {w} shows no precomputed frame, so its controls cannot change what it "
                             "shows on the static site (build the book with CNNLIB_STATIC_WIDGETS=1)")
    assert len(state["frames"]) == 1, f"{where}: widget {w} shows {len(state['frames'])} frames at once"
    assert _parse(state["frames"][0]) == shown, f"{where}: the frame shown is {state['frames'][0]!r}, the controls say {shown}"
    pictures = tab.evaluate(_PICTURES, state["frames"][0])
    assert pictures["embedded"] and all(p == pictures["shown"] for p in pictures["embedded"]), (
        f"{where}: the picture on screen is not the one embedded for {state['frames'][0]!r}")
    return pictures["shown"]


def test_the_chapters_with_widgets_are_built():
    _require_site()
    assert CHAPTERS_WITH_WIDGETS <= {p.relative_to(SITE).as_posix() for p in WIDGET_PAGES}


@pytest.mark.parametrize("page", WIDGET_PAGES, ids=lambda p: p.relative_to(SITE).as_posix())
def test_every_control_shows_the_right_frame(page, server, browser):  # noqa: F811
    tab = browser.new_page(viewport={"width": 1280, "height": 900})
    logged: list[tuple[str, str]] = []  # (message, where it came from), from the start
    moving: list[str] = []  # anything logged once the controls move
    tab.on("console", lambda m: m.type == "error" and logged.append((m.text, m.location.get("url", ""))))
    tab.on("pageerror", lambda e: logged.append((str(e), e.stack or "")))
    tab.route("**/*", lambda route: route.continue_() if route.request.url.startswith(server) else route.abort())
    try:
        tab.goto(f"{server}/{page.relative_to(SITE).as_posix()}", wait_until="networkidle")
        tab.wait_for_function("() => document.querySelectorAll('.jupyter-widgets .widget-image, "
                              ".jupyter-widgets .widget-dropdown, .jupyter-widgets .widget-slider').length > 0",
                              timeout=30_000)
        views = tab.locator(f'script[type="{WIDGET_VIEW}"]')
        for v in range(views.count()):  # the manager finishes drawing (and typesetting) a widget once it is shown
            views.nth(v).locator("xpath=..").scroll_into_view_if_needed()
        tab.wait_for_timeout(1000)
        loaded = len(logged)
        widgets = tab.evaluate(_WIDGETS)
        assert widgets, f"{page.name}: no widget drawn"
        for w, widget in enumerate(widgets):
            assert widget["controls"], f"{page.name}: widget {w} has no controls"
            pictures = {_check_frame(tab, w, f"{page.name} as loaded")}
            for control in widget["controls"]:
                reached = {}
                for target in _targets(control):
                    control = next(c for c in tab.evaluate(_WIDGETS)[w]["controls"] if c["id"] == control["id"])
                    before = control["value"]
                    _move(tab, control, target)
                    where = f"{page.name}: {control['description']} moved from {before!r} towards {target!r}"
                    pictures.add(_check_frame(tab, w, where))
                    after = next(c for c in tab.evaluate(_WIDGETS)[w]["controls"] if c["id"] == control["id"])
                    reached[target] = after["value"]
                    if control["kind"] != "slider":
                        assert after["value"] != before, f"{where}: the control did not move"
                if control["kind"] == "slider":  # dragged to both ends, it shows two values
                    assert reached[0.0] != reached[1.0], f"{page.name}: {control['description']} did not move"
            assert len(pictures) > 1, f"{page.name}: widget {w}'s picture never changed"
        moving = [text for text, _ in logged[loaded:]]
    finally:
        tab.close()
    from_widgets = [text for text, where in logged if any(script in where for script in WIDGET_SCRIPTS)]
    assert not from_widgets, f"{page.name}: the widget scripts logged errors: {from_widgets[:5]}"
    assert not moving, f"{page.name}: errors while the controls moved: {moving[:5]}"

