"""In a real browser: a click on a cell of the head-importance map switches that head off."""

from __future__ import annotations

import pytest

from scripts.browser import click_map_cell, wait_idle

pytestmark = pytest.mark.e2e


def test_clicking_an_importance_cell_ablates_that_head(page, app_url):
    click_map_cell(page, f"{app_url}/ablation?abl=minilm", 3 * 12 + 9)  # layer 3, head 9 (row-major)
    page.wait_for_function("() => location.search.includes('off_encoder_3=9')", timeout=30_000)
    wait_idle(page)
    cosine = float(page.locator("[data-testid='stMetricValue']").first.inner_text())
    assert 0.9 < cosine < 1.0  # one head off moves the sentence embedding a little
