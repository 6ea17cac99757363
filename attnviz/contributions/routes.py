"""Information-flow routes (Ferrando & Voita, 2024): which positions and heads carry a prediction.

Every residual update is a sum of parts. After attention at layer l, position i holds
``y = x_i + Σ_{j,h} α^h_ij v^h_j W_O^h + b_O``; the parts are the residual ``x_i`` and one vector per
(source j, head h). A part z's share of y is ``max(0, ‖y‖₁ − ‖y − z‖₁)``, normalised over the parts
of the sum (the formula of the paper and of the LLM Transparency Tool, with its floor of 1e-5 instead
of 0 so that a row of tiny parts never divides by zero). After the MLP, the parts are the residual and
the MLP's output. An edge j → i of layer l weighs the sum over heads of its (j, h) shares; pruned at
a threshold, the edges reachable backwards from one position's last residual are its routes.

Post-LN encoders (BERT) normalise each sum: ``LN(s) = γ (s − μ(s)) / σ(s) + β`` is linear in s once
σ is taken from the real pass, so each part is carried through as ``γ (z − μ(z)) / σ`` and the whole
is the block's real output (Kobayashi et al., 2021, residual and LayerNorm included).

The layer boundaries (a block's input and output, its norms' inputs and outputs), each head's pattern,
V and output are read in one traced pass (:func:`attnviz.tracing.trace.run`, only in the thread that
asked, so a model shared between sessions is not disturbed); a norm is linearised by
:mod:`attnviz.tracing.norms`, the one lineariser, and a sandwich norm on attention's output (Gemma 2)
scales each part by that position's real 1/σ.
The (j, h) parts of a layer are ``[query, key, head, d]``: computed a block of queries at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from attnviz.capturing.run import model_inputs
from attnviz.capturing.tokenizing import token_labels
from attnviz.errors import InputTextError, StreamError
from attnviz.models.loading import LoadedModel
from attnviz.result import AttentionKind, TokenSequence
from attnviz.tracing.modules import weight_in_out
from attnviz.tracing.names import attention_point, block_point, norm_point, prefix, stack_of
from attnviz.tracing.norms import NormScale, norm_scale, same
from attnviz.tracing.support import support
from attnviz.tracing.trace import ActivationCache, Trace, run

EPS = 1e-5  # the LLM Transparency Tool's floor for a part's raw contribution
CHUNK_BYTES = 48 * 2**20  # one block of (query, key, head, d) parts at most


@dataclass(frozen=True)
class LayerParts:
    """One layer's sums, split: part (j, h) of query i after attention is ``coefficients[h, i, j] · vectors[h, j]``
    (post-LN: already carried through the LayerNorm), beside the ``residual[i]`` part; ``middle[i]`` is the
    whole. After the MLP: parts ``mlp_out[i]`` and ``mlp_residual[i]`` of the layer's output."""

    coefficients: np.ndarray  # [H, Q, K] float32 (numpy, so caches can count the bytes)
    vectors: np.ndarray  # [H, K, d]
    residual: np.ndarray  # [Q, d]
    middle: np.ndarray  # [Q, d]
    mlp_out: np.ndarray  # [Q, d]
    mlp_residual: np.ndarray  # [Q, d]
    post_ln: bool


@dataclass(frozen=True)
class RouteContributions:
    """The split sums of one text, with every share computed when first asked for.

    A route needs only the rows of the positions it reaches, so :meth:`attention_rows` computes a row's
    (source, head) shares once, on demand (each is ``[key, head, d]`` work), and keeps it.
    ``mlp[l, i]`` and ``mlp_residual[l, i]``: shares of the MLP's output and of the residual in i's output
    of layer l (cheap: computed at once). ``residuals[l]`` is the input of layer l, ``residuals[L]`` the last
    output ``[layer + 1, position, d]``.
    """

    model_name: str
    kind: AttentionKind
    tokens: TokenSequence
    layers: tuple[LayerParts, ...] = field(repr=False)
    mlp: np.ndarray  # [layer, position]
    mlp_residual: np.ndarray  # [layer, position]
    layer_norm: bool  # post-LN: shares taken through each block's LayerNorm
    causal: bool
    residuals: np.ndarray = field(repr=False)  # [layer + 1, position, d]
    _rows: dict = field(default_factory=dict, repr=False, compare=False)  # (layer, query) -> (shares, residual)

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    @property
    def n_tokens(self) -> int:
        return len(self.tokens)

    @property
    def n_heads(self) -> int:
        return max(p.coefficients.shape[0] for p in self.layers)

    def attention_rows(self, layer: int, queries) -> tuple[np.ndarray, np.ndarray]:
        """Shares in the residual after ``layer``'s attention of each query: ``([query, key, head], [query])``,
        the residual's share last. Rows already computed are reused."""
        queries = [int(q) for q in queries]
        missing = sorted({q for q in queries if (layer, q) not in self._rows})
        if missing:
            p = self.layers[layer]
            with torch.inference_mode():
                a, r = attention_shares(*(torch.from_numpy(x) for x in (p.coefficients, p.vectors, p.residual,
                                                                        p.middle)), self.causal, missing)
            heads = self.n_heads
            for k, q in enumerate(missing):
                row = np.zeros((self.n_tokens, heads), dtype=np.float32)
                row[:, : a.shape[2]] = a[k].numpy()
                self._rows[(layer, q)] = (row, float(r[k]))
        if not queries:
            return np.zeros((0, self.n_tokens, self.n_heads), np.float32), np.zeros(0, np.float32)
        rows = [self._rows[(layer, q)] for q in queries]
        return np.stack([row for row, _ in rows]), np.array([rest for _, rest in rows], dtype=np.float32)

    def attention(self, layer: int) -> tuple[np.ndarray, np.ndarray]:
        """Every query's row of ``layer``: ``([query, key, head], [query])``."""
        return self.attention_rows(layer, range(self.n_tokens))


# ---------------------------------------------------------------- the formula


def shares(parts_raw: torch.Tensor, residual_raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalise raw contributions ``[query, ...parts]`` and ``[query]`` so each query's row sums to 1."""
    total = parts_raw.flatten(1).sum(1) + residual_raw
    return parts_raw / total.view(-1, *([1] * (parts_raw.dim() - 1))), residual_raw / total


def raw_contribution(part: torch.Tensor, whole: torch.Tensor) -> torch.Tensor:
    """``max(EPS, ‖whole‖₁ − ‖whole − part‖₁)`` over the last axis (broadcasting ``part`` against ``whole``)."""
    return (whole.abs().sum(-1) - (whole - part).abs().sum(-1)).clamp_min(EPS)


def attention_shares(coefficients: torch.Tensor, vectors: torch.Tensor, residual: torch.Tensor,
                     whole: torch.Tensor, causal: bool, queries: list[int] | None = None
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """Shares of the (source, head) parts ``coefficients[h, i, j] · vectors[h, j]`` and of ``residual[i]``
    in ``whole[i]`` for the ``queries`` (all if None): ``([query, key, head], [query])``. Sources a causal
    query cannot see are no part of its sum."""
    heads, n_query, n_key = coefficients.shape
    queries = list(range(n_query)) if queries is None else sorted(queries)
    d = vectors.shape[-1]
    out = torch.zeros(len(queries), n_key, heads)
    block = max(1, CHUNK_BYTES // (4 * heads * n_key * d))
    for b0 in range(0, len(queries), block):
        chosen = torch.tensor(queries[b0:b0 + block])
        k1 = min(n_key, int(chosen.max()) + 1) if causal else n_key  # later keys are masked for all of them
        y = whole[chosen]  # [c, d]
        parts = coefficients[:, chosen, :k1, None] * vectors[:, None, :k1, :]  # [H, c, k, d]
        parts.neg_().add_(y[None, :, None, :]).abs_()  # |whole − part|
        raw = (y.abs().sum(-1)[None, :, None] - parts.sum(-1)).clamp_min_(EPS)  # [H, c, k]
        if causal:
            raw.mul_((torch.arange(k1)[None, :] <= chosen[:, None])[None])  # key j ≤ query i only
        out[b0:b0 + len(chosen), :k1] = raw.permute(1, 2, 0)
    return shares(out, raw_contribution(residual[queries], whole[queries]))


def mlp_shares(mlp_out: torch.Tensor, residual: torch.Tensor, whole: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Shares of the MLP's output and of the residual in each position's layer output: ``([Q], [Q])``."""
    parts, rest = shares(raw_contribution(mlp_out, whole)[:, None], raw_contribution(residual, whole))
    return parts[:, 0], rest


# ---------------------------------------------------------------- reading the layer boundaries


@dataclass(frozen=True)
class _BlockCall:
    """One block as it ran (batch row 0): its input, its output, and each norm call on residual-wide vectors."""

    pre: torch.Tensor  # [Q, d] the block's input
    post: torch.Tensor  # its output
    norms: tuple[tuple[torch.nn.Module, torch.Tensor, torch.Tensor], ...]  # (module, in, out), in call order


def _traced(loaded: LoadedModel, kind: AttentionKind, inputs: dict) -> Trace:
    """One traced pass that keeps what routes read: each block's boundary and norms, each head's pattern, V and z."""
    start = f"{prefix(stack_of(kind), loaded.family)}."
    ends = (".hook_resid_pre", ".hook_resid_post", ".hook_scale", ".attn.hook_pattern", ".attn.hook_v",
            ".attn.hook_z")
    return run(loaded, inputs, cache=lambda name: name.startswith(start) and name.endswith(ends))


def _block_calls(loaded: LoadedModel, kind: AttentionKind, cache: ActivationCache) -> list[_BlockCall]:
    family, stack = loaded.family, stack_of(kind)
    calls = []
    for layer in range(loaded.shape.n_layers[kind]):
        pre = cache[block_point(stack, layer, "resid_pre", family)][0].float()
        norms = []
        for index in range(1, 64):
            name = norm_point(stack, layer, index, family)
            if name not in cache.norm_names:
                break
            module, x, y = cache.norm_call(name)
            if x.shape == pre.shape:
                norms.append((module, x.float(), y.float()))
        calls.append(_BlockCall(pre, cache[block_point(stack, layer, "resid_post", family)][0].float(),
                                tuple(norms)))
    return calls


def _unscaled(norm: NormScale, z: torch.Tensor) -> torch.Tensor:
    """A linearised norm without its per-position scale: ``γ (z − μ(z))`` (LayerNorm) or ``γ z`` (RMSNorm)."""
    if norm.kind == "layernorm":
        z = z - z.mean(-1, keepdim=True)
    return z * torch.as_tensor(norm.weight, dtype=z.dtype)


def _scale(norm: NormScale) -> torch.Tensor:
    return torch.as_tensor(norm.scale, dtype=torch.float32)  # [Q]: 1/σ of each position in the real pass


def _split_norm(loaded: LoadedModel, module: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> NormScale:
    try:
        return norm_scale(module, x, y)
    except StreamError as error:
        raise StreamError(code=error.code, **{**error.params, "model": loaded.name}) from error


def route_contributions(loaded: LoadedModel, text: str, target: str | None = None, *,
                        max_tokens: int | None = None) -> RouteContributions:
    """Trace ``text`` and split every residual sum of every layer into its parts' shares.

    Decoders: the routes of each position's next-token prediction. Encoders: of each position's last
    hidden state. Encoder-decoders: the encoder's routes (the decoder's cross-attention edges come from
    the encoder's output, a graph of two sequences that is not drawn yet).
    """
    support(loaded, "routes")
    kind: AttentionKind = "decoder" if loaded.family == "decoder" else "encoder"
    inputs, tokens, _ = model_inputs(loaded, text, target, max_tokens=max_tokens)  # a decoder's text, or the encoder's
    cache = _traced(loaded, kind, inputs).cache
    calls = _block_calls(loaded, kind, cache)
    n_layers, n_tokens = len(calls), len(tokens)
    mlp = np.zeros((n_layers, n_tokens), dtype=np.float32)
    mlp_residual = np.zeros((n_layers, n_tokens), dtype=np.float32)
    causal = kind == "decoder"
    layers = []
    with torch.inference_mode():
        for layer, call in enumerate(calls):
            parts = _layer(loaded, kind, layer, cache, call)
            m, m_res = mlp_shares(torch.from_numpy(parts.mlp_out), torch.from_numpy(parts.mlp_residual),
                                  call.post[:n_tokens])
            mlp[layer], mlp_residual[layer] = m.numpy(), m_res.numpy()
            layers.append(parts)
    residuals = np.stack([c.pre[:n_tokens].numpy() for c in calls] + [calls[-1].post[:n_tokens].numpy()])
    return RouteContributions(loaded.name, kind, tokens, tuple(layers), mlp, mlp_residual, layers[0].post_ln, causal,
                              residuals)


def _layer(loaded: LoadedModel, kind: AttentionKind, layer: int, cache: ActivationCache, call: _BlockCall
           ) -> LayerParts:
    site = loaded.sites[kind][layer]
    family = loaded.family
    z = cache[attention_point(kind, layer, "z", family)][0].float()  # [Q, H, D]
    n = z.shape[0]
    weights = cache[attention_point(kind, layer, "pattern", family)][0].float()  # [H, Q, K]
    heads, head_dim = site.heads, site.head_dim
    projection = site.output_projection
    w_o = torch.from_numpy(weight_in_out(projection)[0]).float()  # [H·D, d]
    value = cache[attention_point(kind, layer, "v", family)][0].float().transpose(0, 1)  # [Hkv, K, D]
    value = value.repeat_interleave(heads // value.shape[0], dim=0)  # [H, K, D]
    transformed = torch.einsum("hkd,hde->hke", value, w_o.view(heads, head_dim, -1))  # v_j W_O^h  [H, K, d]
    heads_out = z.reshape(n, heads * head_dim)
    attn_out = projection(heads_out.to(projection.weight.dtype)).float()  # with b_O, exactly as the model adds it
    pre, post = call.pre[:n], call.post[:n]
    wide = [(m, s[:n], o[:n]) for m, s, o in call.norms]
    if same(post, wide[-1][2]) if wide else False:  # the block ends in a norm: post-LN
        if len(wide) != 2:
            raise StreamError(code="unsplit_post_norms", model=loaded.name, n=len(wide))
        (norm1, s1, middle), (norm2, s2, _) = wide
        if not same(pre + attn_out, s1):
            raise StreamError(code="unsplit_attention_sum", model=loaded.name)
        first, second = _split_norm(loaded, norm1, s1, middle), _split_norm(loaded, norm2, s2, post)
        return _as_numpy(weights * _scale(first)[None, :, None], _unscaled(first, transformed),
                         first.apply_torch(pre), middle, second.apply_torch(s2 - middle),
                         second.apply_torch(middle), post_ln=True)
    coefficients, vectors, middle = weights, transformed, pre + attn_out
    for module, summed, out in wide:
        if same(summed, attn_out):  # a norm on attention's output (Gemma 2's sandwich): linear once σ is fixed
            norm = _split_norm(loaded, module, summed, out)
            coefficients, vectors = weights * _scale(norm)[None, :, None], _unscaled(norm, transformed)
            middle = pre + out
    for _, summed, out in wide:  # sequential blocks normalise pre then middle; parallel ones pre twice
        if not (same(summed, pre) or same(summed, middle) or same(summed, attn_out) or same(out, post - middle)):
            raise StreamError(code="unsplit_norms", model=loaded.name)
    return _as_numpy(coefficients, vectors, pre, middle, post - middle, middle, post_ln=False)


def _as_numpy(*tensors: torch.Tensor, post_ln: bool) -> LayerParts:
    return LayerParts(*(np.ascontiguousarray(t.detach().float().numpy()) for t in tensors), post_ln=post_ln)


# ---------------------------------------------------------------- the graph

Node = str  # "X0_3" token 3's embedding, "A2_3" its residual after layer 2's attention, "M2_3" layer 2's MLP
#             at token 3, "I2_3" its residual after layer 2 (the LLM Transparency Tool's names)


def node_name(stage: str, layer: int, position: int) -> Node:
    return f"X0_{position}" if stage == "I" and layer < 0 else f"{stage}{layer}_{position}"


def parse_node(node: Node) -> tuple[str, int, int]:
    """``(stage, layer, position)``; an embedding is stage "X", layer -1."""
    stage, rest = node[0], node[1:]
    layer, position = (int(v) for v in rest.split("_"))
    return (stage, -1, position) if stage == "X" else (stage, layer, position)


@dataclass(frozen=True)
class RouteEdge:
    """``source`` → ``target`` with ``weight`` (a share of the target's sum). An attention edge's weight is
    the sum of its heads' shares, plus the residual's when the source is the target's own position."""

    source: Node
    target: Node
    weight: float
    kind: str  # "attention", "mlp" (into or out of an MLP node) or "residual" (the MLP bypass)
    layer: int
    heads: tuple[float, ...] = ()  # each head's share (attention edges)
    residual: float = 0.0  # the residual's share inside an attention edge (source position = target position)


@dataclass(frozen=True)
class RouteGraph:
    """The routes into ``position``'s last residual: every edge above ``threshold`` on a path to it."""

    model_name: str
    tokens: tuple[str, ...]
    position: int
    threshold: float
    n_layers: int
    edges: tuple[RouteEdge, ...]

    @property
    def nodes(self) -> tuple[Node, ...]:
        seen = dict.fromkeys(n for e in self.edges for n in (e.target, e.source))
        return tuple(seen) or (node_name("I", self.n_layers - 1, self.position),)


def route_graph(contributions: RouteContributions, position: int, threshold: float = 0.04) -> RouteGraph:
    """Edges with weight > ``threshold`` reachable backwards from ``position``'s output, layer by layer (the
    LLM Transparency Tool's depth-first search, done a layer at a time)."""
    c = contributions
    if not 0 <= position < c.n_tokens:
        raise InputTextError(code="routes_position", position=position, n_tokens=c.n_tokens)
    edges: list[RouteEdge] = []
    frontier = {position}  # positions whose I{layer} node is on a route
    for layer in range(c.n_layers - 1, -1, -1):
        into_attention: set[int] = set()
        for t in sorted(frontier):
            out = node_name("I", layer, t)
            through_mlp = float(c.mlp[layer, t])
            bypass = float(c.mlp_residual[layer, t])
            if through_mlp > threshold:
                edges.append(RouteEdge(node_name("M", layer, t), out, through_mlp, "mlp", layer))
                edges.append(RouteEdge(node_name("A", layer, t), node_name("M", layer, t), through_mlp, "mlp", layer))
                into_attention.add(t)
            if bypass > threshold:
                edges.append(RouteEdge(node_name("A", layer, t), out, bypass, "residual", layer))
                into_attention.add(t)
        frontier = set()
        queries = sorted(into_attention)
        rows, rests = c.attention_rows(layer, queries)
        for i, per_source, rest in zip(queries, rows, rests):  # [key, head], the residual's share
            weights = per_source.sum(1)
            weights[i] += rest
            for j in np.flatnonzero(weights > threshold):
                j = int(j)
                edges.append(RouteEdge(node_name("I", layer - 1, j), node_name("A", layer, i), float(weights[j]),
                                       "attention", layer, tuple(float(v) for v in per_source[j]),
                                       float(rest) if j == i else 0.0))
                frontier.add(j)
    return RouteGraph(c.model_name, c.tokens.labels, position, float(threshold), c.n_layers, tuple(edges))


def edge_rows(graph: RouteGraph) -> list[dict]:
    """One row per edge: ``source``, ``target``, ``kind``, ``layer``, ``weight``, the residual's share and
    each head's share (``{"head": h, "share": s}`` for heads above 0.0005)."""
    rows = []
    for e in graph.edges:
        _, _, source_position = parse_node(e.source)
        _, _, target_position = parse_node(e.target)
        rows.append({"source": e.source, "target": e.target, "kind": e.kind, "layer": e.layer,
                     "source_token": graph.tokens[source_position], "target_token": graph.tokens[target_position],
                     "weight": round(e.weight, 6), "residual": round(e.residual, 6),
                     "heads": [{"head": h, "share": round(s, 6)} for h, s in enumerate(e.heads) if s > 5e-4]})
    return rows


# ---------------------------------------------------------------- what a node's residual would predict


def node_residual(contributions: RouteContributions, node: Node) -> np.ndarray | None:
    """The residual a node stands for ([d]); an MLP node has none of its own."""
    stage, layer, position = parse_node(node)
    if stage == "X":
        return contributions.residuals[0, position]
    if stage == "I":
        return contributions.residuals[layer + 1, position]
    if stage == "A":
        return contributions.layers[layer].middle[position]
    return None


def lens_tops(loaded: LoadedModel, contributions: RouteContributions, decomposition, nodes, k: int = 5
              ) -> dict[Node, list[tuple[str, float]]]:
    """Logit lens of each node's residual: its top-``k`` next tokens with probabilities, read through the final
    norm (with that residual's own scale) and the unembedding exactly as :mod:`attnviz.contributions.lens` reads
    the stream; ``decomposition`` is that text's :func:`~attnviz.contributions.decompose.decompose`. Decoders
    only (an empty dict otherwise)."""
    from attnviz.contributions.logits import unembedding

    if contributions.kind != "decoder" or decomposition is None or decomposition.logits is None:
        return {}
    chosen = [(n, node_residual(contributions, n)) for n in nodes]
    chosen = [(n, r) for n, r in chosen if r is not None]
    if not chosen:
        return {}
    states = np.stack([r for _, r in chosen])  # [node, d]
    norm = decomposition.final_norm
    normed = states if norm is None else norm.normalise(states)
    with torch.inference_mode():
        probabilities = torch.softmax(unembedding(loaded, decomposition).logits(normed).double(), dim=-1)
        top = probabilities.topk(max(1, min(int(k), probabilities.shape[-1])), dim=-1)
    words = token_labels(loaded.tokenizer, top.indices.flatten().tolist())
    width = top.indices.shape[1]
    return {node: [(words[row * width + c], float(top.values[row, c])) for c in range(width)]
            for row, (node, _) in enumerate(chosen)}
