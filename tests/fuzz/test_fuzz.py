"""Property-based tests: arbitrary Unicode and random layers, heads and options through capture, views,
figures and exports. Every outcome is a result or one of the errors bad text can earn (empty text, nothing left
after tokenizing), with a message — never another exception; and each property must see inputs succeed, so a
capture that rejected everything could not pass.

Profiles (tests/conftest.py): "ci" by default, derandomised; ``ATTNVIZ_FUZZ=long`` for the deep run.
"""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attnviz import AttnvizError, capture, capture_batch, load_model
from attnviz.analysis.heads import combine_heads
from attnviz.analysis.view import ViewOptions, build_view
from attnviz.export import load_npz, matrix_to_csv, matrix_to_json, result_to_json, result_to_npz, safe_filename
from attnviz.figures.grid import head_grid
from attnviz.figures.heatmap import attention_heatmap
from attnviz.figures.words import ENGLISH

NASTY = st.sampled_from(["\x00", "\ud800", "\udfff", "مرحبا بالعالم", "שלום", "e\u0301\u0302\u0303", "🚆🇨🇳",
                         "火车准时驶出车站", "<script>alert(1)</script>", "${x}{{y}}", "\u202e\u200b\ufeff", "  ",
                         "\n\t", "=cmd|' /C calc'!A0", "Z̸̢̛a̵͓l̶g̵o̷"])
TEXT = st.one_of(st.text(max_size=200), st.lists(st.one_of(NASTY, st.text(max_size=12)), max_size=12).map("".join))


@pytest.fixture(scope="module")
def models(tiny_model_dirs):
    loaded = {name: load_model(str(tiny_model_dirs[name])) for name in ("bert", "gpt2", "bart", "llama-gqa")}
    loaded["minilm"] = load_model("minilm")
    return loaded


# The only errors arbitrary text may cause; anything else (a forward that failed, a shape error) is a bug.
TEXT_ERRORS = {"empty_text", "no_tokens"}


def _rejected(error: AttnvizError, outcomes: Counter) -> None:
    assert str(error) and error.code in TEXT_ERRORS, (error.code, str(error))
    outcomes[error.code] += 1


def _some_succeeded(outcomes: Counter) -> None:
    assert outcomes["ok"] > 0, f"no input succeeded: {dict(outcomes)}"


def _check(result):
    for array in result.arrays.values():
        assert np.isfinite(array).all()
        np.testing.assert_allclose(array.sum(-1), 1.0, atol=1e-4)


def test_capture_any_text(models):
    outcomes = Counter()

    @given(text=TEXT, name=st.sampled_from(["bert", "gpt2", "bart", "llama-gqa", "minilm"]),
           target=st.one_of(st.none(), TEXT))
    def prop(text, name, target):
        try:
            result = capture(models[name], text, target=target, max_new_tokens=4)
        except AttnvizError as error:
            return _rejected(error, outcomes)
        _check(result)
        json.loads(result_to_json(result))
        metadata, arrays = load_npz(result_to_npz(result))
        assert set(arrays) == set(result.arrays) and metadata
        outcomes["ok"] += 1

    prop()
    _some_succeeded(outcomes)


def test_a_hundred_thousand_arbitrary_characters(models):
    outcomes = Counter()

    @settings(max_examples=6)
    @given(pieces=st.lists(st.one_of(NASTY, st.text(min_size=1, max_size=30)), min_size=1, max_size=8),
           name=st.sampled_from(["bert", "gpt2", "bart", "minilm"]))
    def prop(pieces, name):
        text = ("".join(pieces) * 100_000)[:100_000]
        try:
            result = capture(models[name], text, max_new_tokens=2)
        except AttnvizError as error:
            return _rejected(error, outcomes)
        assert len(result.source) <= models[name].shape.max_tokens
        _check(result)
        outcomes["ok"] += 1

    prop()
    _some_succeeded(outcomes)


def test_capture_a_hundred_thousand_characters(models):
    result = capture(models["gpt2"], "the teacher saw a book " * 5000)
    assert result.truncated and len(result.source) == models["gpt2"].shape.max_tokens
    _check(result)


def test_capture_batch_any_texts(models):
    outcomes = Counter()

    @given(texts=st.lists(TEXT, min_size=1, max_size=4))
    def prop(texts):
        try:
            results = capture_batch(models["bert"], texts)
        except AttnvizError as error:
            return _rejected(error, outcomes)
        assert len(results) == len(texts)
        for result in results:
            _check(result)
        outcomes["ok"] += 1

    prop()
    _some_succeeded(outcomes)


def test_views_figures_and_exports(models):
    outcomes = Counter()

    @given(data=st.data(), name=st.sampled_from(["bert", "gpt2", "bart"]), hide=st.booleans(), merge=st.booleans(),
           renorm=st.booleans(), by_output=st.booleans(), mode=st.sampled_from(["single", "mean", "max"]),
           colorscale=st.sampled_from(["Blues", "Viridis", "Magma"]), values=st.sampled_from([None, True, False]))
    def prop(data, name, hide, merge, renorm, by_output, mode, colorscale, values):
        _view_figures_and_exports(models, data, name, hide, merge, renorm, by_output, mode, colorscale, values,
                                  outcomes)

    prop()
    _some_succeeded(outcomes)


def _view_figures_and_exports(models, data, name, hide, merge, renorm, by_output, mode, colorscale, values, outcomes):
    loaded = models[name]
    text = data.draw(TEXT.filter(lambda t: any(ch.isalpha() for ch in t)), label="text")
    try:
        result = capture(loaded, text, max_new_tokens=4)
    except AttnvizError as error:
        return _rejected(error, outcomes)
    kind = data.draw(st.sampled_from(list(result.kinds)), label="kind")
    layer = data.draw(st.sampled_from(list(result.layers[kind])), label="layer")
    n_heads = result.shape.heads_of(kind, layer)
    heads = data.draw(st.lists(st.integers(0, n_heads - 1), min_size=1, max_size=n_heads, unique=True), label="heads")
    view = build_view(result, kind, layer, heads, mode, ViewOptions(hide, merge, renorm, by_output))
    assert view.matrix.shape == (len(view.row_labels), len(view.col_labels))
    assert np.isfinite(view.matrix).all()
    figure = attention_heatmap(view, words=ENGLISH, colorscale=colorscale, show_values=values)
    assert figure.data
    singles = [build_view(result, kind, layer, [h], "single", ViewOptions(hide, merge, renorm, by_output))
               for h in heads[:4]]
    assert len(head_grid([singles], words=ENGLISH, colorscale=colorscale).data) == len(singles)
    csv = matrix_to_csv(view.matrix, view.row_labels, view.col_labels).decode("utf-8-sig")
    assert all(not line.startswith(("=", "+", "-", "@")) for line in csv.splitlines()[1:])
    json.loads(matrix_to_json(view.matrix, view.row_labels, view.col_labels, model=name))
    outcomes["ok"] += 1


@given(parts=st.lists(st.text(max_size=40), max_size=5), extension=st.sampled_from(["png", "svg", "pdf", "csv"]))
def test_file_names_are_always_safe(parts, extension):
    name = safe_filename(*parts, extension=extension)
    assert name.endswith("." + extension) and "/" not in name and "\\" not in name and ".." not in name
    assert 0 < len(name) <= 130


def test_combine_heads_rejects_nonsense_clearly():
    outcomes = Counter()
    maps = np.random.default_rng(0).dirichlet(np.ones(3), size=(4, 3))  # [head, query, key]

    @given(heads=st.one_of(st.lists(st.integers(0, 3), min_size=1, max_size=4, unique=True),
                           st.lists(st.integers(-3, 7), max_size=5)),
           mode=st.one_of(st.sampled_from(["single", "mean", "max"]), st.text(max_size=6)))
    def prop(heads, mode):
        try:
            combined = combine_heads(maps, heads, mode)
        except (ValueError, IndexError) as error:
            outcomes[type(error).__name__] += 1
            assert str(error)
            return
        assert combined.shape == (3, 3)
        if mode == "mean":
            np.testing.assert_allclose(combined, maps[list(heads)].mean(0))
        elif mode == "max":
            np.testing.assert_allclose(combined, maps[list(heads)].max(0))
        outcomes["ok"] += 1

    prop()
    _some_succeeded(outcomes)
