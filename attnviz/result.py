"""Typed results of an attention capture.

Arrays are numpy float32 with axes ``[layer, head, query, key]``; only the layers that were asked
for are stored, and ``layers[kind]`` says which model layer each index along axis 0 is.
Read maps by the model's own layer number with :meth:`AttentionResult.attention`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Family = Literal["encoder", "decoder", "encoder-decoder"]
AttentionKind = Literal["encoder", "decoder", "cross"]
CapturePath = Literal["interface", "output_attentions"]
ATTENTION_KINDS: tuple[AttentionKind, ...] = ("encoder", "decoder", "cross")

# Markers tokenizers put on pieces: GPT-2/RoBERTa byte-level "Ġ" (space) and "Ċ" (newline), SentencePiece "▁".
_MARKERS = {"Ġ": " ", "▁": " ", "Ċ": "\\n", "ĉ": "\\t"}


def display_label(token: str) -> str:
    """A readable label: "Ġtrain" -> "train", "▁train" -> "train", "##ing" stays "##ing"."""
    text = "".join(_MARKERS.get(ch, ch) for ch in token).strip()
    return text if text else "␣"


@dataclass(frozen=True)
class HeadLayout:
    """Head facts of one kind of attention, one entry per layer (layers may differ)."""

    heads: tuple[int, ...]  # query heads
    kv_heads: tuple[int, ...]  # key/value heads (< heads for grouped-query attention)
    head_dims: tuple[int, ...]

    @property
    def max_heads(self) -> int:
        return max(self.heads, default=0)

    @property
    def uniform(self) -> bool:
        return len(set(self.heads)) <= 1


@dataclass(frozen=True)
class ModelShape:
    """Architecture facts that explain the shape of the attention arrays.

    ``layout[kind]`` holds heads per layer of each kind of attention: an encoder-decoder may have
    4 encoder heads and 2 decoder heads. ``n_heads``/``n_kv_heads``/``head_dim`` summarise them
    (the largest head count, and the first layer's KV heads and head size).
    """

    family: Family
    n_layers: dict[AttentionKind, int]  # layers (attention applications) per kind
    layout: dict[AttentionKind, HeadLayout]
    d_model: int
    max_tokens: int  # default cut: [layers, heads, n, n] arrays stay comfortable in memory
    capture_path: CapturePath = "interface"
    max_positions: int = 0  # the most the model can read; capture(max_tokens=...) may go up to it

    @property
    def kinds(self) -> tuple[AttentionKind, ...]:
        return tuple(k for k in ATTENTION_KINDS if self.n_layers.get(k, 0) > 0)

    def heads_of(self, kind: AttentionKind, layer: int | None = None) -> int:
        """Query heads of ``kind`` attention in ``layer`` (the largest of the kind when ``layer`` is None)."""
        layout = self.layout[kind]
        return layout.max_heads if layer is None else layout.heads[layer]

    @property
    def n_heads(self) -> int:
        return max((layout.max_heads for layout in self.layout.values()), default=0)

    @property
    def n_kv_heads(self) -> int:
        return self.layout[self.kinds[0]].kv_heads[0] if self.kinds else 0

    @property
    def head_dim(self) -> int:
        return self.layout[self.kinds[0]].head_dims[0] if self.kinds else 0


@dataclass(frozen=True)
class TokenSequence:
    """The tokens one side of the model reads, with what is needed to hide specials and merge sub-words.

    ``labels`` are readable: cut from the typed text through the tokenizer's offsets where it has
    them (so byte-level BPE shows Chinese characters and café, not mojibake), else decoded from the token.
    """

    tokens: tuple[str, ...]
    token_ids: tuple[int, ...]
    special: tuple[bool, ...]  # True for [CLS], </s>, <pad> ... added by the tokenizer
    word_ids: tuple[int | None, ...]  # index of the word each token belongs to; None for specials
    labels: tuple[str, ...] = ()
    offsets: tuple[tuple[int, int], ...] = ()  # character span of each token in the text; (0, 0) if none

    def __post_init__(self) -> None:
        n = len(self.tokens)
        if not self.labels:
            object.__setattr__(self, "labels", tuple(display_label(token) for token in self.tokens))
        if not self.offsets:
            object.__setattr__(self, "offsets", ((0, 0),) * n)
        if not (len(self.token_ids) == len(self.special) == len(self.word_ids) == len(self.labels)
                == len(self.offsets) == n):
            raise ValueError("tokens, token_ids, special, word_ids, labels and offsets must have the same length")

    def __len__(self) -> int:
        return len(self.tokens)

    def shifted_right(self, start_id: int, start_token: str) -> TokenSequence:
        """The decoder's input for teacher forcing: ``start`` then every token but the last."""
        return TokenSequence(
            (start_token, *self.tokens[:-1]), (start_id, *self.token_ids[:-1]), (True, *self.special[:-1]),
            (None, *self.word_ids[:-1]), (start_token, *self.labels[:-1]), ((0, 0), *self.offsets[:-1]),
        )


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
class HeadVectors:
    """Q, K and V of one attention layer exactly as the attention function received them.

    After rotary embeddings and any projection fusing, before grouped KV heads are repeated:
    ``query`` [heads, query, head_dim], ``key``/``value`` [kv_heads, key, head_dim]. ``mask`` is
    True where attention was forbidden (causal, sliding window, padding) and ``scaling`` the factor
    applied to QKᵀ; ``output`` [query, heads, head_dim] is what the heads handed to W_o.
    """

    query: np.ndarray
    key: np.ndarray
    value: np.ndarray
    mask: np.ndarray
    scaling: float
    softcap: float | None
    output: np.ndarray

    def kv_head_of(self, head: int) -> int:
        return head // (self.query.shape[0] // self.key.shape[0])


@dataclass(frozen=True)
class AttentionResult:
    """Everything one forward pass revealed about attention.

    - encoder-only models fill ``encoder`` (bidirectional self-attention over ``source``);
    - decoder-only models fill ``decoder`` (causal self-attention over ``source``);
    - encoder-decoders fill ``encoder`` over ``source``, ``decoder`` over ``decoder_input`` and
      ``cross`` with decoder-input queries and source keys.

    ``decoder_input`` is what an encoder-decoder's decoder reads: the target shifted right behind the start
    token (teacher forcing), so row i reads token i and writes ``output_tokens[i]``.
    """

    model_name: str
    shape: ModelShape
    source: TokenSequence
    decoder_input: TokenSequence | None
    arrays: dict[AttentionKind, np.ndarray]  # kind -> [captured layer, head, query, key]
    layers: dict[AttentionKind, tuple[int, ...]]  # kind -> model layer of each index on axis 0
    source_truncation: Truncation
    target_truncation: Truncation | None = None
    target_generated: bool = False  # True when the model wrote the target itself
    # Token each decoder row produces: the given (or generated) target for encoder-decoders,
    # the model's greedy next-token guess for decoder-only models.
    output_tokens: TokenSequence | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    vectors: dict[AttentionKind, dict[int, HeadVectors]] = field(default_factory=dict)  # record_vectors=True

    @property
    def inputs(self) -> tuple:
        """What the capture was made from as a visitor sees it, to key anything cached from it: each side's
        token ids AND labels. Labels are cut from the typed text, so two texts can share every token id
        (a small vocabulary reads each unknown word as <unk>) yet not their labels: keyed by ids alone, a
        cached map would show one visitor the words another typed."""
        return (self.model_name, self.source, self.decoder_input, self.output_tokens)

    @property
    def kinds(self) -> tuple[AttentionKind, ...]:
        return tuple(k for k in ATTENTION_KINDS if k in self.arrays)

    @property
    def capture_path(self) -> CapturePath:
        return self.shape.capture_path

    @property
    def truncated(self) -> bool:
        return self.source_truncation.truncated or bool(self.target_truncation and self.target_truncation.truncated)

    def query_tokens(self, kind: AttentionKind) -> TokenSequence:
        if kind == "encoder" or self.decoder_input is None:
            return self.source
        return self.decoder_input

    def key_tokens(self, kind: AttentionKind) -> TokenSequence:
        if kind == "decoder" and self.decoder_input is not None:
            return self.decoder_input
        return self.source

    def attention(self, kind: AttentionKind, layer: int, head: int | None = None) -> np.ndarray:
        """Weights of model layer ``layer`` (not an array index).

        ``[head, query, key]`` for the whole layer, or ``[query, key]`` for one ``head``.
        """
        if kind not in self.arrays:
            raise KeyError(f"this result has no {kind} attention (it has: {', '.join(self.kinds) or 'none'})")
        try:
            index = self.layers[kind].index(layer)
        except ValueError:
            captured = self.layers[kind]
            raise KeyError(f"layer {layer} of {kind} attention was not captured (captured: {captured})") from None
        maps = self.arrays[kind][index]
        if head is None:
            return maps[: self.shape.heads_of(kind, layer)]
        if not 0 <= head < self.shape.heads_of(kind, layer):
            raise KeyError(f"{kind} layer {layer} has {self.shape.heads_of(kind, layer)} heads; asked for head {head}")
        return maps[head]
