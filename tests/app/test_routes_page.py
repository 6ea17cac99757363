"""The routes page through AppTest: the payload the browser draws from, in both languages, from the URL."""

from __future__ import annotations

import json

import pytest

from attnviz import load_model
from attnviz.contributions.routes import route_contributions, route_graph
from tests.app.conftest import _app
from ui.i18n import STRINGS

TEXT = "The train left the station on time"


def _payload(at) -> dict:
    return json.loads(at.get("bidi_component")[0].proto.json)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_page_sends_the_graph_at_the_floor_with_heads_and_lens(lang):
    at = _app("pages/routes.py", routes="toy-lm", pos="3", th="0.1")
    if lang == "zh":  # switched on the page (AppTest cannot switch pages under a translated radio)
        at.session_state["ui_lang"] = "zh"
        at.run()
        assert not at.exception
    payload = _payload(at)
    assert payload["position"] == 3 and payload["threshold"] == 0.1 and payload["floor"] == 0.02
    c = route_contributions(load_model("toy-lm"), TEXT)
    expected = route_graph(c, 3, 0.02)
    assert [(e[0], e[1]) for e in payload["edges"]] == [(e.source, e.target) for e in expected.edges]
    attention = [e for e in payload["edges"] if e[2] == "attention"]
    assert attention and all(abs(sum(s for _, s in e[6]) + e[5] - e[4]) < 5e-3 for e in attention)
    assert "I1_3" in payload["lens"] and len(payload["lens"]["I1_3"]) == 5  # a decoder's nodes read by the lens
    assert at.selectbox(key="pos").value == 3
    if lang == "zh":
        assert payload["words"]["threshold"] == "阈值" and "路径" in payload["title"]
    assert len(at.get("download_button")) >= 2  # CSV and JSON (and images when a browser is there)


def test_an_encoder_is_drawn_through_its_layer_norm_and_a_bad_link_falls_back():
    at = _app("pages/routes.py", routes="minilm", pos="999", th="banana")
    payload = _payload(at)
    assert payload["threshold"] == 0.04 and payload["lens"] == {}
    assert payload["tokens"][payload["position"]] == "time"  # the last word, not [SEP]
    assert any("LayerNorm" in c.value for c in at.caption)


def test_an_empty_text_gets_a_message_not_a_traceback():
    at = _app("pages/routes.py", routes="toy-lm")
    at.sidebar.text_area(key="text").set_value("   ").run()
    assert not at.exception
    assert [e.value for e in at.error] == [STRINGS["error.empty_text"]["en"]]  # the empty-text message, no other
