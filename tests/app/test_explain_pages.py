"""The analysis pages through AppTest: rollout/flow/value-weighted under the map, ablation, compare, generation."""

from __future__ import annotations

import numpy as np
import pytest

from attnviz import capture, load_model
from attnviz.explain.compare import ANIMAL_PAIR
from attnviz.explain.flow import rollout
from tests.app.conftest import _app, _array, _figures


def _heatmaps(at):
    return [f for f in _figures(at) if f["data"] and f["data"][0].get("type") == "heatmap"]


def _z(figure) -> np.ndarray:
    return _array(figure["data"][0]["z"]).astype(float)


@pytest.mark.parametrize("view", ["rollout", "flow", "value"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_beyond_weights_views_on_the_self_attention_page(view, lang):
    at = _app(beyond=view, lang=lang, layer="2")
    maps = _heatmaps(at)
    assert len(maps) == 1
    z = _z(maps[0])
    assert z.shape == (7, 7) and np.isfinite(z).all()  # "The train left the station on time", specials hidden
    if view == "rollout":
        result = capture(load_model("minilm"), "The train left the station on time")
        np.testing.assert_allclose(z, rollout(result, "encoder", 2).at(2)[1:-1, 1:-1], atol=1e-6)
    explanation = [c.value for c in at.caption if "Abnar" in c.value or "Kobayashi" in c.value]
    assert explanation, "each view is explained in a sentence"
    if lang == "zh":
        assert any("注意力" in c.value or "值向量" in c.value for c in at.caption)


def test_ablation_page_shows_effect_and_importance_for_every_family():
    for model, family_word in (("toy-translator", "KL"), ("toy-lm", "KL"), ("minilm", "cos")):
        at = _app("pages/ablation.py", abl=model)
        metrics = [m.label for m in at.metric]
        assert metrics and family_word.lower() in metrics[0].lower()
        if model == "toy-translator":  # opens with layer 1's cross-attention heads off: the translation breaks
            assert float(at.metric[0].value) > 1.0 and any("switched off" in i.value for i in at.info)
        else:
            assert at.metric[0].value in ("0.0000", "1.00000")  # nothing switched off: no change
        importance = [f for f in _heatmaps(at)]
        assert importance, model
    at = _app("pages/ablation.py", abl="toy-translator")
    for layer in (0, 1):
        at.button_group(key=f"off_cross_{layer}").set_value([0, 1, 2, 3])
    at.run()
    assert not at.exception
    assert float(at.metric[0].value) > 1.0  # every cross-attention head off: the translation falls apart


def test_compare_page_presets_the_animal_pair_and_aligns_tired_with_wide():
    at = _app("pages/compare.py")
    assert at.text_area(key="text_a").value == ANIMAL_PAIR[0]
    maps = _heatmaps(at)
    assert len(maps) == 3
    difference = maps[2]
    labels = difference["layout"]["yaxis"]["ticktext"]
    assert "tired/wide" in labels
    np.testing.assert_allclose(_z(difference), _z(maps[0]) - _z(maps[1]), atol=1e-6)
    at.radio(key="cmp").set_value("heads").run()
    assert not at.exception and len(_heatmaps(at)) == 3


@pytest.mark.parametrize("page, model_key, model", [("pages/causal_attention.py", "lm", "toy-lm"),
                                                    ("pages/cross_attention.py", "mt", "toy-translator")])
def test_generation_steps_on_the_causal_and_cross_pages(page, model_key, model):
    at = _app(page, **{model_key: model})
    at.sidebar.text_area(key="text").set_value("the boy found a").run()
    slider = at.slider(key="step")
    assert slider.max >= 2
    first = [f for f in _figures(at) if f["data"] and f["data"][0].get("type") == "bar"]
    slider.set_value(2).run()
    assert not at.exception
    second = [f for f in _figures(at) if f["data"] and f["data"][0].get("type") == "bar"]
    assert first and second and first[-1]["layout"]["title"]["text"] != second[-1]["layout"]["title"]["text"]
    framed = [f for f in _heatmaps(at) if f["layout"].get("shapes")]
    # step 2 is written by the row after the prompt's last (<s> the boy found a: row 5; the translator: row 1)
    row = 5 if model == "toy-lm" else 1
    assert framed and framed[-1]["layout"]["shapes"][0]["y0"] == pytest.approx(row - 0.5)


def test_beyond_weights_on_the_causal_page_keeps_the_mask():
    at = _app("pages/causal_attention.py")
    at.radio(key="beyond").set_value("value").run()
    assert not at.exception
    value_map = [f for f in _heatmaps(at) if "W_O" in f["layout"]["title"]["text"]]
    assert value_map
    z = _z(value_map[0])
    assert np.isnan(z[np.triu_indices_from(z, 1)]).all()  # future positions stay masked
    assert (z[np.tril_indices_from(z)] >= 0).all()
