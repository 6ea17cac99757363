"""The contributions page through AppTest: the logit map equals the engine's, the URL carries every choice,
encoders get what applies, and both languages."""

from __future__ import annotations

import numpy as np

from attnviz import load_model
from attnviz.contributions.decompose import decompose
from attnviz.contributions.logits import direct_logit_attribution
from tests.app.conftest import _app, _array, _figures

PAGE = "pages/contributions.py"
TEXT = "the train left the station on time"  # not the opening sentence, which this page swaps for its example


def _heatmaps(at):
    return [f for f in _figures(at) if f["data"] and f["data"][0].get("type") == "heatmap"]


def test_decoder_map_lens_and_lesson():
    at = _app(PAGE, ct="toy-lm", text=TEXT, tok="the", vs="a", pos="3", open="decoder.1.2")
    loaded = load_model("toy-lm")
    decomposition = decompose(loaded, TEXT)
    expected = direct_logit_attribution(loaded, decomposition, "the", "a", 3)
    maps = _heatmaps(at)
    np.testing.assert_allclose(_array(maps[0]["data"][0]["z"]).astype(float), expected.heads, atol=1e-5)
    assert len(maps) >= 3  # the logit map, the opened head's attention map, the lens
    lens = maps[-1]  # the chosen position's column first: every layer, one position
    assert _array(lens["data"][0]["z"]).shape == (loaded.shape.n_layers["decoder"] + 1, 1)
    assert lens["layout"]["xaxis"]["ticktext"][0].endswith("·3")  # the column is the chosen position
    assert at.query_params["pos"] == "3" and at.query_params["open"] == "decoder.1.2"
    words = " ".join(m.value for m in at.markdown)
    assert "[CLS]" in words and "0.90" in words


def test_lens_window_on_request():
    """The positions around the chosen one are computed when asked for, and the choice is kept in the link."""
    at = _app(PAGE, ct="toy-lm", text=TEXT, pos="3", lens_at="window")
    n = len(decompose(load_model("toy-lm"), TEXT).tokens)
    lens = _heatmaps(at)[-1]
    ticks = lens["layout"]["xaxis"]["ticktext"]  # the text is shorter than the 16-position window: all of it
    assert [t.rsplit("·", 1)[1] for t in ticks] == [str(i) for i in range(n)]
    assert at.query_params["lens_at"] == "window"


def test_every_string_in_both_languages():
    """AppTest cannot switch pages under a Chinese interface (its radios compare labels): the browser test does
    that; here every string of the page and both lesson files are checked."""
    from pathlib import Path

    import tomllib

    root = Path(__file__).resolve().parents[2]
    table = tomllib.loads((root / "ui/i18n/contributions.toml").read_text("utf-8"))
    assert all(entry.get("en") and entry.get("zh") for entry in table.values())
    for language in ("en", "zh"):
        assert "0.90" in (root / f"ui/lessons/{language}/contributions.md").read_text("utf-8")


def test_translator_has_cross_heads_and_minilm_gets_what_applies():
    at = _app(PAGE, ct="toy-translator")
    titles = [f["layout"].get("title", {}).get("text", "") for f in _heatmaps(at)]
    assert any("cross" in t for t in titles), titles
    at = _app(PAGE, ct="minilm")
    assert any("encoder" in i.value for i in at.info)
    assert _heatmaps(at), "the encoder's map of what each head wrote"


def test_bad_token_is_a_sentence_not_a_traceback():
    at = _app(PAGE, ct="toy-lm", tok="zzzzq")
    assert any("vocabulary" in e.value for e in at.error)


def test_the_lesson_numbers_are_measured():
    from attnviz.explain.value_norms import value_weighted

    weighted = value_weighted(load_model("minilm"), TEXT, "encoder", 2)
    sep, cls = len(weighted.result.source) - 1, 0
    share = weighted.maps[7, sep] / weighted.maps[7, sep].sum()
    assert round(float(weighted.weights[7, sep, cls]), 2) == 0.90
    assert round(float(weighted.norms[7, cls]), 2) == 0.07 and round(float(np.median(weighted.norms[7])), 1) == 5.8
    assert round(float(share[cls]), 2) == 0.10
