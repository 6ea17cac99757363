"""How much of a long input's attention to keep: every layer in float32 while it fits a byte budget,
else float16, else only the layer being looked at (in float16).

A capture keeps ``layers × heads × n²`` weights per kind of attention: 8 MB for MiniLM at 128 tokens,
but 3.2 GB for a 12-layer, 12-head decoder at 4,096 tokens. The plan bounds that memory, whatever the input.
"""

from __future__ import annotations

from dataclasses import dataclass

from attnviz.result import AttentionKind, ModelShape

CAPTURE_BUDGET_BYTES = 256 * 2**20


@dataclass(frozen=True)
class CapturePlan:
    layers: dict[AttentionKind, list[int]] | None  # None: every layer
    storage: str  # "float32" or "float16"
    bytes: int  # what the kept weights take

    @property
    def selective(self) -> bool:
        return self.layers is not None


def _cells(shape: ModelShape, n_tokens: int, layer: int | None) -> int:
    total = 0
    for kind in shape.kinds:
        layers = range(shape.n_layers[kind]) if layer is None else [min(layer, shape.n_layers[kind] - 1)]
        total += sum(shape.heads_of(kind, i) for i in layers) * n_tokens * n_tokens
    return total


def capture_plan(shape: ModelShape, n_tokens: int, layer: int | None = None,
                 budget: int = CAPTURE_BUDGET_BYTES) -> CapturePlan:
    """The cheapest faithful plan within ``budget`` bytes (``n_tokens`` bounds every side of every map).

    ``layer`` is the layer the visitor looks at; without it every layer is kept (float16 if need be).
    Beyond the budget even for one layer, the plan still keeps that one layer: memory is then
    ``heads × n² × 2`` bytes, stated by ``bytes``.
    """
    every = _cells(shape, n_tokens, None)
    if every * 4 <= budget:
        return CapturePlan(None, "float32", every * 4)
    if every * 2 <= budget or layer is None:
        return CapturePlan(None, "float16", every * 2)
    one = _cells(shape, n_tokens, layer)
    return CapturePlan({kind: [min(layer, shape.n_layers[kind] - 1)] for kind in shape.kinds}, "float16", one * 2)
