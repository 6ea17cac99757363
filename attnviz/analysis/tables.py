"""The tables pages show beside a map, as typed rows: computed here so pages only lay them out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from attnviz.analysis.heads import head_profile, strongest_links
from attnviz.analysis.view import AttentionView
from attnviz.result import AttentionKind, AttentionResult
from attnviz.roles.vocabulary import PrimaryRole


@dataclass(frozen=True)
class AlignmentRow:
    target: str  # the target token (row)
    source: str  # the source token it attends to most
    weight: float


def alignment_rows(view: AttentionView) -> list[AlignmentRow]:
    """For each row of a cross-attention view, its strongest source token."""
    best = view.matrix.argmax(axis=1)
    return [AlignmentRow(row, view.col_labels[j], float(view.matrix[i, j]))
            for i, (row, j) in enumerate(zip(view.row_labels, best))]


@dataclass(frozen=True)
class HeadRow:
    layer: int
    head: int
    role: PrimaryRole
    entropy: float
    previous_weight: float
    self_weight: float
    special_weight: float
    top_link: tuple[str, str, float] | None  # strongest off-diagonal (query, key, weight) in the shown map


def head_rows(result: AttentionResult, kind: AttentionKind, views: Sequence[AttentionView]) -> list[HeadRow]:
    """What each single-head view's head attends to (profiles on the full map, top link on the shown one)."""
    special = result.query_tokens(kind).special
    rows = []
    for view in views:
        head = view.heads[0]
        profile = head_profile(result.attention(kind, view.layer, head), special, view.layer, head,
                               causal=kind == "decoder")
        top = strongest_links(view.matrix, view.row_labels, view.col_labels, top=1)
        rows.append(HeadRow(view.layer, head, profile.role, profile.entropy, profile.previous_weight,
                            profile.self_weight, profile.special_weight, top[0] if top else None))
    return rows
