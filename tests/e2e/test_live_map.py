"""In a real browser: the first visitor of a fresh server, maps that switch heads without the server, and
live_map.js's own arithmetic (heads combined, special tokens hidden, rows rescaled) on the server's payloads."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pytest

from attnviz import capture
from attnviz.analysis.view import ViewOptions, build_view
from attnviz.cache import ByteBoundedCache
from attnviz.figures.live import LEVELS, map_payload
from scripts.browser import CANVAS_JS, wait_idle

LIVE_MAP_JS = Path(__file__).resolve().parents[2] / "ui" / "static" / "live_map.js"
# The module as Streamlit loads it (a blob URL), then its own parse, combine and visible on each choice.
DRAW_JS = """async ([source, data, views]) => {
    const js = await import(URL.createObjectURL(new Blob([source], { type: "text/javascript" })));
    const payload = js.parse(Uint8Array.from(atob(data), (c) => c.charCodeAt(0)));
    return views.map((view) => {
        const shown = js.visible(payload, js.combine(payload, view), view);
        return { R: shown.R, C: shown.C, rows: shown.rows, cols: shown.cols, matrix: Array.from(shown.matrix),
                 masked: Array.from(shown.masked) };
    });
}"""

DEEP_LINKS = [("", "Self-attention"), ("learn_induction", "Induction heads")]


@pytest.mark.parametrize(("path", "title"), DEEP_LINKS)
def test_the_first_visitor_of_a_fresh_server_sees_the_page_and_its_navigation(browser, fresh_app_url, path, title):
    page = browser.new_page()
    page.goto(f"{fresh_app_url}/{path}")
    wait_idle(page)
    assert title in page.locator("[data-testid='stMain'] h1").first.inner_text()
    assert page.get_by_text("Page not found").count() == 0
    nav = page.locator("[data-testid='stSidebarNav']").inner_text()
    assert "Causal attention" in nav and "Learn step by step" in nav  # app.py's navigation, not the file list
    assert page.get_by_text("English").count()  # and its language switch
    page.close()


def test_the_default_page_answers_to_its_file_name_too(browser, app_url):
    warm = browser.new_page()
    warm.goto(app_url)
    wait_idle(warm)
    page = browser.new_page()
    page.goto(f"{app_url}/self_attention")
    wait_idle(page)
    page.wait_for_timeout(1000)  # the notice, when there is one, comes after the page
    assert "Self-attention" in page.locator("[data-testid='stMain'] h1").first.inner_text()
    assert page.get_by_text("Page not found").count() == 0
    warm.close()
    page.close()


def test_an_idle_visitor_costs_the_server_no_cpu(browser, fresh_app_url):
    # a file watcher over a project holding its venv once kept a core busy for as long as a page was open
    import psutil

    from tests.e2e.conftest import SERVERS

    page = browser.new_page()
    page.goto(fresh_app_url)
    wait_idle(page)
    server = psutil.Process(SERVERS[fresh_app_url].process.pid)
    before = sum(server.cpu_times()[:2])
    page.wait_for_timeout(5000)
    assert sum(server.cpu_times()[:2]) - before < 1.0
    page.close()


def test_a_head_switch_redraws_in_the_browser_without_the_server(page, app_url):
    page.goto(f"{app_url}/?layer=1&head=0")  # head 0 (the page opens on another)
    wait_idle(page)
    canvas = page.locator("[data-testid='avz-live'] canvas[data-drawn]")
    assert canvas.get_attribute("data-layer") == "1" and canvas.get_attribute("data-head") == "0"
    # Click and read the canvas back in one task of the page's event loop: no websocket message can be sent or
    # handled in between, so a redraw seen here had no round trip; the choice is sent only after the click.
    drawn = page.evaluate(f"""() => {{
        const c = ({CANVAS_JS})();
        const root = c.closest('[data-testid="avz-live"]');
        const before = c.dataset.drawn;
        root.querySelector('[data-testid="avz-head-5"]').click();
        return [c.dataset.head, c.dataset.drawn !== before];
    }}""")
    assert drawn == ["5", True]
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.55)
    tip = page.locator("[data-testid='avz-live'] .avz-tip")
    assert float(tip.get_attribute("data-value")) >= 0
    wait_idle(page)  # the choice reaches the server a moment later: URL and facts follow
    page.wait_for_function("() => location.search.includes('head=5')")
    assert "L1_H5" in page.locator("[data-testid='stMain']").inner_text()


def test_the_maps_look_switches_in_the_browser_and_reaches_the_link(page, app_url):
    page.goto(f"{app_url}/?layer=2&head=0")
    wait_idle(page)
    canvas = page.locator("[data-testid='avz-live'] canvas[data-drawn]")
    drawn = canvas.get_attribute("data-drawn")
    page.locator("[data-testid='avz-colorscale']").select_option("Magma")
    assert canvas.get_attribute("data-look").startswith("Magma,auto,0")  # drawn by the change itself
    assert canvas.get_attribute("data-drawn") != drawn
    page.locator("[data-testid='avz-renorm']").check()
    assert canvas.get_attribute("data-look") == "Magma,auto,0,1"
    wait_idle(page)
    page.wait_for_function("() => location.search.includes('cs=Magma') && location.search.includes('renorm=true')")
    assert "rows add up" not in page.locator("[data-testid='stMain']").inner_text()  # rows now sum to 1
    assert canvas.get_attribute("data-shape") == "7x7"
    page.locator("[data-testid='avz-hide']").uncheck()
    assert canvas.get_attribute("data-shape") == "9x9"  # [CLS] and [SEP] back, drawn by the click itself
    assert canvas.get_attribute("data-look") == "Magma,auto,0,0"  # nothing hidden: no rows to rescale
    wait_idle(page)
    page.wait_for_function("() => location.search.includes('hide=false')")  # the page's own view follows


def test_at_512_tokens_a_layer_step_of_one_head_stays_in_the_browser(page, app_url):
    text = "+".join(["the", "train", "left", "the", "station", "on", "time"] * 80)
    page.goto(f"{app_url}/?text={text}&head=0")
    wait_idle(page)
    canvas = page.locator("[data-testid='avz-live'] canvas[data-drawn]")
    sent = canvas.get_attribute("data-sent").split()
    assert len(sent) == 17 and "L0H11" in sent and "L5H0" in sent and "L5H1" not in sent
    layer = page.locator("[data-testid='avz-layer']")
    layer.evaluate("(s) => { s.value = '4'; s.dispatchEvent(new Event('input')); }")
    assert canvas.get_attribute("data-layer") == "4"  # drawn from the payload, no round trip
    assert page.locator("[data-testid='avz-live'].avz-waiting").count() == 0


def _drawn(browser, payload: bytes, views: list[dict]) -> list[dict]:
    """What live_map.js makes of ``payload`` for each visitor's choice in ``views``."""
    page = browser.new_page()
    try:
        return page.evaluate(DRAW_JS, [LIVE_MAP_JS.read_text("utf-8"), base64.b64encode(payload).decode(), views])
    finally:
        page.close()


def _payload(result, kind, options, heads) -> bytes:
    return map_payload(result, kind, options, layer=1 if kind == "decoder" else 0, heads=heads, zoom=None,
                       n_heads=4, cache=ByteBoundedCache(1 << 26), interface={})


def _same(shown: dict, view, renorm: bool) -> None:
    matrix = np.array(shown["matrix"], dtype=float).reshape(shown["R"], shown["C"])
    assert matrix.shape == view.matrix.shape
    assert shown["rows"] == list(view.row_labels) and shown["cols"] == list(view.col_labels)
    assert (np.array(shown["masked"], dtype=bool).reshape(matrix.shape) == view.masked).all()
    # half a level per weight; a rescaled row divides it by what is left of the row
    np.testing.assert_allclose(matrix, view.matrix, atol=(20 if renorm else 4) / LEVELS, rtol=0)


@pytest.mark.parametrize("options", [ViewOptions(), ViewOptions(hide_special=False), ViewOptions(renormalise=True),
                                     ViewOptions(merge_subwords=True, renormalise=True)])
def test_the_browser_combines_heads_as_the_server_does(browser, toy_lm, options):
    result = capture(toy_lm, "the farmer saw the bridge near the city")
    views = [{"layer": 1, "head": 2, "heads": [1, 3], "mode": mode, "hide": options.hide_special,
              "renorm": options.renormalise} for mode in ("single", "mean", "max")]
    for view, shown in zip(views, _drawn(browser, _payload(result, "decoder", options, [1, 2, 3]), views)):
        heads = [view["head"]] if view["mode"] == "single" else view["heads"]
        _same(shown, build_view(result, "decoder", 1, heads, view["mode"], options), options.renormalise)


def test_the_browser_hides_a_translations_special_tokens_as_the_server_does(browser, toy_translator):
    result = capture(toy_translator, "the train left the station", target="火车 驶出 车站")
    choices = [(True, False), (True, True), (False, False)]  # (hide, renorm): rows rescale with specials hidden
    for kind in ("encoder", "cross"):
        views = [{"layer": 0, "head": 1, "heads": [1], "mode": "single", "hide": hide, "renorm": renorm}
                 for hide, renorm in choices]
        drawn = _drawn(browser, _payload(result, kind, ViewOptions(), [1]), views)
        assert drawn[0]["R"] < drawn[2]["R"]  # there were specials to hide
        for (hide, renorm), shown in zip(choices, drawn):
            options = ViewOptions(hide_special=hide, renormalise=renorm)
            _same(shown, build_view(result, kind, 0, [1], "single", options), renorm)
