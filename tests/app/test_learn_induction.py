"""The induction-heads lesson renders the two heads with the toy model's numbers; the roles panel on all heads."""

from __future__ import annotations

import numpy as np

from tests.app.conftest import _app, _array, _figures
from ui.i18n import STRINGS


def test_lesson_shows_the_two_heads_and_the_prediction():
    at = _app("pages/learn_induction.py")
    assert at.title[0].value == STRINGS["learn.induction.title"]["en"]
    assert len(_figures(at)) == 3  # layer-0 map, layer-1 map, training curve
    text = " ".join(m.value for m in at.markdown)
    assert "previous-token head at position" in text and "top prediction" in text
    slider = at.select_slider(key="induction_query")
    last = int(str(slider.options[-1]).split(" ·")[0])  # options read "position · token"
    slider.set_value(last).run()
    assert not at.exception
    assert any(f"at position {last}" in m.value for m in at.markdown)


def test_lesson_in_chinese():
    at = _app("pages/learn_induction.py")
    at.session_state["ui_lang"] = "zh"
    at.run()
    assert at.title[0].value == STRINGS["learn.induction.title"]["zh"]
    assert any("归纳头" in m.value for m in at.markdown)


def test_roles_panel_on_all_heads_filters_by_role():
    at = _app("pages/all_heads.py")
    assert any(s.value == "Head roles" for s in at.subheader)
    filt = at.selectbox(key="roles_filter_encoder")
    assert "previous" in filt.options or "previous token" in " ".join(map(str, filt.options))
    filt.set_value("previous").run()
    assert not at.exception


def test_curve_caption_says_what_the_curve_shows():
    """The caption's first-copy and repeated-copy losses are the plotted curve's first and last points."""
    import json

    from attnviz.models.registry import BUILTIN_MODELS

    curve = json.loads((BUILTIN_MODELS["toy-induction"].locate() / "training_curve.json").read_text())["curve"]
    at = _app("pages/learn_induction.py")
    caption = " ".join(c.value for c in at.caption)
    plotted = _figures(at)[-1]["data"]
    first, repeated = _array(plotted[0]["y"]), _array(plotted[1]["y"])
    assert np.allclose(first, [r["first_copy"] for r in curve])
    for value in (first[0], first[-1], repeated[0], repeated[-1]):
        assert f"{value:.2f}" in caption, (value, caption)
    if first[-1] > first[0] + 0.5:  # the shipped model: confidently wrong on the first copy, and the text says so
        assert "stays at about" not in caption and "above an even guess" in caption
