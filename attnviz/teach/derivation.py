"""Recompute one attention layer of a real model by hand, step by step, and check it against the model.

X -> Q, K, V (per head) -> Q Kᵀ -> · scale -> mask -> softmax -> · V -> concat heads -> W_o.

Q, K and V are the ones the model's attention function received (recorded during capture), so the
derivation holds for every family captured through the attention interface: rotary position
embeddings (Llama, Qwen, the toy LM) are already applied, grouped KV heads are shared, fused QKV
projections (GPT-2) were already split. Where the projections X W + b can be read off the module
(separate or fused Q/K/V weights) the first steps show them too, and say when rotary changed Q and K.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attnviz.capturing.run import capture
from attnviz.errors import AttnvizError
from attnviz.models.loading import LoadedModel
from attnviz.models.weights import exposes_weights, weight_in_out
from attnviz.result import AttentionKind, TokenSequence
from attnviz.teach.scratch import softmax_rows
from attnviz.tracing.names import attention_point, block_point, stack_of
from attnviz.tracing.points import qkv_projections
from attnviz.tracing.probe import AttentionSite
from attnviz.tracing.trace import tracing


class DerivationUnsupported(AttnvizError):
    """This model's attention cannot be recomputed from recorded Q, K, V and a found W_o."""

    default_code = "derivation_unsupported"


@dataclass(frozen=True)
class Projections:
    """This head's slices of the Q/K/V projections, so that Q = X W_q + b_q (before rotary)."""

    x: np.ndarray  # [n_q, d_model] input of the queries
    x_kv: np.ndarray  # [n_k, d_model] input of keys and values (the source, for cross-attention)
    w_q: np.ndarray  # [d_model, d_head]
    b_q: np.ndarray
    w_k: np.ndarray
    b_k: np.ndarray
    w_v: np.ndarray
    b_v: np.ndarray

    @property
    def q(self) -> np.ndarray:
        return self.x @ self.w_q + self.b_q

    @property
    def k(self) -> np.ndarray:
        return self.x_kv @ self.w_k + self.b_k

    @property
    def v(self) -> np.ndarray:
        return self.x_kv @ self.w_v + self.b_v


@dataclass(frozen=True)
class Derivation:
    """Every step for one head, plus the whole layer's concat and output (ours and the model's)."""

    kind: AttentionKind
    layer: int
    head: int
    n_heads: int
    kv_head: int  # the K/V head this query head reads (grouped-query attention shares them)
    queries: TokenSequence
    keys: TokenSequence
    projections: Projections | None  # None where the projection weights cannot be read off the module
    rotary: bool  # Q and K were rotated (position) after the projection
    q: np.ndarray  # [n_q, d_head] as the attention function received it
    k: np.ndarray  # [n_k, d_head]
    v: np.ndarray  # [n_k, d_head]
    scores: np.ndarray  # Q Kᵀ  [n_q, n_k]
    scale: float
    scaled: np.ndarray
    softcap: float | None
    mask: np.ndarray  # True = forbidden (causal, sliding window)
    masked: np.ndarray
    weights: np.ndarray  # softmax rows
    head_output: np.ndarray  # weights V  [n_q, d_head]
    concat: np.ndarray  # all heads side by side  [n_q, n_heads * d_head]
    w_o: np.ndarray  # [n_heads * d_head, d_model]
    b_o: np.ndarray
    output: np.ndarray  # concat W_o + b_o  [n_q, d_model]
    model_weights: np.ndarray  # the model's own attention weights for this head
    model_concat: np.ndarray  # what the model fed into W_o
    model_output: np.ndarray  # what came out of W_o in the model

    @property
    def x(self) -> np.ndarray | None:
        return None if self.projections is None else self.projections.x

    @property
    def weights_error(self) -> float:
        return float(np.abs(self.weights - self.model_weights).max())

    @property
    def concat_error(self) -> float:
        return float(np.abs(self.concat - self.model_concat).max())

    @property
    def output_error(self) -> float:
        return float(np.abs(self.output - self.model_output).max())

    def arrays(self) -> dict[str, np.ndarray]:
        """Every matrix by name, for an NPZ download."""
        named = {name: getattr(self, name) for name in (
            "q", "k", "v", "scores", "scaled", "mask", "masked", "weights", "head_output", "concat", "w_o", "b_o",
            "output", "model_weights", "model_concat", "model_output")}
        if self.projections is not None:
            named.update({f"{name}": getattr(self.projections, name) for name in (
                "x", "x_kv", "w_q", "b_q", "w_k", "b_k", "w_v", "b_v")})
        return named


def _site(loaded: LoadedModel, kind: AttentionKind, layer: int) -> AttentionSite:
    if not exposes_weights(loaded, kind):
        raise DerivationUnsupported(code="derivation_unsupported", model=loaded.name, kind=kind)
    return loaded.sites[kind][layer]


def _head_projections(modules, fused: bool, x, x_kv, head, kv_head, heads, kv_heads, head_dim
                      ) -> Projections | None:
    weights = [weight_in_out(m) for m in modules]
    if fused:  # one [d_model, (H + 2 Hkv) * D] matrix: Q heads, then K heads, then V heads
        weight, bias = weights[0]
        if weight.shape[1] != (heads + 2 * kv_heads) * head_dim:
            return None  # interleaved layouts (GPT-NeoX) are not sliced here
        q_width, kv_width = heads * head_dim, kv_heads * head_dim
        bias = np.zeros(weight.shape[1]) if bias is None else bias
        cuts = (slice(0, q_width), slice(q_width, q_width + kv_width), slice(q_width + kv_width, None))
        weights = [(weight[:, c], bias[c]) for c in cuts]

    def head_slice(pair, index):
        weight, bias = pair
        columns = slice(index * head_dim, (index + 1) * head_dim)
        return weight[:, columns], (np.zeros(head_dim) if bias is None else bias[columns])

    (w_q, b_q), (w_k, b_k), (w_v, b_v) = head_slice(weights[0], head), head_slice(weights[1], kv_head), \
        head_slice(weights[2], kv_head)
    if w_q.shape[0] != x.shape[1] or w_k.shape[0] != x_kv.shape[1]:
        return None
    return Projections(x, x_kv, w_q, b_q, w_k, b_k, w_v, b_v)


def derive(loaded: LoadedModel, text: str, kind: AttentionKind, layer: int, head: int,
           target: str | None = None) -> Derivation:
    """Recompute ``layer``/``head`` of ``kind`` attention for ``text`` and compare with the model."""
    site = _site(loaded, kind, layer)
    if not 0 <= head < site.heads:
        raise DerivationUnsupported(code="no_such_head", kind=kind, layer=layer, head=head)
    projection_modules, fused = qkv_projections(site.module)
    # What the projections read and W_O wrote, at the named points of this layer (only this thread's pass is
    # traced). The capture's pass is the last one traced (generating a target runs the decoder first), so
    # its values are the ones kept; a shared module (ALBERT) is told apart by the layer its block runs.
    names = {"x": attention_point(kind, layer, "q_input", loaded.family),
             "x_kv": attention_point(kind, layer, "k_input", loaded.family),
             "out": block_point(stack_of(kind), layer, "cross_attn_out" if kind == "cross" else "attn_out",
                                loaded.family)}
    with tracing(loaded, cache=set(names.values())) as tracer:
        result = capture(loaded, text, target=target, layers={kind: [layer]}, record_vectors=True)
    seen = {key: tracer.tensors[name][0].double().cpu() for key, name in names.items() if name in tracer.tensors}
    vectors = result.vectors[kind][layer]
    kv_head = vectors.kv_head_of(head)
    queries = vectors.query.astype(np.float64)  # [H, Q, D]
    keys = vectors.key.astype(np.float64)
    values = vectors.value.astype(np.float64)
    heads, kv_heads, head_dim = queries.shape[0], keys.shape[0], queries.shape[2]
    per_head = []
    for h in range(heads):
        q, k, v = queries[h], keys[vectors.kv_head_of(h)], values[vectors.kv_head_of(h)]
        scores = q @ k.T
        scaled = scores * vectors.scaling
        if vectors.softcap is not None:
            scaled = np.tanh(scaled / vectors.softcap) * vectors.softcap
        masked = np.where(vectors.mask, -np.inf, scaled)
        weights = softmax_rows(masked)
        per_head.append(dict(q=q, k=k, v=v, scores=scores, scaled=scaled, masked=masked, weights=weights,
                             head_output=weights @ v))
    concat = np.concatenate([p["head_output"] for p in per_head], axis=-1)
    w_o, b_o = weight_in_out(site.output_projection)
    b_o = np.zeros(w_o.shape[1]) if b_o is None else b_o
    projections = None
    if projection_modules is not None and "x" in seen:
        projections = _head_projections(projection_modules, fused, seen["x"].numpy(), seen["x_kv"].numpy(), head,
                                        kv_head, heads, kv_heads, head_dim)
    this = per_head[head]
    rotary = projections is not None and not (np.allclose(projections.q, this["q"], atol=1e-4)
                                              and np.allclose(projections.k, this["k"], atol=1e-4))
    return Derivation(
        kind=kind, layer=layer, head=head, n_heads=heads, kv_head=kv_head,
        queries=result.query_tokens(kind), keys=result.key_tokens(kind), projections=projections, rotary=rotary,
        **this, scale=vectors.scaling, softcap=vectors.softcap, mask=vectors.mask, concat=concat, w_o=w_o, b_o=b_o,
        output=concat @ w_o + b_o, model_weights=result.attention(kind, layer, head).astype(np.float64),
        model_concat=vectors.output.reshape(len(vectors.output), -1).astype(np.float64),
        model_output=seen["out"].numpy(),
    )
