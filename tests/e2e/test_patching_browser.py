"""In a real browser: a click on a cell of the patching map opens that head, and the link keeps it."""

from __future__ import annotations

import pytest

from scripts.browser import click_map_cell, wait_idle

pytestmark = pytest.mark.e2e


def test_clicking_a_patching_cell_opens_that_head(page, app_url):
    click_map_cell(page, f"{app_url}/patching", 1 * 4 + 2)  # layer 1, head 2 (row-major, 4 heads)
    page.wait_for_function("() => location.search.includes('cell=1%2C2') || location.search.includes('cell=1,2')",
                           timeout=30_000)
    wait_idle(page)
    assert "2" in page.locator("h2, h3").last.inner_text()
    assert page.locator("[data-testid='stPlotlyChart']").count() == 4  # both maps, the head's map and its bars
