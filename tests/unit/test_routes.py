"""Information-flow routes checked against a plain, loop-by-loop implementation of the paper's formula.

The reference reads the model without attnviz (its eager ``output_attentions`` and hidden states),
recomputes every part of every residual sum from the layers' own weights in float64, and applies
``max(0, ‖y‖₁ − ‖y − z‖₁)`` normalised over the parts (floor 1e-5, as the LLM Transparency Tool) one
(query, key, head) at a time. Query/key weights are sharpened so the maps are not near-uniform.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers

from attnviz import load_model
from attnviz.contributions.routes import (
    EPS,
    parse_node,
    route_contributions,
    route_graph,
)
from attnviz.errors import StreamError
from tests.architectures import ARCHITECTURES, build
from tests.family_table import REGENERATE, families_where, table_says

TEXT = "the boy found a good book and the girl read it"


def _sharpened(name: str, folder, tokenizer, *, scale: float = 15.0):
    """A tiny model of ``name`` with query and key weights multiplied by ``scale`` (peaked attention), saved again."""
    build(name, folder, tokenizer)
    family = ARCHITECTURES[name][0]
    cls = transformers.AutoModel if family == "encoder" else transformers.AutoModelForCausalLM
    model = cls.from_pretrained(folder)
    with torch.no_grad():
        for module_name, module in model.named_modules():
            if module_name.split(".")[-1] in ("q_proj", "k_proj", "query", "key"):
                module.weight.mul_(scale)
    model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def sharpened(tmp_path_factory):
    from attnviz.toy.tokenizer import build_tokenizer

    tokenizer = build_tokenizer("translator")
    root = tmp_path_factory.mktemp("routes")
    return {name: _sharpened(name, root / name, tokenizer) for name in ("llama-gqa", "bert")}


def _eager(folder, family):
    cls = transformers.AutoModel if family == "encoder" else transformers.AutoModelForCausalLM
    model = cls.from_pretrained(folder, attn_implementation="eager").eval().double()
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    inputs = tokenizer(TEXT, return_tensors="pt")
    with torch.no_grad():
        out = model(**inputs, output_attentions=True, output_hidden_states=True)
    return model, [a[0] for a in out.attentions], [h[0] for h in out.hidden_states]


def _loop_shares(parts: dict, residual: torch.Tensor, whole: torch.Tensor) -> tuple[dict, float]:
    """The paper's formula, one part at a time: ``{key: share}`` and the residual's share."""
    def raw(z):
        return max(EPS, float(whole.abs().sum() - (whole - z).abs().sum()))

    raws = {key: raw(z) for key, z in parts.items()}
    rest = raw(residual)
    total = sum(raws.values()) + rest
    return {key: r / total for key, r in raws.items()}, rest / total


def _head_vectors(v: torch.Tensor, w_o: torch.Tensor, heads: int) -> list[torch.Tensor]:
    """``v_j W_O^h`` per head: ``v`` [kv_heads, key, D], ``w_o`` [H·D, d] → list of [key, d]."""
    kv, _, d_head = v.shape
    return [v[h // (heads // kv)] @ w_o[h * d_head:(h + 1) * d_head] for h in range(heads)]


@torch.no_grad()
def _llama_reference(folder):
    """Every layer's shares of a Llama (grouped KV heads, rotary, RMSNorm), recomputed from its modules."""
    model, attentions, hidden = _eager(folder, "decoder")
    config = model.config
    heads, kv = config.num_attention_heads, config.num_key_value_heads
    d_head = config.hidden_size // heads
    layers = []
    for li, block in enumerate(model.model.layers):
        pre = hidden[li]
        n = pre.shape[0]
        v = block.self_attn.v_proj(block.input_layernorm(pre)).view(n, kv, d_head).transpose(0, 1)  # [kv, K, D]
        w_o = block.self_attn.o_proj.weight.T
        u = _head_vectors(v, w_o, heads)
        alpha = attentions[li]  # [H, Q, K]
        middle = pre + sum(alpha[h] @ u[h] for h in range(heads))  # Llama's o_proj has no bias
        mlp_out = block.mlp(block.post_attention_layernorm(middle))
        post = middle + mlp_out
        if li + 1 < len(model.model.layers):
            torch.testing.assert_close(post, hidden[li + 1])  # the recomputation is the model's own
        rows = []
        for i in range(n):
            parts = {(j, h): alpha[h, i, j] * u[h][j] for j in range(i + 1) for h in range(heads)}
            rows.append(_loop_shares(parts, pre[i], middle[i]))
        mlp = [_loop_shares({"mlp": mlp_out[i]}, middle[i], post[i]) for i in range(n)]
        layers.append((rows, mlp))
    return layers


@torch.no_grad()
def _bert_reference(folder):
    """A post-LN BERT's shares through its LayerNorms (Kobayashi et al., 2021), recomputed from its weights."""
    model, attentions, hidden = _eager(folder, "encoder")
    heads = model.config.num_attention_heads
    d_head = model.config.hidden_size // heads
    layers = []
    for li, block in enumerate(model.encoder.layer):
        pre = hidden[li]
        n = pre.shape[0]
        v = block.attention.self.value(pre).view(n, heads, d_head).transpose(0, 1)  # [H, K, D]
        dense = block.attention.output.dense
        u = _head_vectors(v, dense.weight.T, heads)
        alpha = attentions[li]
        summed = pre + sum(alpha[h] @ u[h] for h in range(heads)) + dense.bias
        norm = block.attention.output.LayerNorm
        sigma = (summed.var(-1, unbiased=False, keepdim=True) + norm.eps).sqrt()

        def through(z, s=sigma, ln=norm):  # γ (z − mean z) / σ: LayerNorm as a linear map, σ from the real pass
            return ln.weight * (z - z.mean(-1, keepdim=True)) / (s[:, None] if z.dim() == 3 else s)

        middle = norm(summed)
        # Direct recomputation: the parts carried through the norm add up to the block's real output.
        bias_part = through(dense.bias.expand(n, -1)) + norm.bias
        recomposed = through(pre) + bias_part + sum(through(alpha[h][:, :, None] * u[h][None]).sum(1)
                                                    for h in range(heads))
        torch.testing.assert_close(recomposed, middle)
        mlp_raw = block.output.dense(block.intermediate(middle))
        norm2 = block.output.LayerNorm
        sigma2 = (((mlp_raw + middle).var(-1, unbiased=False, keepdim=True)) + norm2.eps).sqrt()
        post = norm2(mlp_raw + middle)
        torch.testing.assert_close(post, hidden[li + 1])
        rows = []
        for i in range(n):
            parts = {(j, h): through(alpha[h, i, j] * u[h][j])[i] for j in range(n) for h in range(heads)}
            rows.append(_loop_shares(parts, through(pre)[i], middle[i]))
        mlp = [_loop_shares({"mlp": (norm2.weight * (mlp_raw - mlp_raw.mean(-1, keepdim=True)) / sigma2)[i]},
                            (norm2.weight * (middle - middle.mean(-1, keepdim=True)) / sigma2)[i], post[i])
               for i in range(n)]
        layers.append((rows, mlp))
    return layers


def _compare(contributions, reference, atol=2e-4):
    for li, (rows, mlp) in enumerate(reference):
        ours, ours_rest = contributions.attention(li)
        for i, (expected, rest) in enumerate(rows):
            for (j, h), share in expected.items():
                assert abs(ours[i, j, h] - share) < atol, (li, i, j, h, ours[i, j, h], share)
            assert abs(ours_rest[i] - rest) < atol
            seen = np.zeros_like(ours[i], dtype=bool)
            for j, h in expected:
                seen[j, h] = True
            assert np.all(ours[i][~seen] == 0)  # sources a causal query cannot see carry nothing
            (m,), m_rest = mlp[i][0].values(), mlp[i][1]
            assert abs(contributions.mlp[li, i] - m) < atol and abs(contributions.mlp_residual[li, i] - m_rest) < atol


def test_decoder_routes_equal_the_loop_formula(sharpened):
    folder = sharpened["llama-gqa"]
    contributions = route_contributions(load_model(str(folder)), TEXT)
    reference = _llama_reference(folder)
    _, attentions, _ = _eager(folder, "decoder")
    assert max(float(a[:, 3:].max()) for a in attentions) > 0.6  # sharpened: the maps are far from uniform
    _compare(contributions, reference)
    assert not contributions.layer_norm and contributions.causal


def test_encoder_routes_include_the_layer_norm(sharpened):
    folder = sharpened["bert"]
    contributions = route_contributions(load_model(str(folder)), TEXT)
    reference = _bert_reference(folder)
    _compare(contributions, reference)
    assert contributions.layer_norm and not contributions.causal


def test_the_check_notices_a_wrong_formula(sharpened):
    """Shares off by 10 % (a wrong normaliser) fail the comparison: the check can fail."""
    folder = sharpened["llama-gqa"]
    contributions = route_contributions(load_model(str(folder)), TEXT)
    reference = _llama_reference(folder)
    _compare(contributions, reference)
    with pytest.raises(AssertionError):
        _compare(contributions, [([({k: v * 0.9 for k, v in row.items()}, rest) for row, rest in rows], mlp)
                                 for rows, mlp in reference])


def _all_edges(c, threshold):
    """Every edge of the full graph above ``threshold`` (the LLM Transparency Tool's build_full_graph)."""
    edges = {}
    for li in range(c.n_layers):
        shares_, rest = c.attention(li)
        for i in range(c.n_tokens):
            for j in range(c.n_tokens):
                w = shares_[i, j].sum() + (rest[i] if i == j else 0.0)
                if w > threshold:
                    edges[(f"I{li - 1}_{j}" if li else f"X0_{j}", f"A{li}_{i}")] = w
            for source, target, w in ((f"A{li}_{i}", f"M{li}_{i}", c.mlp[li, i]),
                                      (f"M{li}_{i}", f"I{li}_{i}", c.mlp[li, i]),
                                      (f"A{li}_{i}", f"I{li}_{i}", c.mlp_residual[li, i])):
                if w > threshold:
                    edges[(source, target)] = w
    return edges


def _reachable(edges, start):
    """Depth-first search backwards from ``start`` over ``edges``: the edges on some path into it."""
    into = {}
    for source, target in edges:
        into.setdefault(target, []).append(source)
    seen, stack, found = {start}, [start], set()
    while stack:
        node = stack.pop()
        for source in into.get(node, []):
            found.add((source, node))
            if source not in seen:
                seen.add(source)
                stack.append(source)
    return found


@pytest.mark.parametrize("threshold", [0.01, 0.05, 0.2])
def test_route_graph_is_the_search_from_the_output(sharpened, threshold):
    c = route_contributions(load_model(str(sharpened["llama-gqa"])), TEXT)
    position = c.n_tokens - 1
    graph = route_graph(c, position, threshold)
    full = _all_edges(c, threshold)
    expected = _reachable(full, f"I{c.n_layers - 1}_{position}")
    assert {(e.source, e.target) for e in graph.edges} == expected
    for e in graph.edges:
        assert e.weight > threshold and abs(e.weight - full[(e.source, e.target)]) < 1e-6
        if e.kind == "attention":  # its heads' shares (and the residual's, on its own position) make its weight
            assert abs(sum(e.heads) + e.residual - e.weight) < 1e-5
            assert parse_node(e.source)[2] <= parse_node(e.target)[2]  # causal: never from a later token


def test_a_higher_threshold_keeps_a_subset(sharpened):
    c = route_contributions(load_model(str(sharpened["bert"])), TEXT)
    low, high = route_graph(c, 2, 0.0), route_graph(c, 2, 0.1)
    assert {(e.source, e.target) for e in high.edges} <= {(e.source, e.target) for e in low.edges}
    assert len(high.edges) < len(low.edges)


# Every family of the matrix, split by the verdict the committed table records (tests/family_table.json).
FAMILIES = families_where("routes", lambda verdict: verdict == "ok")
LEFT_OUT = families_where("routes", lambda verdict: verdict != "ok")


@pytest.fixture(scope="module")
def family_dirs(tmp_path_factory):
    from attnviz.toy.tokenizer import build_tokenizer

    tokenizer = build_tokenizer("translator")
    root = tmp_path_factory.mktemp("route-families")
    return {name: build(name, root / name, tokenizer) for name in FAMILIES + LEFT_OUT}


@pytest.mark.parametrize("name", FAMILIES)
def test_families_split_into_shares_that_sum_to_one(family_dirs, name):
    """Rotary, fused QKV (GPT-2), parallel attention and MLP (GPT-J, NeoX, Phi), post-LN encoders, shared
    layers (ALBERT) and an encoder-decoder's encoder: every sum splits, every row's shares add up to one."""
    loaded = load_model(str(family_dirs[name]))
    c = route_contributions(loaded, TEXT, target="le garçon" if loaded.family == "encoder-decoder" else None)
    for layer in range(c.n_layers):
        shares_, rest = c.attention(layer)
        np.testing.assert_allclose(shares_.sum((1, 2)) + rest, 1.0, atol=1e-5)
    np.testing.assert_allclose(c.mlp + c.mlp_residual, 1.0, atol=1e-5)
    assert route_graph(c, 0, 0.0).edges


@pytest.mark.parametrize("name", LEFT_OUT)
def test_families_left_out_say_why(family_dirs, name):
    """GPT-Neo's attention is outside the attention interface (no value vectors): the verdict and its code are
    the contributions' (one support function, :func:`attnviz.tracing.support.support`)."""
    with pytest.raises(StreamError) as error:
        route_contributions(load_model(str(family_dirs[name])), TEXT, target="le garçon"
                            if ARCHITECTURES[name][0] == "encoder-decoder" else None)
    assert error.value.code == table_says(name, "routes"), f"{name}: the verdict changed; run `{REGENERATE}`"


def test_position_outside_the_text(sharpened):
    from attnviz import AttnvizError

    c = route_contributions(load_model(str(sharpened["bert"])), TEXT)
    with pytest.raises(AttnvizError):
        route_graph(c, c.n_tokens, 0.1)


def test_node_lens_is_the_logit_lens_and_ends_in_the_prediction(toy_lm, minilm):
    """A node's lens row reads its residual as the lens does: after the last layer it is the model's own
    prediction, and every layer output's row equals :func:`lens_row` of that layer."""
    from attnviz.contributions.decompose import decompose
    from attnviz.contributions.lens import lens_row
    from attnviz.contributions.routes import lens_tops
    from attnviz.result import display_label

    loaded = toy_lm
    c = route_contributions(loaded, TEXT)
    decomposition = decompose(loaded, TEXT)
    last = c.n_tokens - 1
    nodes = [f"X0_{last}", f"A1_{last}", f"I0_{last}", f"I1_{last}"]
    tops = lens_tops(loaded, c, decomposition, nodes, k=3)
    assert set(tops) == set(nodes)
    predicted = loaded.tokenizer.convert_ids_to_tokens(int(decomposition.logits[last].argmax()))
    assert tops[f"I1_{last}"][0][0] == display_label(predicted)
    for row, node in ((0, f"X0_{last}"), (1, f"I0_{last}"), (2, f"I1_{last}")):
        expected = lens_row(loaded, decomposition, row, last, k=3)
        np.testing.assert_allclose([p for _, p in tops[node]], expected.probabilities, atol=1e-5)
    assert lens_tops(minilm, route_contributions(minilm, TEXT), None, nodes) == {}


def test_notebook_and_cli_draw_the_same_routes(capsys, toy_lm):
    import json

    from attnviz.cli import main
    from attnviz.notebook import routes_view

    figure = routes_view("toy-lm", TEXT, threshold=0.1)
    assert figure.data and "threshold 0.1" in figure.layout.title.text
    assert main(["routes", "--model", "toy-lm", "--text", TEXT, "--threshold", "0.1", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    c = route_contributions(toy_lm, TEXT)
    graph = route_graph(c, c.n_tokens - 1, 0.1)
    assert [(e["source"], e["target"]) for e in printed["edges"]] == [(e.source, e.target) for e in graph.edges]
    lines = sum(len([x for x in t.x if x is None]) for t in figure.data if t.mode == "lines")
    assert lines == len(graph.edges)  # one segment per edge
    assert main(["routes", "--model", "toy-lm", "--text", " "]) == 2  # an empty text: a message, not a traceback


@pytest.mark.parametrize("name", ["gemma2-softcap", "t5-relative-bias", "llama-gqa"])
def test_the_parts_add_up_to_the_models_own_sum(family_dirs, name):
    """Without a W_O bias the (source, head) parts plus the residual are the model's own sum after attention:
    through Gemma 2's sandwich norm (each part scaled by its position's real 1/σ) and T5's relative bias too."""
    from attnviz.tracing.norms import same

    loaded = load_model(str(family_dirs[name]))
    c = route_contributions(loaded, TEXT, target="le garçon" if loaded.family == "encoder-decoder" else None)
    for parts in c.layers:
        rebuilt = parts.residual + np.einsum("hqk,hkd->qd", parts.coefficients, parts.vectors)
        assert same(torch.from_numpy(rebuilt), torch.from_numpy(parts.middle), 1e-4), name
