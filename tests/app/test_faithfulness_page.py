"""The faithfulness page through AppTest: every family, both languages, choices from the URL, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from attnviz import load_model
from attnviz.faithfulness import OutputChoice, faithfulness
from tests.app.conftest import _app, _array, _figures
from ui.i18n import STRINGS

PAGE = "pages/faithfulness.py"


def _strip(at):
    strips = [f for f in _figures(at) if f["data"] and f["data"][0].get("type") == "heatmap"]
    assert len(strips) == 1
    return strips[0]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_minilm_strip_and_agreement_table(lang):
    at = _app(PAGE, steps="16")
    if lang == "zh":  # switched on the page, as a visitor does (AppTest cannot open a translated page by link)
        at.session_state["ui_lang"] = "zh"
        at.run()
        assert at.title[0].value == STRINGS["page.faithfulness"]["zh"]
    strip = _strip(at)
    z = _array(strip["data"][0]["z"]).astype(float)
    assert z.shape == (8, 7) and np.isfinite(z).all()  # 8 methods × "The train left the station on time"
    assert np.abs(z).max(axis=1) == pytest.approx(np.ones(8))  # every row scaled to its own largest magnitude
    table = at.dataframe[0].value
    assert len(table) == 8 and table.shape[1] == 3
    run = faithfulness(load_model("minilm"), "The train left the station on time", steps=16)
    assert table.iloc[1, 1] == pytest.approx(round(run.agreement()["occlusion"]["rollout"], 3))
    words = " ".join(m.value for m in at.markdown)
    assert ("mean-pooled" in words) if lang == "en" else ("平均池化" in words)


def test_choices_come_from_the_url():
    # (AppTest's page switch keeps the page's own parameters; the typed text is checked in the browser tests)
    at = _app(PAGE, faith_model="toy-lm", token="park", steps="8", merge="true")
    assert "park" in " ".join(m.value for m in at.markdown) and at.checkbox(key="merge").value
    at = _app(PAGE, faith_model="toy-translator", position="2", steps="8")
    assert at.selectbox(key="position").value == 2
    run = faithfulness(load_model("toy-translator"), "The train left the station on time",
                       output=OutputChoice(position=2), steps=8)
    assert run.output.label in " ".join(m.value for m in at.markdown)
    assert any("flow" in c.value for c in at.caption)  # flow is not offered for a translation, and says why


def test_bad_input_is_a_message():
    at = _app(PAGE, faith_model="toy-lm", token="   ", steps="8")
    assert not at.error and _strip(at)  # a blank token means: the model's own top guess
    at.text_area(key="text").set_value("   ").run()
    assert not at.exception and at.error and "empty" in at.error[0].value
