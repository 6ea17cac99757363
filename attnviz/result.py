"""Typed results of an attention capture.

Arrays are numpy float32 with axes ``[layer, head, query, key]``; only the layers that were asked
for are stored, and ``layers[kind]`` says which model layer each index along axis 0 is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Family = Literal["encoder", "decoder", "encoder-decoder"]
AttentionKind = Literal["encoder", "decoder", "cross"]
ATTENTION_KINDS: tuple[AttentionKind, ...] = ("encoder", "decoder", "cross")


@dataclass(frozen=True)
class ModelShape:
    """Architecture facts that explain the shape of the attention arrays."""

    family: Family
    n_layers: dict[AttentionKind, int]  # layers per kind of attention the model has
    n_heads: int
    n_kv_heads: int  # < n_heads for grouped-query attention (KV heads shared by several query heads)
    head_dim: int
    d_model: int
    max_tokens: int

    @property
    def kinds(self) -> tuple[AttentionKind, ...]:
        return tuple(k for k in ATTENTION_KINDS if self.n_layers.get(k, 0) > 0)


@dataclass(frozen=True)
class TokenSequence:
    """The tokens one side of the model reads, with what is needed to hide specials and merge sub-words."""

    tokens: tuple[str, ...]
    token_ids: tuple[int, ...]
    special: tuple[bool, ...]  # True for [CLS], </s>, <pad> ... added by the tokenizer
    word_ids: tuple[int | None, ...]  # index of the word each token belongs to; None for specials

    def __post_init__(self) -> None:
        n = len(self.tokens)
        if not (len(self.token_ids) == len(self.special) == len(self.word_ids) == n):
            raise ValueError("tokens, token_ids, special and word_ids must have the same length")

    def __len__(self) -> int:
        return len(self.tokens)


@dataclass(frozen=True)
class Truncation:
    """How much of the input did not fit the model."""

    kept_tokens: int
    total_tokens: int
    kept_chars: int
    total_chars: int

    @property
    def truncated(self) -> bool:
        return self.kept_tokens < self.total_tokens or self.kept_chars < self.total_chars


@dataclass(frozen=True)
class AttentionResult:
    """Everything one forward pass revealed about attention.

    - encoder-only models fill ``encoder`` (bidirectional self-attention over ``source``);
    - decoder-only models fill ``decoder`` (causal self-attention over ``source``);
    - encoder-decoders fill ``encoder`` over ``source``, ``decoder`` over ``target`` and
      ``cross`` with target queries and source keys.
    """

    model_name: str
    shape: ModelShape
    source: TokenSequence
    target: TokenSequence | None
    arrays: dict[AttentionKind, np.ndarray]  # kind -> [layers, heads, query, key]
    layers: dict[AttentionKind, tuple[int, ...]]  # kind -> model layer of each index on axis 0
    source_truncation: Truncation
    target_truncation: Truncation | None = None
    target_generated: bool = False  # True when the model wrote the target itself
    # Token each decoder row produces: the given (or generated) target for encoder-decoders,
    # the model's greedy next-token guess for decoder-only models.
    produced: TokenSequence | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def kinds(self) -> tuple[AttentionKind, ...]:
        return tuple(k for k in ATTENTION_KINDS if k in self.arrays)

    @property
    def truncated(self) -> bool:
        return self.source_truncation.truncated or bool(self.target_truncation and self.target_truncation.truncated)

    def query_tokens(self, kind: AttentionKind) -> TokenSequence:
        if kind == "encoder" or self.target is None:
            return self.source
        return self.target

    def key_tokens(self, kind: AttentionKind) -> TokenSequence:
        if kind == "decoder" and self.target is not None:
            return self.target
        return self.source

    def head_map(self, kind: AttentionKind, layer: int, head: int) -> np.ndarray:
        """The ``[query, key]`` weights of one model layer (not array index) and head."""
        return self.layer_maps(kind, layer)[head]

    def layer_maps(self, kind: AttentionKind, layer: int) -> np.ndarray:
        """``[head, query, key]`` for one model layer."""
        if kind not in self.arrays:
            raise KeyError(f"this result has no {kind} attention (it has: {', '.join(self.kinds) or 'none'})")
        try:
            index = self.layers[kind].index(layer)
        except ValueError:
            captured = self.layers[kind]
            raise KeyError(f"layer {layer} of {kind} attention was not captured (captured: {captured})") from None
        return self.arrays[kind][index]
