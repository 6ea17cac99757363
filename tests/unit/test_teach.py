"""The teaching computations: from scratch they follow the formula; on real models they equal the model."""

from __future__ import annotations

import numpy as np
import pytest

from attnviz import capture
from attnviz.masks import causal_mask
from attnviz.models.weights import exposes_weights
from attnviz.teach.derivation import DerivationUnsupported, derive
from attnviz.teach.scratch import attention_steps, softmax_rows

DEMO = "The train left the station on time"


def test_scratch_identity_projections_and_shapes():
    x = np.arange(18, dtype=float).reshape(6, 3) / 10
    steps = attention_steps(x)
    np.testing.assert_array_equal(steps.q, x)
    assert steps.scores.shape == (6, 6) and steps.output.shape == (6, 3)
    np.testing.assert_allclose(steps.scaled, x @ x.T / np.sqrt(3))
    np.testing.assert_allclose(steps.weights.sum(axis=1), 1.0)


def test_scratch_matches_a_hand_computed_example():
    x = np.array([[1.0, 0.0], [0.0, 1.0]])
    steps = attention_steps(x, scale=False)
    e = np.e
    np.testing.assert_allclose(steps.weights, [[e / (e + 1), 1 / (e + 1)], [1 / (e + 1), e / (e + 1)]])


def test_scratch_causal_mask_zeroes_the_future_and_renormalises():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 4))
    w = [rng.normal(size=(4, 2)) for _ in range(3)]
    steps = attention_steps(x, *w, causal=True)
    upper = np.triu(np.ones((5, 5), dtype=bool), k=1)
    assert np.isneginf(steps.masked[upper]).all()
    assert (steps.weights[upper] == 0).all()
    np.testing.assert_allclose(steps.weights.sum(axis=1), 1.0)
    assert steps.weights[0, 0] == pytest.approx(1.0)
    # Row i equals a softmax over the first i+1 scaled scores only.
    for i in range(5):
        np.testing.assert_allclose(steps.weights[i, : i + 1], softmax_rows(steps.scaled[i : i + 1, : i + 1])[0])


def test_scratch_rejects_bad_shapes():
    with pytest.raises(ValueError):
        attention_steps(np.zeros((3, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError):
        attention_steps(np.zeros((0, 2)))


def test_derivation_on_minilm_equals_the_model(minilm):
    d = derive(minilm, DEMO, "encoder", layer=2, head=5)
    p = d.projections
    assert p.x.shape == (9, 384) and p.w_q.shape == (384, 32) and d.q.shape == (9, 32)
    np.testing.assert_allclose(p.q, d.q, atol=1e-4)  # no rotary: X W_q + b_q is the Q attention used
    assert not d.rotary
    assert d.concat.shape == (9, 384) and d.w_o.shape == (384, 384)
    assert d.scale == pytest.approx(1 / np.sqrt(32))
    np.testing.assert_allclose(d.weights, d.model_weights, atol=1e-5)
    np.testing.assert_allclose(d.concat, d.model_concat, atol=1e-5)
    np.testing.assert_allclose(d.output, d.model_output, atol=1e-5)


@pytest.mark.parametrize("kind", ["encoder", "decoder", "cross"])
def test_derivation_on_the_toy_translator_equals_the_model(kind, toy_translator):
    translator = toy_translator
    d = derive(translator, DEMO, kind, layer=1, head=2, target="火车准时驶出车站")
    np.testing.assert_allclose(d.weights, d.model_weights, atol=1e-5)
    np.testing.assert_allclose(d.output, d.model_output, atol=1e-5)
    if kind == "decoder":
        assert d.mask[0, 1] and not d.mask[1, 0]
    if kind == "cross":
        assert d.q.shape[0] == len(d.queries) and d.k.shape[0] == len(d.keys) != d.q.shape[0]


@pytest.mark.parametrize("head", [0, 3])
def test_derivation_covers_rotary_and_grouped_kv_heads(head, toy_lm):
    """The toy LM rotates Q and K and shares 2 KV heads among 4 query heads; the derivation still holds."""
    lm = toy_lm
    d = derive(lm, "the train left the station", "decoder", 1, head)
    assert d.rotary and d.kv_head == head // 2
    assert not np.allclose(d.projections.q, d.q, atol=1e-4)  # rotation changed Q
    np.testing.assert_allclose(d.weights, d.model_weights, atol=1e-5)
    np.testing.assert_allclose(d.concat, d.model_concat, atol=1e-5)
    np.testing.assert_allclose(d.output, d.model_output, atol=1e-5)
    assert np.array_equal(d.mask, causal_mask(len(d.q)))


def test_position_bias_models_are_refused_clearly(tiny_models):
    t5 = tiny_models["t5"]
    assert not exposes_weights(t5, "encoder")
    with pytest.raises(DerivationUnsupported, match="output projection"):
        derive(t5, "the teacher", "encoder", 0, 0)


def test_lesson_numbers(toy_lm, minilm):
    from attnviz.errors import InputTextError
    from attnviz.teach.lessons import playground_steps, prefix_change, tiny_causal_demo, value_contributions

    demo = tiny_causal_demo()
    assert demo.x.shape == (4, 3) and np.array_equal(demo.mask, causal_mask(4))
    with pytest.raises(InputTextError):
        playground_steps(np.array([[1.0, np.nan]]), use_projections=False, seed=0, scale=True, causal=False)
    a = playground_steps(np.eye(3), use_projections=True, seed=3, scale=True, causal=False)
    b = playground_steps(np.eye(3), use_projections=True, seed=3, scale=True, causal=False)
    np.testing.assert_array_equal(a.w_q, b.w_q)  # seeded
    lm = toy_lm
    full, prefix = capture(lm, "the train left the station"), capture(lm, "the train left")
    assert prefix_change(full, prefix, 1) < 1e-5  # the past never sees the future
    d = derive(minilm, DEMO, "encoder", 1, 0)
    parts, output = value_contributions(d, 2, top=len(d.weights))
    np.testing.assert_allclose(sum(p.weighted_value for p in parts), output, atol=1e-9)
