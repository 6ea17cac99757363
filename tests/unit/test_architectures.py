"""Every family in the curated matrix: captured weights equal eager output_attentions, the model's outputs
are unchanged by capture, rows are distributions, masked cells are exactly 0, and a padded batch
gives exactly the single-text results."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import transformers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attnviz import capture, capture_batch, load_model
from attnviz.capturing.run import model_inputs
from attnviz.errors import CaptureShapeError
from attnviz.masks import causal_mask
from attnviz.models.loading import wrap_model
from attnviz.tracing.modules import accepted_kwargs
from attnviz.tracing.trace import run
from tests.architectures import ARCHITECTURES, build, eager_attentions
from tests.family_table import REGENERATE, committed, differences, families_where, probe, table_says

SENTENCE = "the teacher saw a book in the park yesterday"
SHORT = "a dog ran"
TARGET = "老师 昨天 在 公园 看见 书"
SHORT_TARGET = "狗 跑"
WORDS = "the a teacher saw book park dog ran train left station on time yesterday".split()


@pytest.fixture(scope="module")
def tokenizer():
    from attnviz.toy.tokenizer import build_tokenizer

    return build_tokenizer("translator")


@pytest.fixture(scope="module")
def folders(tmp_path_factory, tokenizer):
    root = tmp_path_factory.mktemp("architectures")
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = build(name, root / name, tokenizer)
        return cache[name]

    return get


def _target(family):
    return TARGET if family == "encoder-decoder" else None


def _check_distributions(result):
    for kind, array in result.arrays.items():
        assert not np.isnan(array).any()
        np.testing.assert_allclose(array.sum(-1), 1.0, atol=1e-5)
        if kind == "decoder":
            assert np.abs(array[..., causal_mask(*array.shape[-2:])]).max() == 0.0


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_capture_equals_eager_output_attentions(folders, name):
    family = ARCHITECTURES[name][0]
    loaded = load_model(str(folders(name)))
    assert loaded.family == family
    result = capture(loaded, SENTENCE, target=_target(family))
    target_ids = torch.tensor([result.decoder_input.token_ids]) if result.decoder_input else None
    reference, _ = eager_attentions(folders(name), family, torch.tensor([result.source.token_ids]), target_ids)
    assert set(result.arrays) == set(reference)
    for kind, expected in reference.items():
        np.testing.assert_allclose(result.arrays[kind], expected[:, 0].numpy(), atol=1e-5)
    _check_distributions(result)
    _check_peaked(result)


def _check_peaked(result, at_least: float = 2.0):
    """Sharpened weights (tests/architectures.py): a row's largest weight is well above uniform over the keys it
    may see, so equality to 1e-5 would notice a wrong scale or soft-cap (uniform maps hide both)."""
    for kind, array in result.arrays.items():
        peak = np.nanmean(array.max(-1) * (array > 0).sum(-1))  # 1.0 for uniform rows
        assert peak >= at_least, (kind, peak)


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_padded_batch_equals_single_texts(folders, name):
    family = ARCHITECTURES[name][0]
    loaded = load_model(str(folders(name)))
    texts, targets = [SENTENCE, SHORT], [_target(family), SHORT_TARGET if family == "encoder-decoder" else None]
    batch = capture_batch(loaded, texts, targets)
    for text, target, batched in zip(texts, targets, batch):
        single = capture(loaded, text, target=target)
        assert batched.source == single.source and batched.decoder_input == single.decoder_input
        for kind, array in single.arrays.items():
            assert batched.arrays[kind].shape == array.shape  # padded positions never appear
            np.testing.assert_allclose(batched.arrays[kind], array, atol=1e-5)
        _check_distributions(batched)


def test_the_probe_agrees_with_the_committed_family_table(folders):
    """The family tests take their expectations from tests/family_table.json. When a transformers release moves
    a family to another capture path (or a view changes its verdict), this test names it: regenerate the table."""
    found = {name: probe(name, folders(name)) for name in ARCHITECTURES}
    changed = differences(found, committed())
    assert not changed, "the model probe disagrees with tests/family_table.json; run `" + REGENERATE + \
        "` and review the diff:\n" + "\n".join(changed)


# The families whose forward runs through the attention interface: the committed table says which, so a
# regression that sent them to the eager fallback fails here instead of turning into skips.
@pytest.mark.parametrize("name", families_where("capture_path", lambda path: path == "interface"))
def test_capture_leaves_the_model_output_unchanged(folders, name):
    """The capturing forward's outputs equal those of stock transformers models loaded from the same folder with
    attn_implementation="eager" and with "sdpa" (where the architecture has an SDPA path)."""
    family = ARCHITECTURES[name][0]
    loaded = load_model(str(folders(name)))
    assert loaded.capture_path == "interface", f"{name} left the attention interface; run `{REGENERATE}`"
    inputs, _, _ = model_inputs(loaded, SENTENCE, _target(family), max_tokens=64, max_new_tokens=4)
    traced = run(loaded, inputs, cache=lambda hook: hook.endswith("hook_pattern"))
    assert len(traced.cache) == sum(len(sites) for sites in loaded.sites.values())  # every layer's weights made
    captured = traced.outputs
    field = "logits" if getattr(captured, "logits", None) is not None else "last_hidden_state"
    compared = 0
    for implementation in ("eager", "sdpa"):
        try:
            stock = type(loaded.model).from_pretrained(folders(name), attn_implementation=implementation).eval()
        except (ValueError, ImportError):  # this architecture has no SDPA path
            continue
        with torch.inference_mode():
            plain = stock(**accepted_kwargs(stock, inputs), use_cache=False)
        torch.testing.assert_close(getattr(captured, field), getattr(plain, field), atol=1e-5, rtol=1e-4)
        compared += 1
    assert compared >= 1


def test_modules_with_different_head_counts_get_buffers_of_their_own(folders):
    """4 encoder heads, 2 decoder heads: no head is drawn from memory nobody wrote."""
    loaded = load_model(str(folders("bart-mixed-heads")))
    assert loaded.shape.layout["encoder"].heads == (4, 4)
    assert loaded.shape.layout["decoder"].heads == (2, 2) and loaded.shape.layout["cross"].heads == (2, 2)
    assert loaded.shape.heads_of("decoder", 0) == 2 and loaded.shape.n_heads == 4
    result = capture(loaded, SENTENCE, target=TARGET)
    assert result.arrays["encoder"].shape[1] == 4 and result.arrays["decoder"].shape[1] == 2
    assert result.attention("cross", 1).shape[0] == 2
    with pytest.raises(KeyError, match="2 heads"):
        result.attention("decoder", 0, 3)
    _check_distributions(result)


def test_a_shape_that_disagrees_with_the_probe_is_an_error(folders):
    loaded = load_model(str(folders("bert")))
    wrong = [dataclasses.replace(site, heads=site.heads + 1) for site in loaded.sites["encoder"]]
    broken = dataclasses.replace(loaded, sites={"encoder": wrong})
    with pytest.raises(CaptureShapeError, match="changed shape between calls"):
        capture(broken, SENTENCE)


def test_shared_layers_give_one_map_per_application(folders):
    """ALBERT runs one set of weights three times: three layers, each its own map."""
    loaded = load_model(str(folders("albert-shared")))
    sites = loaded.sites["encoder"]
    assert len(sites) == 3 and len({id(s.module) for s in sites}) == 1
    assert [s.application for s in sites] == [0, 1, 2]
    result = capture(loaded, SENTENCE)
    assert result.arrays["encoder"].shape[0] == 3
    assert not np.allclose(result.attention("encoder", 0), result.attention("encoder", 2))
    only_last = capture(loaded, SENTENCE, layers=[2])
    np.testing.assert_allclose(only_last.attention("encoder", 2), result.attention("encoder", 2), atol=1e-6)


def test_a_configuration_that_repeats_a_layer(tokenizer):
    """A decoder whose layer list holds layer 0 twice (recurrent depth) is captured per application."""
    config = transformers.LlamaConfig(**{**ARCHITECTURES["llama-gqa"][1](len(tokenizer)).to_dict(),
                                         "num_hidden_layers": 3})
    torch.manual_seed(0)
    model = transformers.AutoModelForCausalLM.from_config(config)
    model.model.layers[2] = model.model.layers[0]
    loaded = wrap_model(model, tokenizer, "recurrent")
    assert loaded.shape.n_layers == {"decoder": 3}
    assert loaded.sites["decoder"][2].module is loaded.sites["decoder"][0].module
    result = capture(loaded, SENTENCE)
    model.set_attn_implementation("eager")
    with torch.no_grad():
        expected = model(input_ids=torch.tensor([result.source.token_ids]), output_attentions=True,
                         use_cache=False).attentions
    for layer in range(3):
        np.testing.assert_allclose(result.attention("decoder", layer), expected[layer][0].numpy(), atol=1e-5)


def test_output_attentions_path_keeps_only_the_layers_asked_for(folders):
    loaded = load_model(str(folders("deberta-v2-disentangled")))
    assert loaded.capture_path == "output_attentions"
    full = capture(loaded, SENTENCE)
    assert any("output_attentions" in note for note in full.notes)
    part = capture(loaded, SENTENCE, layers=[1])
    assert part.layers == {"encoder": (1,)}
    np.testing.assert_allclose(part.attention("encoder", 1), full.attention("encoder", 1), atol=1e-6)


def test_the_eager_check_notices_a_missing_soft_cap(folders):
    """Gemma 2 without its attention soft-capping gives maps more than 1e-2 away from the real ones: the family
    matrix's 1e-5 equality would catch a capture that forgot it."""
    folder = folders("gemma2-softcap")
    result = capture(load_model(str(folder)), SENTENCE)
    ids = torch.tensor([result.source.token_ids])
    capped, _ = eager_attentions(folder, "decoder", ids)
    uncapped, _ = eager_attentions(folder, "decoder", ids, attn_logit_softcapping=None)
    np.testing.assert_allclose(result.arrays["decoder"], capped["decoder"][:, 0].numpy(), atol=1e-5)
    assert np.abs(result.arrays["decoder"] - uncapped["decoder"][:, 0].numpy()).max() > 1e-2


def test_sliding_window_and_soft_capping_take_the_fast_path(folders):
    for name in ("mistral-sliding", "gemma2-softcap", "starcoder2"):
        loaded = load_model(str(folders(name)))
        assert all(site.plain_formula for site in loaded.sites["decoder"]), name


def test_sliding_window_masks_far_keys_exactly(folders):
    result = capture(load_model(str(folders("mistral-sliding"))), SENTENCE)
    n = len(result.source)
    far = np.tril(np.ones((n, n), dtype=bool), k=-4)  # window 4: key j is out of reach when i - j >= 4
    assert result.arrays["decoder"][..., far].max() == 0.0


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(layers=st.integers(1, 3), kv_heads=st.sampled_from([1, 2, 4]), groups=st.sampled_from([1, 2]),
       head_dim=st.sampled_from([4, 8]), words=st.lists(st.sampled_from(WORDS), min_size=1, max_size=14),
       encoder=st.booleans())
def test_random_tiny_configs_equal_eager(tmp_path_factory, tokenizer, layers, kv_heads, groups, head_dim, words,
                                         encoder):
    heads = kv_heads * groups
    common = {"vocab_size": len(tokenizer), "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2,
              "num_hidden_layers": layers, "num_attention_heads": heads, "max_position_embeddings": 64,
              "intermediate_size": 32}
    if encoder:
        config, family = transformers.BertConfig(hidden_size=heads * head_dim, **common), "encoder"
    else:
        config, family = transformers.LlamaConfig(hidden_size=16, head_dim=head_dim, num_key_value_heads=kv_heads,
                                                  **common), "decoder"
    torch.manual_seed(len(words))
    model = (transformers.AutoModel if encoder else transformers.AutoModelForCausalLM).from_config(config)
    folder = tmp_path_factory.mktemp("random")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    result = capture(load_model(str(folder)), " ".join(words))
    reference, _ = eager_attentions(folder, family, torch.tensor([result.source.token_ids]))
    np.testing.assert_allclose(result.arrays[family], reference[family][:, 0].numpy(), atol=1e-5)
    assert result.arrays[family].shape == (layers, heads, len(result.source), len(result.source))
    _check_distributions(result)


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_derivation_holds_wherever_it_is_offered(folders, name):
    """Recorded Q, K, V carry the derivation through rotary, grouped KV heads, fused QKV and soft-capping."""
    from attnviz.models.weights import exposes_weights
    from attnviz.teach.derivation import derive

    family = ARCHITECTURES[name][0]
    loaded = load_model(str(folders(name)))
    kinds = [kind for kind in loaded.shape.kinds if exposes_weights(loaded, kind)]
    assert kinds == table_says(name, "derivation"), f"{name}: the derivation's kinds changed; run `{REGENERATE}`"
    for kind in kinds:
        head = loaded.shape.heads_of(kind, 1) - 1
        d = derive(loaded, SENTENCE, kind, 1, head, target=_target(family))
        assert max(d.weights_error, d.concat_error, d.output_error) < 1e-5, (kind, d.weights_error, d.output_error)
