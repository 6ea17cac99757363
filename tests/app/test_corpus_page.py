"""The Corpus page through AppTest: the example census, any statistic's grid, a head's strongest texts."""

from __future__ import annotations

import numpy as np

from tests.app.conftest import _app, _array, _figures


def _grid_values(at) -> np.ndarray:
    """The layer x head grid: square markers at (head, layer) coloured by the statistic."""
    trace = _figures(at)[0]["data"][0]
    x, y = _array(trace["x"]).astype(int), _array(trace["y"]).astype(int)
    values = np.full((y.max() + 1, x.max() + 1), np.nan)
    values[y, x] = _array(trace["marker"]["color"]).astype(float)
    return values


def test_example_census_opens_on_the_strongest_head_and_draws_its_texts():
    at = _app("pages/corpus.py")
    assert not at.exception
    values = _grid_values(at)
    assert values.shape == (6, 12)  # MiniLM's 6 layers x 12 heads
    layer, head = np.unravel_index(np.nanargmax(values), values.shape)
    assert (at.selectbox(key="corpus_layer").value, at.selectbox(key="corpus_head").value) == (layer, head)
    assert (layer, head) == (0, 2)  # the previous-token head
    examples = [f for f in _figures(at) if "Key" in str(f["layout"].get("xaxis", {}).get("title", ""))]
    assert examples


def test_another_statistic_and_the_translator_example():
    at = _app("pages/corpus.py")
    stat = at.selectbox(key="corpus_stat")
    stat.select_index(stat.options.index("relative entropy")).run()
    assert not at.exception
    at.selectbox(key="corpus_example_model").set_value("toy-translator").run()
    assert not at.exception
    at.radio(key="corpus_kind").set_value("cross").run()
    assert not at.exception
    assert "gold alignment (argmax)" in at.selectbox(key="corpus_stat").options
    stat = at.selectbox(key="corpus_stat")
    stat.select_index(stat.options.index("gold alignment (argmax)")).run()
    values = _grid_values(at)
    assert values.shape == (2, 4) and np.nanmax(values) > 0.9  # one cross head finds the gold source word

