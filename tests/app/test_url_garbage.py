"""Links with garbage or out-of-range values open the page with defaults and say which settings were reset."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import _app, _live


def _open(**query) -> AppTest:
    return _app(**query)


@pytest.mark.parametrize("query", [
    {"layer": "banana", "mode": "xyz", "head": "99", "hide": "maybe", "cs": "Nope"},
    {"layer": "-1", "head": "1e9"},
    {"lang": "xx"},
    {"model": "toy-translator", "kind": "zzz"},
    {"heads": "1,2,zz", "mode": "mean"},
])
def test_garbage_falls_back_to_defaults_with_a_notice(query):
    at = _open(**query)
    notices = " ".join(t.value for t in at.toast)
    assert "reset to defaults" in notices
    drew = at.get("plotly_chart") or at.get("bidi_component") or at.get("iframe") or at.get("html")
    assert drew  # the page drew


def test_a_valid_link_gets_no_notice():
    at = _open(layer="3", mode="mean", hide="false")
    assert not at.toast


def test_a_refused_model_in_a_link_is_a_message_not_a_crash():
    at = _open(model="__custom__", model_path="../../../etc/passwd\x00")
    assert at.error and "Traceback" not in " ".join(e.value for e in at.error)


@pytest.mark.parametrize("heads", [["1", "4", "9"], "1,4,9"], ids=["repeated", "old-comma-list"])
def test_both_list_encodings_open_the_same_heads(heads):
    """The app writes ?heads=1&heads=4&heads=9; links from the previous version wrote ?heads=1,4,9. Both open
    the mean of heads 1, 4 and 9, without a notice, and the URL is left in the one current encoding."""
    at = _open(mode="mean", heads=heads)
    state = _live(at)[0]["state"]
    assert state["mode"] == "mean" and state["heads"] == [1, 4, 9]
    assert not at.toast
    assert at.query_params["heads"] == ["1", "4", "9"]


def test_an_old_comma_list_of_ablated_heads_is_read():
    at = _app("pages/ablation.py", off_encoder_1="0,1")
    assert at.pills(key="off_encoder_1").value == [0, 1] and not at.toast
