"""The first visitor of a fresh server: Streamlit's legacy list of pages/ file names never shows, the app's own
navigation does (sampled every 50 ms from page open, see scripts/first_visit.py)."""

from __future__ import annotations

import pytest

from scripts.first_visit import first_visit

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("path", ["", "all_heads"])
def test_the_first_visitor_sees_the_apps_navigation_and_never_the_file_list(browser, fresh_app_url, path):
    seen = first_visit(browser, f"{fresh_app_url}/{path}")
    assert seen["samples"] > 10
    assert not seen["file_list"], f"the file-name list showed for {seen['file_list_ms']:.0f} ms"
    assert seen["nav_ms"] == seen["nav_ms"]  # not NaN: the app's navigation appeared
