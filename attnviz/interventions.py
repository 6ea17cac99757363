"""Interventions at the same named points as observation: ablate attention heads, a write at ``hook_z``.

    with ablate_heads(loaded, [("decoder", 1, 0), ("cross", 0, 2)], mode="zero"):
        logits = loaded.model(**inputs).logits

Inside the block, every forward pass of ``loaded`` (``generate()`` too) sees the chosen heads'
outputs (``blocks.L.attn.hook_z``, :mod:`attnviz.tracing.trace`) zeroed, or replaced by their mean over
the positions of that pass ("mean"), before the output projection W_o reads them. Ablating nothing
changes nothing: the model runs bit for bit as outside the block. :func:`ablate_heads_per_row`
ablates a different set in each row of a batch, so the effect of every head alone is one batched
forward pass.

Mean ablation is over the positions of one forward pass: with ``generate(use_cache=True)`` each
step has one position, so use ``use_cache=False`` (or zero ablation) when generating.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from typing import Literal

import torch

from attnviz.errors import LayerRequestError, StreamError
from attnviz.models.loading import LoadedModel
from attnviz.result import AttentionKind
from attnviz.tracing.names import attention_point
from attnviz.tracing.trace import tracing

AblationMode = Literal["zero", "mean"]

HeadRef = tuple[AttentionKind, int, int]  # (kind, model layer, head)


def _check(loaded: LoadedModel, ref: HeadRef) -> None:
    kind, layer, head = ref
    n_layers = loaded.shape.n_layers.get(kind, 0)
    if not 0 <= layer < n_layers or not 0 <= head < loaded.shape.heads_of(kind, layer):
        raise LayerRequestError(code="no_such_head", kind=kind, layer=layer, head=head)


def _keep_masks(loaded: LoadedModel, rows: Sequence[Iterable[HeadRef]]
                ) -> dict[tuple[AttentionKind, int], torch.Tensor]:
    keep: dict[tuple[AttentionKind, int], torch.Tensor] = {}
    for row, refs in enumerate(rows):
        for ref in refs:
            _check(loaded, ref)
            kind, layer, head = ref
            if (kind, layer) not in keep:
                keep[(kind, layer)] = torch.ones(len(rows), loaded.shape.heads_of(kind, layer))
            keep[(kind, layer)][row, head] = 0.0
    return keep


@contextmanager
def _ablating(loaded: LoadedModel, rows: Sequence[Iterable[HeadRef]], mode: AblationMode):
    if mode not in ("zero", "mean"):
        raise ValueError(f"mode must be 'zero' or 'mean', not {mode!r}")
    if loaded.capture_path != "interface":
        raise StreamError(code="no_interventions", model=loaded.name)
    keep = {attention_point(kind, layer, "z", loaded.family): mask
            for (kind, layer), mask in _keep_masks(loaded, rows).items()}

    def ablate(z: torch.Tensor, name: str) -> torch.Tensor:  # z: [batch, pos, head, d_head]
        kept = keep[name].to(device=z.device, dtype=z.dtype)[:, None, :, None]  # (B, 1, H, 1)
        if mode == "zero":
            return z * kept
        mean = z.mean(dim=1, keepdim=True)  # each head's mean output over the positions of this pass
        return z * kept + mean * (1 - kept)

    with tracing(loaded, hooks=[(frozenset(keep), ablate)]) as tracer:
        yield tracer


def ablate_heads(loaded: LoadedModel, heads: Iterable[HeadRef], mode: AblationMode = "zero"):
    """Context manager: ablate ``heads`` (``(kind, layer, head)`` triples) in every forward pass inside it."""
    return _ablating(loaded, [list(heads)], mode)


def ablate_heads_per_row(loaded: LoadedModel, rows: Sequence[Iterable[HeadRef]], mode: AblationMode = "zero"):
    """Context manager: batch row ``i`` has the heads in ``rows[i]`` ablated (a batch of ``len(rows)`` rows)."""
    return _ablating(loaded, [list(r) for r in rows], mode)
