"""The lessons render with live numbers and react to their inputs."""

from __future__ import annotations

import numpy as np
import pytest

from tests.app.conftest import _app, _array, _figures
from ui.i18n import STRINGS


@pytest.mark.parametrize("page, title_key", [
    ("pages/learn_self_attention.py", "learn.self.title"),
    ("pages/learn_multi_head.py", "learn.multi.title"),
    ("pages/learn_cross_attention.py", "learn.cross.title"),
    ("pages/learn_causal_attention.py", "learn.causal.title"),
    ("pages/learn_derivation.py", "learn.derive.title"),
    ("pages/learn_playground.py", "learn.play.title"),
])
def test_lessons_render(page, title_key):
    at = _app(page)
    assert at.title[0].value == STRINGS[title_key]["en"]
    assert _figures(at)


def test_self_attention_lesson_finds_station_to_train():
    at = _app("pages/learn_self_attention.py")
    found = [m.value for m in at.markdown if "links" in m.value]
    assert found and "“station” to “train”" in found[0]


def test_multi_head_split_follows_the_sliders():
    at = _app("pages/learn_multi_head.py")
    # the sliders open on the model the lesson uses (minilm: 384 dimensions, 12 heads)
    assert any("384 / 12 heads = **32 dimensions per head**" in m.value for m in at.markdown)
    at.select_slider(key="learn_d_model").set_value(768).run()
    at.select_slider(key="learn_heads").set_value(12).run()
    assert any("768 / 12 heads = **64 dimensions per head**" in m.value for m in at.markdown)


def test_derivation_lesson_checks_against_the_model():
    at = _app("pages/learn_derivation.py")
    assert any("Same numbers as the model" in s.value for s in at.success)
    at.selectbox(key="derive_model").set_value("toy-translator").run()
    at.selectbox(key="derive_kind").set_value("decoder").run()
    assert not at.exception
    assert any("Same numbers as the model" in s.value for s in at.success)


def test_causal_lesson_grows_with_the_slider():
    at = _app("pages/learn_causal_attention.py")
    opening = _array(_figures(at)[-1]["data"][0]["z"]).shape
    assert opening[0] > 2  # it opens on a map that shows the triangle, not on the prompt's 2 × 2
    slider = at.slider(key="learn_k")
    slider.set_value(slider.min).run()
    first = _array(_figures(at)[-1]["data"][0]["z"]).shape
    slider.set_value(slider.max).run()
    last = _array(_figures(at)[-1]["data"][0]["z"]).shape
    assert last[0] > first[0] and last[0] == last[1]
    assert any("earlier rows never change" in c.value for c in at.caption)


def test_playground_updates_when_an_embedding_changes():
    at = _app("pages/learn_playground.py")
    before = _array(_figures(at)[-1]["data"][0]["z"])
    at.checkbox(key="play_causal").check().run()
    after = _array(_figures(at)[-1]["data"][0]["z"])
    assert not (before == after).all()
    assert after[0].tolist() == _array(_figures(at)[0]["data"][0]["z"])[0].tolist()  # row 0 only sees itself


def test_multi_head_verdicts_are_those_of_the_maps_drawn_under_them():
    """Each head's role is computed on the very map drawn below it (specials hidden, rows rescaled), so a verdict
    recomputed from the drawn numbers names the same roles, and the threshold it needed is shown."""
    from attnviz.analysis.heads import head_profile

    at = _app("pages/learn_multi_head.py")
    verdicts = [m.value for m in at.markdown if m.value.startswith(f"**{STRINGS['col.role']['en']}**")]
    maps = [f for f in _figures(at) if f["data"] and f["data"][0].get("type") == "heatmap"][:len(verdicts)]
    assert len(verdicts) == 3 and len(maps) == 3
    for verdict, figure in zip(verdicts, maps):
        z = np.nan_to_num(_array(figure["data"][0]["z"]), nan=0.0)
        roles = head_profile(z, [False] * len(z), 0, 0).roles
        assert roles, verdict
        for role in roles:
            assert STRINGS[f"role.{role}"]["en"] in verdict, (role, verdict)
    assert any("needs ≥" in c.value for c in at.caption)


def test_self_attention_opens_on_a_head_with_a_clear_role():
    at = _app()
    text = " ".join(m.value for m in at.markdown)
    assert "previous token" in text  # layer 0, head 2 on the opening sentence
    assert any("needs ≥" in c.value for c in at.caption)  # and the threshold its score cleared
