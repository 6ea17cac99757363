"""The trained toy-induction model shows the two-head circuit, and the detector finds both heads."""

from __future__ import annotations

import json

import pytest

from attnviz import capture
from attnviz.models.registry import BUILTIN_MODELS
from attnviz.roles import head_roles, role_badges, run_probe
from attnviz.teach.induction import circuit_heads, circuit_step, repeated_positions

TEXT = "farmer bridge apple doctor city book girl farmer bridge apple doctor city book girl"


@pytest.fixture(scope="module")
def report(toy_induction):
    return head_roles(capture(toy_induction, TEXT), probe=run_probe(toy_induction, seed=3))


def test_shipped_small_and_registered():
    folder = BUILTIN_MODELS["toy-induction"].locate()
    assert BUILTIN_MODELS["toy-induction"].family == "decoder"
    assert sum(f.stat().st_size for f in folder.iterdir()) < 3_000_000


def test_previous_token_head_in_layer_0_and_induction_head_in_layer_1(report):
    badges = role_badges(report, "decoder")
    layer0 = {head: role for (layer, head), role in badges.items() if layer == 0}
    layer1 = {head: role for (layer, head), role in badges.items() if layer == 1}
    assert "previous" in layer0.values(), layer0
    assert "induction" in layer1.values(), layer1
    assert "induction" not in layer0.values()  # one layer cannot do induction
    heads = circuit_heads(report)
    assert heads.previous_score > 0.7 and heads.induction_score > 0.5


def test_circuit_step_copies_the_next_token(toy_induction):
    result = capture(toy_induction, TEXT)
    report = head_roles(result, probe=run_probe(toy_induction, seed=3))
    heads = circuit_heads(report)
    pairs = repeated_positions(result.source.token_ids, result.source.special)
    query = pairs[len(pairs) // 2][0]
    step = circuit_step(toy_induction, result, heads, query)
    assert step.previous_row.argmax() == step.earlier  # position j+1 looks at j
    assert step.induction_row.argmax() == step.earlier + 1  # the induction head looks at j+1
    assert step.predictions[0][0] == step.copied  # and the model predicts the copied token


def test_training_curve_shows_the_drop_on_the_repeated_copy():
    data = json.loads((BUILTIN_MODELS["toy-induction"].locate() / "training_curve.json").read_text())
    curve = data["curve"]
    end = curve[-1]
    assert end["repeated_copy"] < 0.3 * end["first_copy"]
    assert curve[0]["repeated_copy"] > 0.8 * curve[0]["first_copy"]  # before training both are guesses
