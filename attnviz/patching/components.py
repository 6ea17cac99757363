"""What can be patched: TransformerLens' ``get_act_patch_*`` set, as hook points and the cells of each.

A component names a hook point (:mod:`attnviz.tracing.names`) and the axes one patch is indexed by. A
patch copies the clean run's value of one *cell* (one layer's position, head, or head at a position) into
the corrupted run; every other value of the point stays corrupted::

    resid_pre            blocks.L.hook_resid_pre      [batch, pos, d_model]         cell (layer, pos)
    attn_out / mlp_out   blocks.L.hook_attn_out ...   [batch, pos, d_model]         cell (layer, pos)
    head_out             blocks.L.attn.hook_z         [batch, pos, head, d_head]    cell (layer, head)
    head_out_by_pos      blocks.L.attn.hook_z                                       cell (layer, pos, head)
    head_q / _k / _v     blocks.L.attn.hook_q ...     (k, v: the key-value heads)   cell (layer, head)
    head_q_by_pos ...                                                               cell (layer, pos, head)
    head_pattern         blocks.L.attn.hook_pattern   [batch, head, query, key]     cell (layer, head)
    head_pattern_by_pos  blocks.L.attn.hook_pattern                                 cell (layer, head, dest_pos)

The axes and their order are TransformerLens' (``layer, pos, head`` for vectors by position, ``layer,
head_index, dest_pos`` for patterns by position), so a result has the shape its function returns.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from attnviz.errors import PatchingError
from attnviz.result import AttentionKind
from attnviz.tracing.names import Stack, attention_point, block_point, stack_of


@dataclass(frozen=True)
class Component:
    """One kind of patch: the hook point it writes and the axes of its cells (the first is always the layer)."""

    name: str
    point: str  # "resid_pre", "z", "pattern" ...
    axes: tuple[str, ...]
    per_head: bool  # an attention point (cells carry a head) or a block point

    @property
    def by_position(self) -> bool:
        return "pos" in self.axes or "dest_pos" in self.axes


def _head(name: str, point: str, by_pos: bool) -> Component:
    return Component(name, point, ("layer", "pos", "head") if by_pos else ("layer", "head"), True)


COMPONENTS: dict[str, Component] = {
    "resid_pre": Component("resid_pre", "resid_pre", ("layer", "pos"), False),
    "attn_out": Component("attn_out", "attn_out", ("layer", "pos"), False),
    "mlp_out": Component("mlp_out", "mlp_out", ("layer", "pos"), False),
    "head_out": _head("head_out", "z", False),
    "head_out_by_pos": _head("head_out_by_pos", "z", True),
    "head_q": _head("head_q", "q", False),
    "head_q_by_pos": _head("head_q_by_pos", "q", True),
    "head_k": _head("head_k", "k", False),
    "head_k_by_pos": _head("head_k_by_pos", "k", True),
    "head_v": _head("head_v", "v", False),
    "head_v_by_pos": _head("head_v_by_pos", "v", True),
    "head_pattern": Component("head_pattern", "pattern", ("layer", "head"), True),
    "head_pattern_by_pos": Component("head_pattern_by_pos", "pattern", ("layer", "head", "dest_pos"), True),
}
# TransformerLens' function for each component (the reference tests and the docs name them)
TRANSFORMER_LENS = {
    "resid_pre": "get_act_patch_resid_pre", "attn_out": "get_act_patch_attn_out",
    "mlp_out": "get_act_patch_mlp_out", "head_out": "get_act_patch_attn_head_out_all_pos",
    "head_out_by_pos": "get_act_patch_attn_head_out_by_pos", "head_pattern": "get_act_patch_attn_head_pattern_all_pos",
    "head_pattern_by_pos": "get_act_patch_attn_head_pattern_by_pos",
    **{f"head_{p}": f"get_act_patch_attn_head_{p}_all_pos" for p in "qkv"},
    **{f"head_{p}_by_pos": f"get_act_patch_attn_head_{p}_by_pos" for p in "qkv"},
}


def component(name: str) -> Component:
    if name not in COMPONENTS:
        raise PatchingError(code="patch_component", component=name, known=", ".join(COMPONENTS))
    return COMPONENTS[name]


@dataclass(frozen=True)
class Target:
    """A component of one kind of attention in one model: hook names and axis sizes resolved."""

    component: Component
    kind: AttentionKind
    family: str
    sizes: dict[str, int]  # axis -> length

    @property
    def stack(self) -> Stack:
        return stack_of(self.kind)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.sizes[a] for a in self.component.axes)

    def name(self, layer: int) -> str:
        point = self.component.point
        if self.component.per_head:
            return attention_point(self.kind, layer, point, self.family)
        if self.kind == "cross":  # the block point of cross-attention is its own output
            return block_point("decoder", layer, "cross_attn_out", self.family)
        return block_point(self.stack, layer, point, self.family)

    def cells(self) -> list[tuple[int, ...]]:
        """Every cell, in row-major order of :attr:`shape` (the order of the result's flattened values)."""
        return [tuple(int(i) for i in index) for index in torch.cartesian_prod(
            *[torch.arange(n) for n in self.shape]).reshape(-1, len(self.shape)).tolist()]

    def selection(self, cell: tuple[int, ...]) -> tuple:
        """The index of a cell's values in its point's tensor, after the batch axis."""
        axes = dict(zip(self.component.axes, cell))
        point = self.component.point
        if not self.component.per_head:
            return (axes["pos"],)
        if point == "pattern":
            return (axes["head"],) if "dest_pos" not in axes else (axes["head"], axes["dest_pos"])
        return (slice(None), axes["head"]) if "pos" not in axes else (axes["pos"], axes["head"])

    def reduce(self, values: torch.Tensor) -> torch.Tensor:
        """Sum a point's per-element values ``[pos, ...]`` (no batch) over everything a cell does not index:
        what a cell's patch moves, to first order, is the sum of its elements' (clean - corrupted) · gradient."""
        point = self.component.point
        if not self.component.per_head:  # [pos, d] -> [pos]
            return values.sum(-1)
        if point == "pattern":  # [head, q, k] -> [head] or [head, q]
            return values.sum((-2, -1)) if "dest_pos" not in self.component.axes else values.sum(-1)
        by_pos = values.sum(-1)  # [pos, head, d] -> [pos, head]
        return by_pos if "pos" in self.component.axes else by_pos.sum(0)


def resolve(loaded, name: str, kind: AttentionKind | None, lengths: dict[str, int]) -> Target:
    """``name`` of ``kind`` attention (default: the model's first kind) in ``loaded``, with its axis sizes.

    ``lengths``: tokens on each side, ``{"encoder": n, "decoder": m}`` (one key for one-stack models).
    """
    spec = component(name)
    kinds = loaded.shape.kinds
    kind = kind or kinds[0]
    if kind not in kinds:
        raise PatchingError(code="patch_kind", model=loaded.name, kind=kind, kinds=tuple(kinds))
    if kind == "cross" and spec.point in ("resid_pre", "mlp_out"):
        raise PatchingError(code="patch_cross_block", component=name)
    sites = loaded.sites[kind]
    query_side = stack_of(kind)
    key_side = "encoder" if kind == "cross" else query_side
    positions = lengths[key_side if spec.point in ("k", "v") else query_side]
    heads = sites[0].kv_heads if spec.point in ("k", "v") else sites[0].heads
    sizes = {"layer": len(sites), "pos": positions, "dest_pos": positions, "head": heads}
    return Target(spec, kind, loaded.family, sizes)
