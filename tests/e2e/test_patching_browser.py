"""In a real browser: a click on a cell of the patching map opens that head, and the link keeps it."""

from __future__ import annotations

import pytest

from scripts.browser import wait_idle

pytestmark = pytest.mark.e2e


def test_clicking_a_patching_cell_opens_that_head(page, app_url):
    page.goto(f"{app_url}/patching")
    wait_idle(page)
    chart = page.locator("[data-testid='stPlotlyChart']").first
    chart.scroll_into_view_if_needed()
    cell = chart.locator(".scatterlayer .point").nth(1 * 4 + 2)  # layer 1, head 2 (row-major, 4 heads)
    box = cell.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function("() => location.search.includes('cell=1%2C2') || location.search.includes('cell=1,2')",
                           timeout=30_000)
    wait_idle(page)
    assert "2" in page.locator("h2, h3").last.inner_text()
    assert page.locator("[data-testid='stPlotlyChart']").count() == 4  # both maps, the head's map and its bars
