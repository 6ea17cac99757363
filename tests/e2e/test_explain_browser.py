"""In a real browser: a click on a cell of the head-importance map switches that head off."""

from __future__ import annotations

import pytest

from scripts.browser import wait_idle

pytestmark = pytest.mark.e2e


def test_clicking_an_importance_cell_ablates_that_head(page, app_url):
    page.goto(f"{app_url}/ablation?abl=minilm")
    wait_idle(page)
    chart = page.locator("[data-testid='stPlotlyChart']").first
    chart.scroll_into_view_if_needed()
    cell = chart.locator(".scatterlayer .point").nth(3 * 12 + 9)  # layer 3, head 9 (row-major)
    box = cell.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function("() => location.search.includes('off_encoder_3=9')", timeout=30_000)
    wait_idle(page)
    cosine = float(page.locator("[data-testid='stMetricValue']").first.inner_text())
    assert 0.9 < cosine < 1.0  # one head off moves the sentence embedding a little
