"""Recompute one attention layer of a real model by hand, step by step, and check it against the model.

X -> Q, K, V (per head) -> Q K^T -> / sqrt(d) -> mask -> softmax -> . V -> concat heads -> W_o.

Supported: BERT-style layers (query/key/value + output.dense: BERT, RoBERTa, minilm) and BART-style
layers (q_proj/k_proj/v_proj/out_proj: BART, Marian, the toy translator). Models with rotary position
embeddings or fused projections change Q and K in ways this derivation does not show.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import torch

from attnviz.capturing.run import capture
from attnviz.errors import AttnvizError
from attnviz.models.loading import LoadedModel
from attnviz.result import AttentionKind, TokenSequence
from attnviz.teach.scratch import causal_mask, softmax_rows


class DerivationUnsupported(AttnvizError):
    """This architecture's attention is not a plain Q/K/V/O projection."""


@dataclass(frozen=True)
class Derivation:
    """Every step for one head, plus the whole layer's concat and output (ours and the model's)."""

    kind: AttentionKind
    layer: int
    head: int
    n_heads: int
    queries: TokenSequence
    keys: TokenSequence
    x: np.ndarray  # [n_q, d_model] input of the queries
    x_kv: np.ndarray  # [n_k, d_model] input of keys and values (the source, for cross-attention)
    w_q: np.ndarray  # [d_model, d_head] this head's slice, so that Q = X W_q + b_q
    b_q: np.ndarray
    w_k: np.ndarray
    b_k: np.ndarray
    w_v: np.ndarray
    b_v: np.ndarray
    q: np.ndarray  # [n_q, d_head]
    k: np.ndarray  # [n_k, d_head]
    v: np.ndarray  # [n_k, d_head]
    scores: np.ndarray  # Q K^T  [n_q, n_k]
    scale: float
    scaled: np.ndarray
    mask: np.ndarray  # True = forbidden
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
    def weights_error(self) -> float:
        return float(np.abs(self.weights - self.model_weights).max())

    @property
    def concat_error(self) -> float:
        return float(np.abs(self.concat - self.model_concat).max())

    @property
    def output_error(self) -> float:
        return float(np.abs(self.output - self.model_output).max())


@dataclass(frozen=True)
class _Linears:
    q: torch.nn.Linear
    k: torch.nn.Linear
    v: torch.nn.Linear
    o: torch.nn.Linear


def _linears(model: torch.nn.Module, site: torch.nn.Module) -> _Linears:
    if all(hasattr(site, n) for n in ("query", "key", "value")):  # BERT family: W_o sits in the sibling
        parent = next((m for m in model.modules() if getattr(m, "self", None) is site), None)
        if parent is not None and hasattr(getattr(parent, "output", None), "dense"):
            return _Linears(site.query, site.key, site.value, parent.output.dense)
    if all(hasattr(site, n) for n in ("q_proj", "k_proj", "v_proj", "out_proj")):  # BART family
        return _Linears(site.q_proj, site.k_proj, site.v_proj, site.out_proj)
    raise DerivationUnsupported(
        f"The step-by-step derivation covers BERT- and BART-style attention; {type(site).__name__} "
        "is not one of them (rotary position embeddings, fused or biased-by-position projections)."
    )


def supports_derivation(loaded: LoadedModel, kind: AttentionKind) -> bool:
    try:
        _linears(loaded.model, loaded.sites[kind][0])
        return True
    except (DerivationUnsupported, KeyError, IndexError):
        return False


def _head_slice(linear: torch.nn.Linear, head: int, head_dim: int) -> tuple[np.ndarray, np.ndarray]:
    rows = slice(head * head_dim, (head + 1) * head_dim)
    weight = linear.weight.detach().double().numpy()[rows].T  # [d_model, d_head]: X @ W
    bias = linear.bias.detach().double().numpy()[rows] if linear.bias is not None else np.zeros(head_dim)
    return weight, bias


def derive(loaded: LoadedModel, text: str, kind: AttentionKind, layer: int, head: int,
           target: str | None = None) -> Derivation:
    """Recompute ``layer``/``head`` of ``kind`` attention for ``text`` and compare with the model."""
    site = loaded.sites[kind][layer]
    linears = _linears(loaded.model, site)
    seen: dict[str, torch.Tensor] = {}
    me = threading.get_ident()  # the model is shared: record only this thread's forward pass

    def keep(name: str, take_output: bool):
        # The last call wins: for an encoder-decoder, generating the target runs the decoder first.
        def hook(module, inputs, output):
            if threading.get_ident() == me:
                seen[name] = (output if take_output else inputs[0]).detach()[0].double()
        return hook

    handles = [linears.q.register_forward_hook(keep("x", False)),
               linears.k.register_forward_hook(keep("x_kv", False)),
               linears.o.register_forward_hook(keep("concat", False)),
               linears.o.register_forward_hook(keep("out", True))]
    try:
        result = capture(loaded, text, target=target, layers={kind: [layer]})
    finally:
        for handle in handles:
            handle.remove()

    n_heads, head_dim = loaded.shape.n_heads, loaded.shape.head_dim
    x, x_kv = seen["x"].numpy(), seen["x_kv"].numpy()
    per_head = []
    for h in range(n_heads):
        w_q, b_q = _head_slice(linears.q, h, head_dim)
        w_k, b_k = _head_slice(linears.k, h, head_dim)
        w_v, b_v = _head_slice(linears.v, h, head_dim)
        q, k, v = x @ w_q + b_q, x_kv @ w_k + b_k, x_kv @ w_v + b_v
        scores = q @ k.T
        scale = float(getattr(site, "scaling", head_dim ** -0.5))
        scaled = scores * scale
        mask = causal_mask(len(q)) if kind == "decoder" else np.zeros(scores.shape, dtype=bool)
        masked = np.where(mask, -np.inf, scaled)
        weights = softmax_rows(masked)
        per_head.append(dict(w_q=w_q, b_q=b_q, w_k=w_k, b_k=b_k, w_v=w_v, b_v=b_v, q=q, k=k, v=v, scores=scores,
                             scale=scale, scaled=scaled, mask=mask, masked=masked, weights=weights,
                             head_output=weights @ v))
    concat = np.concatenate([p["head_output"] for p in per_head], axis=-1)
    w_o = linears.o.weight.detach().double().numpy().T
    b_o = linears.o.bias.detach().double().numpy() if linears.o.bias is not None else np.zeros(w_o.shape[1])
    return Derivation(
        kind=kind, layer=layer, head=head, n_heads=n_heads,
        queries=result.query_tokens(kind), keys=result.key_tokens(kind), x=x, x_kv=x_kv,
        **per_head[head], concat=concat, w_o=w_o, b_o=b_o, output=concat @ w_o + b_o,
        model_weights=result.head_map(kind, layer, head).astype(np.float64),
        model_concat=seen["concat"].numpy(), model_output=seen["out"].numpy(),
    )
