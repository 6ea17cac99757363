"""The server's one cache is shared by every session, so its keys decide who sees what: two calls that ask anything
differently never share a key, two that ask the same always do, and what is derived from one visitor's capture
is never handed to another whose capture merely has the same token ids."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from attnviz import capture, load_model
from attnviz.analysis.view import ViewOptions, build_view
from ui.cached import cache_key, cached

PLAIN = ViewOptions()


def asks(model, text: str, kind: str = "decoder", layer: int = 0, heads: tuple[int, ...] = (0,),
         target: str | None = None, *, options: ViewOptions = PLAIN, max_tokens: int | None = None):
    return (model, text, kind, layer, heads, target, options, max_tokens)


def asks_too(model, text: str, kind: str = "decoder", layer: int = 0, heads: tuple[int, ...] = (0,),
             target: str | None = None, *, options: ViewOptions = PLAIN, max_tokens: int | None = None):
    return asks(model, text, kind, layer, heads, target, options=options, max_tokens=max_tokens)


@pytest.fixture(scope="module")
def toy():
    return load_model("toy-lm")


def test_calls_that_differ_in_any_argument_never_share_a_key(toy):
    other = load_model("toy-translator")
    base = cache_key(asks, toy, "the cat")
    variants = [cache_key(asks, other, "the cat"), cache_key(asks, toy, "the dog"),
                cache_key(asks, toy, "the cat", "encoder"), cache_key(asks, toy, "the cat", layer=1),
                cache_key(asks, toy, "the cat", heads=(0, 1)), cache_key(asks, toy, "the cat", heads=(1,)),
                cache_key(asks, toy, "the cat", target="le chat"),
                cache_key(asks, toy, "the cat", options=ViewOptions(hide_special=False)),
                cache_key(asks, toy, "the cat", max_tokens=7), cache_key(asks_too, toy, "the cat")]
    assert all(key != base for key in variants)
    assert len(set(variants)) == len(variants)


def test_equal_inputs_share_a_key_however_they_are_passed(toy):
    key = cache_key(asks, toy, "the cat")
    assert cache_key(asks, text="the cat", model=toy) == key  # by name or by position
    assert cache_key(asks, toy, "the cat", "decoder", 0) == key  # defaults applied
    assert cache_key(asks, toy, "the cat", heads=[0]) == key  # a list asks what the tuple asks
    assert cache_key(asks, toy, "the cat", target="") == key  # an empty optional field is no field
    assert cache_key(asks, load_model("toy-lm"), "the cat") == key  # a model by its name
    assert cache_key(asks, toy, "the cat", options=ViewOptions()) == key  # a frozen value by its value


SEEN: list = []


def echo(text: str, target: str | None = None) -> list:
    SEEN.append(target)
    return [target]


def test_an_empty_field_is_computed_as_none_too():
    assert cached(echo, "one", "") == [None] and cached(echo, "one", None) == [None] and SEEN == [None]


def test_a_function_whose_inputs_are_not_all_arguments_is_refused():
    text = "the cat"

    def reads_outside() -> str:
        return text

    for fn in (reads_outside, lambda: 1):
        with pytest.raises(TypeError):
            cache_key(fn)


def test_a_capture_is_keyed_by_what_the_visitor_typed_not_its_token_ids(toy):
    first, second = capture(toy, "friend ocean clock mountain"), capture(toy, "story evening lamp garden")
    assert first.source.token_ids == second.source.token_ids  # every word is <unk> in the toy vocabulary
    assert cache_key(build_view, first, "decoder", 0, (0,)) != cache_key(build_view, second, "decoder", 0, (0,))
    for result in (first, second):
        view = cached(build_view, result, "decoder", 0, (0,), "single", ViewOptions())
        assert list(view.col_labels) == [label for label in result.source.labels if label != "<s>"]


def test_a_value_the_cache_made_stands_for_the_call_that_made_it(toy):
    result = capture(toy, "the cat sat")
    view = cached(build_view, result, "decoder", 0, (0,), "single", ViewOptions())
    again = cached(build_view, result, "decoder", 0, (0,), "single", ViewOptions())
    other = cached(build_view, result, "decoder", 1, (0,), "single", ViewOptions())
    assert again is view
    assert cache_key(len, view) == cache_key(len, again) != cache_key(len, other)


def test_values_without_a_content_key_are_refused():
    @dataclass(eq=False)
    class Loose:  # hashed by identity: a freed object's address is reused by the next one
        value: int

    @dataclass(frozen=True)
    class Holding:  # a frozen value holding an array cannot be hashed
        values: np.ndarray

    for value in (np.zeros(3), Loose(1), Holding(np.zeros(3))):
        with pytest.raises(TypeError):
            cache_key(repr, value)


def test_bytes_by_their_digest_and_a_file_by_its_state(tmp_path):
    assert cache_key(len, b"abc") == cache_key(len, bytes([97, 98, 99])) != cache_key(len, b"abd")
    path = tmp_path / "census.parquet"
    path.write_bytes(b"one")
    before = cache_key(Path.read_bytes, path)
    assert cache_key(Path.read_bytes, Path(str(path))) == before
    path.write_bytes(b"longer")  # rewritten: read again
    assert cache_key(Path.read_bytes, path) != before
