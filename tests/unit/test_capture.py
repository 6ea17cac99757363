"""Captured weights equal what transformers returns with output_attentions=True under eager."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers

from attnviz import capture, load_model
from tests.conftest import FAMILIES

SENTENCE = "the teacher saw a book in the park yesterday"
TARGET = "老师 昨天 在 公园 看见 书"


def _eager_reference(folder, family, result):
    """Attention from a second copy of the model under eager with output_attentions=True."""
    cls = {"encoder": transformers.AutoModel, "decoder": transformers.AutoModelForCausalLM,
           "encoder-decoder": transformers.AutoModelForSeq2SeqLM}[family]
    model = cls.from_pretrained(folder, attn_implementation="eager").eval()
    ids = torch.tensor([result.source.token_ids])
    kwargs = {"input_ids": ids, "output_attentions": True}
    if family == "encoder-decoder":
        kwargs["decoder_input_ids"] = torch.tensor([result.decoder_input.token_ids])
    with torch.no_grad():
        out = model(**kwargs)
    stack = lambda attn: torch.stack(attn)[:, 0].numpy()  # noqa: E731  (layers, heads, q, k)
    if family == "encoder":
        return {"encoder": stack(out.attentions)}
    if family == "decoder":
        return {"decoder": stack(out.attentions)}
    return {"encoder": stack(out.encoder_attentions), "decoder": stack(out.decoder_attentions),
            "cross": stack(out.cross_attentions)}


@pytest.mark.parametrize("name", list(FAMILIES))
def test_weights_equal_eager_output_attentions(tiny_model_dirs, tiny_models, name):
    family = FAMILIES[name]
    loaded = tiny_models[name]
    assert loaded.family == family
    result = capture(loaded, SENTENCE, target=TARGET if family == "encoder-decoder" else None)
    reference = _eager_reference(tiny_model_dirs[name], family, result)
    assert set(result.arrays) == set(reference)
    for kind, expected in reference.items():
        assert result.arrays[kind].shape == expected.shape
        np.testing.assert_allclose(result.arrays[kind], expected, atol=1e-5)


@pytest.mark.parametrize("name", list(FAMILIES))
def test_rows_are_distributions_and_causal_triangle_is_zero(tiny_models, name):
    family = FAMILIES[name]
    result = capture(tiny_models[name], SENTENCE,
                     target=TARGET if family == "encoder-decoder" else None)
    for kind, array in result.arrays.items():
        np.testing.assert_allclose(array.sum(-1), 1.0, atol=1e-5)
        assert (array >= 0).all()
        if kind == "decoder":
            upper = np.triu(np.ones(array.shape[-2:], dtype=bool), k=1)
            assert np.abs(array[..., upper]).max() == 0.0
        elif kind == "encoder":
            upper = np.triu(np.ones(array.shape[-2:], dtype=bool), k=1)
            assert array[..., upper].max() > 0  # bidirectional: the future is visible


@pytest.mark.parametrize("name", ["t5", "bart", "marian"])
def test_cross_attention_is_target_by_source(tiny_models, name):
    result = capture(tiny_models[name], SENTENCE, target=TARGET)
    n_layers, n_heads, q, k = result.arrays["cross"].shape
    assert (q, k) == (len(result.decoder_input), len(result.source))
    assert result.output_tokens is not None and len(result.output_tokens) == len(result.decoder_input)
    assert result.key_tokens("cross") is result.source and result.query_tokens("cross") is result.decoder_input


@pytest.mark.parametrize("name", ["bert", "gpt2", "t5"])
def test_selective_capture_returns_exactly_the_layers_asked_for(tiny_models, name):
    family = FAMILIES[name]
    loaded = tiny_models[name]
    target = TARGET if family == "encoder-decoder" else None
    full = capture(loaded, SENTENCE, target=target)
    kind = full.kinds[-1]
    last = loaded.shape.n_layers[kind] - 1
    partial = capture(loaded, SENTENCE, target=target, layers={kind: [last]})
    assert partial.kinds == (kind,)
    assert partial.layers == {kind: (last,)}
    assert partial.arrays[kind].shape[0] == 1
    np.testing.assert_allclose(partial.attention(kind, last), full.attention(kind, last), atol=1e-6)


def test_selective_capture_leaves_other_layers_on_sdpa(tiny_model_dirs, monkeypatch):
    """Only the asked-for layer leaves SDPA; every other layer keeps the fast path."""
    from attnviz.tracing import handler as capturer

    sdpa_modules = []
    original = capturer.sdpa
    monkeypatch.setattr(capturer, "sdpa",
                        lambda module, *a, **k: sdpa_modules.append(module) or original(module, *a, **k))
    loaded = load_model(str(tiny_model_dirs["bert"]))  # its own load: wired up while SDPA calls are counted
    sdpa_modules.clear()
    capture(loaded, SENTENCE, layers=[1])
    sites = loaded.sites["encoder"]
    assert sdpa_modules == [sites[0].module, sites[2].module]


@pytest.mark.parametrize("name", ["bert", "llama-gqa", "bart"])
def test_plain_formula_fast_path_is_verified_at_load(tiny_models, name):
    loaded = tiny_models[name]
    assert all(site.plain_formula for sites in loaded.sites.values() for site in sites)


def test_t5_position_bias_keeps_the_models_own_eager_path(tiny_models):
    loaded = tiny_models["t5"]
    assert not any(site.plain_formula for site in loaded.sites["encoder"])


def test_grouped_query_shape_facts(tiny_models):
    loaded = tiny_models["llama-gqa"]
    assert (loaded.shape.n_heads, loaded.shape.n_kv_heads, loaded.shape.head_dim) == (4, 2, 8)
    result = capture(loaded, SENTENCE)
    assert result.arrays["decoder"].shape[1] == 4  # one map per query head, KV heads repeated


def test_t5_layer_counts_per_kind(tiny_models):
    shape = tiny_models["t5"].shape
    assert shape.n_layers == {"encoder": 2, "decoder": 3, "cross": 3}


def test_generated_target_when_none_given(tiny_models):
    result = capture(tiny_models["bart"], SENTENCE, max_new_tokens=5)
    assert result.target_generated
    assert result.arrays["cross"].shape[-2:] == (len(result.decoder_input), len(result.source))
