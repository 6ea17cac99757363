"""In a real browser: a click on a cell of the logit-attribution map opens that head's attention map, in 中文 too."""

from __future__ import annotations

import pytest

from scripts.browser import wait_idle

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_clicking_a_head_opens_its_attention_map(page, app_url, lang):
    page.goto(f"{app_url}/contributions?ct=toy-lm&lang={lang}")
    wait_idle(page)
    chart = page.locator("[data-testid='stPlotlyChart']").first
    chart.scroll_into_view_if_needed()
    cell = chart.locator(".scatterlayer .point").nth(1 * 4 + 3)  # layer 1, head 3 (row-major)
    box = cell.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function("() => location.search.includes('open=decoder.1.3')", timeout=30_000)
    wait_idle(page)
    headings = [h.inner_text() for h in page.locator("[data-testid='stMain'] h3").all()]
    wanted = "layer 1, head 3" if lang == "en" else "第 1 层第 3 头"
    assert any(wanted in h for h in headings), headings
    assert page.locator("[data-testid='stPlotlyChart']").count() >= 4  # map, parts, head's map, lens
