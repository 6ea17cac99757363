"""The activation patching page through AppTest: the induction preset, every family, both languages, the URL,
clicks that only redraw, and bad input as a translated message."""

from __future__ import annotations

import time

import numpy as np
import pytest

from attnviz import load_model
from attnviz.patching import patch, prepare
from attnviz.patching.presets import PRESETS
from tests.app.conftest import _app, _array, _figures
from ui.i18n import STRINGS

PAGE = "pages/patching.py"


def _maps(at):
    return [f for f in _figures(at) if f["data"] and f["data"][0].get("type") == "heatmap"
            and f["data"][0].get("zmid") == 0]  # the patching maps: a diverging scale around 0


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_induction_opens_with_both_maps(lang):
    at = _app(PAGE)
    if lang == "zh":
        at.session_state["ui_lang"] = "zh"
        at.run()
        assert at.title[0].value == STRINGS["page.patching"]["zh"]
    maps = _maps(at)
    assert len(maps) == 2
    exact = _array(maps[0]["data"][0]["z"]).astype(float)
    preset = PRESETS["induction"]
    loaded = load_model("toy-induction")
    reference = patch(loaded, prepare(loaded, preset.clean, preset.corrupt, preset.answer, preset.wrong), "head_out")
    np.testing.assert_allclose(exact, reference.values, atol=1e-6)
    words = " ".join(m.value for m in at.markdown)
    assert ("Pearson" in words) if lang == "en" else ("相关系数" in words)


def test_a_click_opens_the_head_and_only_redraws():
    at = _app(PAGE, cell="1,3")  # a link to a clicked cell: layer 1, head 3
    charts = _figures(at)
    assert len(charts) == 4  # two maps, the head's attention map and its contribution by position
    assert "3" in at.subheader[-1].value
    start = time.perf_counter()
    at.run()  # what a click costs after the first run: the result comes from the cache
    assert time.perf_counter() - start < 2.0  # AppTest's own overhead included; the benchmark times a click alone


@pytest.mark.parametrize(("model", "extra"), [("minilm", {}), ("toy-lm", {"answer": "in", "wrong": "the"}),
                                              ("toy-translator", {"target": "火车 准时", "answer": "驶出",
                                                                  "wrong": "到达", "kind": "cross"})])
def test_every_built_in_family(model, extra):
    at = _app(PAGE, patch_model=model, clean="The train left the station on time",
              corrupt="The ship left the station on time", component="resid_pre" if model == "toy-lm" else "head_out",
              cell="1,2", **extra)
    assert not at.error, [e.value for e in at.error]
    assert len(_maps(at)) == 2
    assert len(_figures(at)) == 4  # a clicked cell (a head, or a layer's position) opens a head's map and bars


def test_bad_input_is_a_translated_message():
    at = _app(PAGE, corrupt="the doctor found a book")
    assert not at.exception and at.error and "13" in at.error[0].value
    at.session_state["ui_lang"] = "zh"
    at.run()
    assert "词元" in at.error[0].value
    at = _app(PAGE, answer="book", wrong="book")
    assert at.error and "same token" in at.error[0].value


def test_a_preset_fills_every_choice():
    at = _app(PAGE, clean="the doctor found a", corrupt="the doctor saw a")
    at.selectbox(key="preset").set_value("induction").run()
    preset = PRESETS["induction"]
    assert at.text_area(key="clean").value == preset.clean and at.text_input(key="answer").value == preset.answer
    assert not at.error and len(_maps(at)) == 2
