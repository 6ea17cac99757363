"""Rollout, flow, value-weighted maps, ablation, comparison and generation steps, each checked against an
independent computation (numpy from the model's own weights, a separate max-flow, step-by-step prefixes)."""

from collections import deque

import numpy as np
import pytest
import torch
import transformers

from attnviz import AttnvizError, ablate_heads, capture
from attnviz.capturing.run import capture_token_ids
from attnviz.explain.ablation import ablation_effect, every_head, head_importance
from attnviz.explain.compare import ANIMAL_PAIR, align_tokens, compare_maps
from attnviz.explain.flow import FLOW_MAX_TOKENS, attention_flow, rollout
from attnviz.explain.generation_steps import generation_steps
from attnviz.explain.value_norms import value_weighted

TEXT = "the boy found a good book"


def _eager(folder, text, family):
    """The model's own eager attention weights and hidden states, loaded without attnviz."""
    cls = {"encoder": transformers.AutoModel, "decoder": transformers.AutoModelForCausalLM}[family]
    model = cls.from_pretrained(folder, attn_implementation="eager").eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    inputs = tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        out = model(**inputs, output_attentions=True, output_hidden_states=True)
    return model, [a[0].double().numpy() for a in out.attentions], [h[0] for h in out.hidden_states]


def _residual(weights):
    a = 0.5 * weights.mean(0) + 0.5 * np.eye(weights.shape[-1])
    return a / a.sum(-1, keepdims=True)


@pytest.mark.parametrize("name", ["bert", "gpt2"])
def test_rollout_is_the_product_of_residual_attention(tiny_model_dirs, tiny_models, name):
    family = "encoder" if name == "bert" else "decoder"
    _, attentions, _ = _eager(tiny_model_dirs[name], TEXT, family)
    expected = np.eye(attentions[0].shape[-1])
    for a in attentions:
        expected = _residual(a) @ expected
    ours = rollout(capture(tiny_models[name], TEXT), family)
    np.testing.assert_allclose(ours.maps[-1], expected, atol=1e-6)
    np.testing.assert_allclose(ours.maps[-1].sum(-1), 1.0, atol=1e-9)


def _max_flow(capacity: dict, source, sink) -> float:
    """Edmonds–Karp on float capacities: an independent algorithm from the one the app uses."""
    residual = {u: dict(vs) for u, vs in capacity.items()}
    for u, vs in capacity.items():
        for v in vs:
            residual.setdefault(v, {}).setdefault(u, 0.0)
    total = 0.0
    while True:
        parent = {source: None}
        queue = deque([source])
        while queue and sink not in parent:
            u = queue.popleft()
            for v, c in residual.get(u, {}).items():
                if c > 1e-12 and v not in parent:
                    parent[v] = u
                    queue.append(v)
        if sink not in parent:
            return total
        path, v = [], sink
        while parent[v] is not None:
            path.append((parent[v], v))
            v = parent[v]
        push = min(residual[u][v] for u, v in path)
        for u, v in path:
            residual[u][v] -= push
            residual[v][u] += push
        total += push


def test_flow_equals_an_independent_max_flow(tiny_model_dirs, tiny_models):
    _, attentions, _ = _eager(tiny_model_dirs["bert"], "the boy found", "encoder")
    mixings = [_residual(a) for a in attentions]
    n = mixings[0].shape[0]
    capacity = {}
    for m, a in enumerate(mixings):
        for i in range(n):
            capacity[(m + 1, i)] = {(m, j): a[i, j] for j in range(n)}
    expected = np.array([[_max_flow(capacity, (len(mixings), i), (0, j)) for j in range(n)] for i in range(n)])
    ours = attention_flow(capture(tiny_models["bert"], "the boy found"), "encoder")
    np.testing.assert_allclose(ours.maps[0], expected, atol=5e-5)
    assert ours.layers == (len(mixings) - 1,)


def test_flow_and_rollout_refuse_what_they_cannot_do(tiny_models):
    loaded = tiny_models["bert"]
    long_text = " ".join(["the boy"] * FLOW_MAX_TOKENS)
    with pytest.raises(AttnvizError) as error:
        attention_flow(capture(loaded, long_text), "encoder")
    assert error.value.code == "flow_too_long"
    with pytest.raises(AttnvizError) as error:
        rollout(capture(loaded, TEXT, layers=[1]), "encoder")
    assert error.value.code == "rollout_needs_layers"


@pytest.mark.parametrize("name", ["bert", "llama-gqa"])
def test_value_weighted_maps_from_the_models_weights(tiny_model_dirs, tiny_models, name):
    family = "encoder" if name == "bert" else "decoder"
    model, attentions, hidden = _eager(tiny_model_dirs[name], TEXT, family)
    layer = 1
    if name == "bert":
        attention = model.encoder.layer[layer].attention
        x = hidden[layer]
        value, w_o = attention.self.value, attention.output.dense
    else:
        block = model.model.layers[layer]
        with torch.no_grad():
            x = block.input_layernorm(hidden[layer])
        value, w_o = block.self_attn.v_proj, block.self_attn.o_proj
    with torch.no_grad():
        v = value(x).double().numpy()  # [key, kv_heads * head_dim]
    w = w_o.weight.detach().double().numpy().T  # [heads * head_dim, d_model]
    heads, head_dim = attentions[layer].shape[0], w.shape[0] // attentions[layer].shape[0]
    kv_heads = v.shape[1] // head_dim
    expected = np.stack([
        attentions[layer][h] * np.linalg.norm(
            v[:, (h // (heads // kv_heads)) * head_dim:(h // (heads // kv_heads) + 1) * head_dim]
            @ w[h * head_dim:(h + 1) * head_dim], axis=-1)[None, :]
        for h in range(heads)])
    ours = value_weighted(tiny_models[name], TEXT, family, layer)
    np.testing.assert_allclose(ours.maps, expected, rtol=1e-4, atol=1e-6)


def test_ablating_nothing_changes_nothing_bit_for_bit(tiny_models):
    for name in ("bert", "gpt2", "bart"):
        loaded = tiny_models[name]
        inputs = loaded.tokenizer(TEXT, return_tensors="pt")
        if loaded.family == "encoder-decoder":
            inputs["decoder_input_ids"] = inputs["input_ids"][:, :3]
        with torch.inference_mode():
            plain = loaded.model(**inputs)[0]
            with ablate_heads(loaded, []):
                same = loaded.model(**inputs)[0]
        assert torch.equal(plain, same), name
        effect = ablation_effect(loaded, TEXT, [])
        assert effect.score == 0.0
        assert effect.text_before == effect.text_after and effect.top_before == effect.top_after


def test_every_cross_head_ablated_breaks_the_toy_translator(toy_translator):
    from attnviz.toy import evaluate
    from attnviz.toy.grammar import split_pairs

    loaded = toy_translator
    pairs = evaluate.sample(split_pairs()[1], 30)
    assert evaluate.exact_match(loaded, pairs) >= 0.95
    with ablate_heads(loaded, [h for h in every_head(loaded) if h[0] == "cross"], "zero"):
        assert evaluate.exact_match(loaded, pairs) < 0.2
    effect = ablation_effect(loaded, pairs[0].source_text, [h for h in every_head(loaded) if h[0] == "cross"])
    assert effect.text_before != effect.text_after and effect.score > 1.0


@pytest.mark.parametrize("name", ["bert", "gpt2", "bart"])
@pytest.mark.parametrize("mode", ["zero", "mean"])
def test_importance_map_equals_one_head_at_a_time(tiny_models, name, mode):
    loaded = tiny_models[name]
    importance = head_importance(loaded, TEXT, mode, target="a good book" if name == "bart" else None,
                                 rows_per_pass=5)
    for ref in every_head(loaded)[::3]:
        alone = ablation_effect(loaded, TEXT, [ref], mode, target="a good book" if name == "bart" else None)
        kind, layer, head = ref
        assert importance.scores[kind][layer, head] == pytest.approx(alone.score, rel=1e-4, abs=1e-7)
    assert np.isfinite(np.concatenate([g.ravel() for g in importance.scores.values()])).all()


def test_token_alignment_pairs_shared_and_swapped_tokens():
    same = align_tokens(["a", "b", "c"], ["a", "b", "c"])
    assert same.identical and same.labels == ("a", "b", "c")
    swapped = align_tokens(["it", "was", "tired", "."], ["it", "was", "wide", "."])
    assert swapped.pairs == ((0, 0), (1, 1), (2, 2), (3, 3)) and swapped.labels[2] == "tired/wide"
    inserted = align_tokens(["a", "b", "d"], ["a", "b", "x", "y", "d"])
    assert inserted.pairs == ((0, 0), (1, 1), (2, 4)) and inserted.unmatched_b == (2, 3)


def test_animal_pair_difference_on_minilm(minilm):
    a, b = (capture(minilm, text) for text in ANIMAL_PAIR)
    map_a, map_b = a.attention("encoder", 2, 0), b.attention("encoder", 2, 0)
    comparison = compare_maps(map_a, a.source.labels, a.source.labels, map_b, b.source.labels, b.source.labels)
    assert "tired/wide" in comparison.rows
    shared = [i for i, label in enumerate(comparison.rows) if "/" not in label]
    i, j = a.source.labels.index("animal"), a.source.labels.index("street")
    assert comparison.difference[shared.index(i), shared.index(j)] == pytest.approx(map_a[i, j] - map_b[i, j])
    itself = compare_maps(map_a, a.source.labels, a.source.labels, map_a, a.source.labels, a.source.labels)
    assert not itself.difference.any()


def test_decoder_generation_rows_equal_each_steps_prefix(toy_lm):
    loaded = toy_lm
    steps = generation_steps(loaded, "the boy found", max_new_tokens=5)
    ids = steps.result.source.token_ids
    assert len(steps.steps) >= 2
    for step in steps.steps:
        prefix, _ = capture_token_ids(loaded, ids[: step.row + 1])
        np.testing.assert_allclose(steps.result.attention("decoder", 0)[:, step.row, : step.row + 1],
                                   prefix.attention("decoder", 0)[:, -1], atol=1e-6)
        assert step.token == step.top[0].label
        if step.row + 1 < len(ids):  # what greedy decoding wrote next
            assert step.token == steps.result.source.labels[step.row + 1]
        assert sum(c.probability for c in step.top) <= 1 + 1e-9


def test_translator_generation_rows_equal_each_steps_prefix(toy_translator):
    loaded = toy_translator
    steps = generation_steps(loaded, "the boy found a good book")
    result = steps.result
    assert steps.steps[-1].token == "</s>"
    for step in steps.steps:
        prefix, _ = capture_token_ids(loaded, result.source.token_ids, result.decoder_input.token_ids[: step.row + 1])
        np.testing.assert_allclose(result.attention("cross", 1)[:, step.row], prefix.attention("cross", 1)[:, -1],
                                   atol=1e-6)


def test_an_encoder_does_not_generate(minilm):
    with pytest.raises(AttnvizError) as error:
        generation_steps(minilm, "hello")
    assert error.value.code == "not_a_generator"
