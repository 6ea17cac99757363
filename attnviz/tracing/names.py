"""Hook point names, as TransformerLens spells them.

A model with one stack of blocks (an encoder such as BERT, a decoder such as GPT-2) names its points
``blocks.{L}.…``; an encoder-decoder names them ``encoder.{L}.…`` and ``decoder.{L}.…``, with the
decoder's cross-attention under ``decoder.{L}.cross_attn.…`` (TransformerLens' ``HookedEncoderDecoder``)::

    blocks.3.hook_resid_pre        the block's input                   [batch, pos, d_model]
    blocks.3.attn.hook_q           queries as attention reads them     [batch, pos, head, d_head]
                                   (after rotary: TransformerLens' hook_rot_q)
    blocks.3.attn.hook_k / hook_v  keys / values                       [batch, pos, kv_head, d_head]
    blocks.3.attn.hook_attn_scores QKᵀ·scale + mask, before softmax     [batch, head, query, key]
    blocks.3.attn.hook_pattern     the attention weights               [batch, head, query, key]
    blocks.3.attn.hook_z           weights · V, each head              [batch, pos, head, d_head]
    blocks.3.attn.hook_result      each head through its slice of W_O  [batch, pos, head, d_model]
    blocks.3.attn.hook_q_input     what the query (key) projection reads [batch, pos, d_model]
    blocks.3.hook_attn_out         the output projection's output      [batch, pos, d_model]
    blocks.3.hook_mlp_out          what the rest of the block added    [batch, pos, d_model]
    blocks.3.hook_resid_post       the block's output                  [batch, pos, d_model]
    blocks.3.ln1.hook_out   the block's first norm's output (ln2, ln3 … in call order)
    ln_final.hook_out       the final norm's output (encoder.ln_final / decoder.ln_final)
    unembed.hook_in                what the LM head reads              [batch, pos, d_model]

A norm's ``hook_scale`` (its per-position 1/σ) comes from :meth:`ActivationCache.norm` (the norm
linearised once, :mod:`attnviz.tracing.norms`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from attnviz.result import AttentionKind, Family

# Points inside one attention call (read and written by the attention handler)
ATTENTION_POINTS = ("q", "k", "v", "attn_scores", "pattern", "z", "result", "q_input", "k_input")
# Points at a block's boundary (read and written by module hooks)
BLOCK_POINTS = ("resid_pre", "attn_out", "cross_attn_out", "mlp_out", "resid_post")
Stack = Literal["encoder", "decoder"]
NameFilter = str | Iterable[str] | Callable[[str], bool] | bool | None


def stack_of(kind: AttentionKind) -> Stack:
    """The stack of blocks an attention kind lives in (cross-attention sits in the decoder's blocks)."""
    return "encoder" if kind == "encoder" else "decoder"


def prefix(stack: Stack, family: Family) -> str:
    return stack if family == "encoder-decoder" else "blocks"


def attention_point(kind: AttentionKind, layer: int, point: str, family: Family) -> str:
    """``blocks.3.attn.hook_pattern``; ``decoder.3.cross_attn.hook_pattern`` for cross-attention."""
    if point not in ATTENTION_POINTS:
        raise ValueError(f"no attention point {point!r}; known: {', '.join(ATTENTION_POINTS)}")
    attn = "cross_attn" if kind == "cross" else "attn"
    return f"{prefix(stack_of(kind), family)}.{layer}.{attn}.hook_{point}"


def block_point(stack: Stack, layer: int, point: str, family: Family) -> str:
    """``blocks.3.hook_resid_pre``; ``encoder.3.hook_resid_pre`` in an encoder-decoder."""
    if point not in BLOCK_POINTS:
        raise ValueError(f"no block point {point!r}; known: {', '.join(BLOCK_POINTS)}")
    return f"{prefix(stack, family)}.{layer}.hook_{point}"


def norm_point(stack: Stack, layer: int | None, index: int, family: Family, *, final: bool = False) -> str:
    """``blocks.3.ln2`` (the block's second norm call), ``ln_final``, or ``blocks.embed_ln`` before block 0."""
    if final:
        return "ln_final" if family != "encoder-decoder" else f"{stack}.ln_final"
    if layer is None:
        return f"{prefix(stack, family)}.embed_ln{'' if index == 1 else index}"
    return f"{prefix(stack, family)}.{layer}.ln{index}"


@dataclass(frozen=True)
class HookPoint:
    """What a name points at: ``kind`` attention of ``layer`` (or a block of ``stack``), and the point."""

    stack: Stack
    layer: int
    point: str
    kind: AttentionKind | None = None  # attention points only


_ATTENTION_NAME = re.compile(r"^(blocks|encoder|decoder)\.(\d+)\.(attn|cross_attn)\.hook_(\w+)$")
_BLOCK_NAME = re.compile(r"^(blocks|encoder|decoder)\.(\d+)\.hook_(\w+)$")


def parse(name: str, family: Family) -> HookPoint:
    """The inverse of :func:`attention_point` and :func:`block_point`."""
    if match := _ATTENTION_NAME.match(name):
        where, layer, attn, point = match.groups()
        stack: Stack = "decoder" if where == "blocks" and family == "decoder" else (
            "encoder" if where == "blocks" else where)
        kind: AttentionKind = "cross" if attn == "cross_attn" else stack
        return HookPoint(stack, int(layer), point, kind)
    if match := _BLOCK_NAME.match(name):
        where, layer, point = match.groups()
        stack = "decoder" if where == "blocks" and family == "decoder" else ("encoder" if where == "blocks" else where)
        return HookPoint(stack, int(layer), point)
    raise KeyError(f"{name!r} is not a hook point name (say blocks.0.attn.hook_pattern or blocks.0.hook_resid_pre)")


def matcher(names: NameFilter) -> Callable[[str], bool]:
    """A TransformerLens-style names filter as a predicate: a name, several, a predicate, True (all) or None."""
    if names is None or names is False:
        return lambda name: False
    if names is True:
        return lambda name: True
    if isinstance(names, str):
        return lambda name: name == names
    if callable(names):
        return names
    wanted = frozenset(names)
    return lambda name: name in wanted
