"""A user in a browser: types a sentence, changes layer and head, sees the map change, downloads a PNG."""

from __future__ import annotations

import pytest

from scripts.browser import wait_idle

pytestmark = pytest.mark.e2e


def _svg_texts(page, selector: str) -> list[str]:
    """Text of SVG nodes in the first chart (inner_text only works on HTML elements)."""
    page.wait_for_selector(f"[data-testid='stPlotlyChart'] {selector}", state="attached", timeout=60_000)
    return page.locator(f"[data-testid='stPlotlyChart'] {selector}").evaluate_all(
        "nodes => nodes.map(n => n.textContent)")


def _chart_title(page) -> str:
    return _svg_texts(page, ".gtitle")[0]


def _x_ticks(page) -> list[str]:
    return _svg_texts(page, ".xtick text")


def _map(page) -> dict:
    """The browser map's current choice and labels, as its canvas and header hold them."""
    page.wait_for_selector("[data-testid='avz-live'] canvas[data-drawn]", state="attached", timeout=60_000)
    canvas = page.locator("[data-testid='avz-live'] canvas[data-drawn]")
    return {"layer": canvas.get_attribute("data-layer"), "head": canvas.get_attribute("data-head"),
            "title": page.locator("[data-testid='avz-live'] .avz-title").inner_text(),
            "pixels": canvas.evaluate("c => c.toDataURL()")}


def test_type_change_layer_and_head_then_download_png(page, app_url, shots_dir):
    page.goto(app_url)
    wait_idle(page)
    assert _map(page)["layer"] == "0"
    page.screenshot(path=str(shots_dir / "e2e-1-default.png"), full_page=True)

    text = page.locator("[data-testid='stSidebar'] textarea")
    text.fill("The cat sat on the warm mat")
    text.press("Control+Enter")
    wait_idle(page)
    before = _map(page)["pixels"]

    layer = page.locator("[data-testid='avz-layer']")
    layer.focus()
    for _ in range(2):
        layer.press("ArrowRight")
    after_layer = _map(page)
    assert after_layer["layer"] == "2"
    page.locator("[data-testid='avz-head-3']").click()
    after_head = _map(page)
    assert after_head["head"] == "3"
    assert before != after_layer["pixels"] != after_head["pixels"]
    page.wait_for_function("() => location.search.includes('layer=2') && location.search.includes('head=3')")
    wait_idle(page)
    page.screenshot(path=str(shots_dir / "e2e-2-layer2-head3.png"), full_page=True)

    with page.expect_download(timeout=60_000) as download_info:
        page.get_by_role("button", name="PNG").first.click()
    download = download_info.value
    assert download.suggested_filename == "minilm_encoder_L2_H3.png"
    data = open(download.path(), "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5_000


def test_shared_link_reproduces_the_view(page, app_url):
    page.goto(f"{app_url}/?layer=4&head=7&lang=zh")
    wait_idle(page)
    shown = _map(page)
    assert (shown["layer"], shown["head"]) == ("4", "7") and "自注意力" in shown["title"]
    # Values in links stay language-neutral ("cross", not a translated label), so they open in Chinese too.
    page.goto(f"{app_url}/all_heads?model=toy-translator&kind=cross&lang=zh")
    wait_idle(page)
    page.wait_for_selector("[data-testid='avz-grid'] canvas[data-drawn]", state="attached", timeout=60_000)
    assert "交叉注意力" in page.locator("[data-testid='avz-grid'] .avz-title").inner_text()


@pytest.mark.parametrize("path, heading", [
    ("all_heads", "All heads"), ("causal_attention", "Causal attention"), ("cross_attention", "Cross-attention"),
    ("learn_self_attention", "Self-attention, one step at a time"), ("learn_multi_head", "Multi-head attention"),
    ("learn_cross_attention", "Cross-attention: reading the source while writing the target"),
    ("learn_causal_attention", "Causal attention: no peeking at the future"),
    ("learn_derivation", "The derivation, with the model's real numbers"),
    ("learn_playground", "Playground: attention on numbers you choose"),
])
def test_every_page_renders_a_chart(page, app_url, shots_dir, path, heading):
    page.goto(app_url)  # the entry page first, as a visitor following the app's own navigation
    wait_idle(page)
    page.goto(f"{app_url}/{path}")
    wait_idle(page)
    assert page.locator("[data-testid='stMain'] h1").first.inner_text() == heading
    page.wait_for_selector("[data-testid='stPlotlyChart'] .js-plotly-plot, [data-testid='avz-live'] canvas, "
                           "[data-testid='avz-grid'] canvas",
                           state="attached", timeout=60_000)
    assert page.locator("[data-testid='stException']").count() == 0
    page.screenshot(path=str(shots_dir / f"e2e-{path}.png"), full_page=True)


def test_markup_is_rendered_as_text(page, app_url):
    page.goto(app_url)
    wait_idle(page)
    page.evaluate("window.__xss = 0")
    text = page.locator("[data-testid='stSidebar'] textarea")
    text.fill("<img src=x onerror=\"window.__xss=1\"> <b>bold</b>")
    text.press("Control+Enter")
    wait_idle(page)
    assert page.evaluate("window.__xss") == 0
    _map(page)  # labels are drawn on a canvas, tooltips set as text: markup never becomes elements
    assert page.locator("[data-testid='avz-live'] img, [data-testid='stMain'] b").count() == 0
