"""The browser map's own arithmetic, read back from Chromium: uint16 decoding, mean and max of heads, hidden
special tokens and rescaled rows give the engine's numbers (canvas.avzShown(), a read-only hook in live_map.js)."""

from __future__ import annotations

import numpy as np
import pytest

from attnviz import capture
from attnviz.analysis.view import ViewOptions, build_view
from scripts.browser import CANVAS_JS, wait_idle

pytestmark = pytest.mark.e2e
TEXT = "The train left the station on time"
STEP = 1 / 65535  # the payload's uint16 levels


def _shown(page) -> dict:
    return page.evaluate(f"() => ({CANVAS_JS})().avzShown()")


def _compare(page, result, layer, heads, mode, hide, renorm):
    shown = _shown(page)
    view = build_view(result, "encoder", layer, heads, mode, ViewOptions(hide, False, renorm))
    browser = np.array(shown["matrix"], dtype=float).reshape(shown["R"], shown["C"])
    assert (shown["R"], shown["C"]) == view.matrix.shape
    assert shown["rows"] == list(view.row_labels) and shown["cols"] == list(view.col_labels)
    # half a level of rounding per weight; rescaled rows divide it by what is left of the row (specials often hold
    # most of it), so they get more room, still far below any wrong sum or missed rescale
    np.testing.assert_allclose(browser, view.matrix, atol=(20 if renorm else 4) * STEP, rtol=0)
    assert np.abs(browser - view.matrix).max() > 0 or mode == "max"  # it is the browser's own arithmetic


def test_the_browser_maps_numbers_equal_the_engines(page, app_url, minilm):
    result = capture(minilm, TEXT)
    page.goto(f"{app_url}/?text={TEXT.replace(' ', '+')}&layer=2&head=0")
    wait_idle(page)
    page.wait_for_selector("[data-testid='avz-live'] canvas[data-drawn]", state="attached", timeout=60_000)
    _compare(page, result, 2, [0], "single", hide=True, renorm=False)  # uint16 decoding, specials hidden
    page.locator("[data-testid='avz-head-5']").click()
    _compare(page, result, 2, [5], "single", hide=True, renorm=False)
    page.locator("[data-testid='avz-renorm']").check()
    _compare(page, result, 2, [5], "single", hide=True, renorm=True)  # rows rescaled over the visible keys
    page.locator("[data-testid='avz-renorm']").uncheck()
    page.locator("[data-testid='avz-hide']").uncheck()
    _compare(page, result, 2, [5], "single", hide=False, renorm=False)  # [CLS] and [SEP] back
    for mode in ("mean", "max"):
        page.locator("[data-testid='avz-mode']").select_option(mode)
        heads = [int(h) for h in
                 page.locator("[data-testid='avz-live'] canvas[data-drawn]").get_attribute("data-head").split(",")]
        if len(heads) < 2:  # combine at least two heads
            page.locator("[data-testid='avz-head-7']").click()
            heads = [int(h) for h in
                     page.locator("[data-testid='avz-live'] canvas[data-drawn]").get_attribute("data-head").split(",")]
        assert len(heads) >= 2
        _compare(page, result, 2, heads, mode, hide=False, renorm=False)
