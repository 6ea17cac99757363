"""The built-in pretrained encoder: real weights, real numbers."""

from __future__ import annotations

import numpy as np
import torch
import transformers

from attnviz import capture
from attnviz.models.registry import resolve

SENTENCE = "The train left the station on time"


def test_shape_facts(minilm):
    assert minilm.family == "encoder"
    shape = minilm.shape
    assert (shape.n_layers, shape.n_heads, shape.n_kv_heads, shape.head_dim, shape.d_model) == (
        {"encoder": 6}, 12, 12, 32, 384)


def test_tokens_and_specials(minilm):
    result = capture(minilm, SENTENCE)
    assert result.source.tokens == ("[CLS]", "the", "train", "left", "the", "station", "on", "time", "[SEP]")
    assert result.source.special == (True,) + (False,) * 7 + (True,)
    assert result.arrays["encoder"].shape == (6, 12, 9, 9)


def test_equals_eager_output_attentions(minilm):
    result = capture(minilm, SENTENCE)
    eager = transformers.AutoModel.from_pretrained(resolve("minilm").location, attn_implementation="eager").eval()
    with torch.no_grad():
        out = eager(input_ids=torch.tensor([result.source.token_ids]), output_attentions=True)
    expected = torch.stack(out.attentions)[:, 0].numpy()
    np.testing.assert_allclose(result.arrays["encoder"], expected, atol=1e-5)


def test_capture_does_not_change_the_model_output(minilm):
    """Hidden states with every layer's pattern traced equal a plain SDPA forward."""
    from attnviz.capturing.run import model_inputs
    from attnviz.tracing.trace import run

    inputs, _, _ = model_inputs(minilm, SENTENCE)
    with torch.inference_mode():
        plain = minilm.model(**inputs).last_hidden_state
    traced = run(minilm, inputs, cache=lambda name: name.endswith("hook_pattern"))
    assert len(traced.cache) == minilm.shape.n_layers["encoder"]
    torch.testing.assert_close(traced.outputs.last_hidden_state, plain, atol=1e-5, rtol=1e-4)


def test_word_ids_group_subwords(minilm):
    result = capture(minilm, "Tokenization is unbelievable")
    words = [w for w in result.source.word_ids if w is not None]
    assert len(words) > len(set(words))  # some word split into several word pieces
    assert sorted(set(words)) == [0, 1, 2]
