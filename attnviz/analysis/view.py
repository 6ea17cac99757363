"""From a capture result to the one matrix a heatmap shows, with its labels and masked cells."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from attnviz.analysis.heads import HeadMode, combine_heads
from attnviz.analysis.masks import causal_mask
from attnviz.analysis.tokens import (
    group_label,
    merge_words,
    renormalise_rows,
    unique_labels,
    visible_positions,
    word_groups,
)
from attnviz.result import AttentionKind, AttentionResult


@dataclass(frozen=True)
class ViewOptions:
    hide_special: bool = True
    merge_subwords: bool = False
    renormalise: bool = False  # rescale rows to 1 after hiding special columns
    label_rows_by_output: bool = True  # cross-attention rows: label with the token each row produces


@dataclass(frozen=True)
class AttentionView:
    """One ``[query, key]`` matrix ready to draw."""

    matrix: np.ndarray
    row_labels: tuple[str, ...]  # unique (duplicates get a ·position suffix)
    col_labels: tuple[str, ...]
    masked: np.ndarray  # True where the causal mask forbids attention (drawn distinctly)
    kind: AttentionKind
    layer: int
    heads: tuple[int, ...]
    mode: HeadMode
    model_name: str

    @property
    def head_label(self) -> str:
        if self.mode == "single" or len(self.heads) == 1:
            return f"H{self.heads[0]}"
        return f"{self.mode}-H{'-'.join(map(str, self.heads))}" if len(self.heads) <= 4 else \
            f"{self.mode}-{len(self.heads)}heads"


def _axis(result: AttentionResult, kind: AttentionKind, rows: bool, options: ViewOptions):
    seq = result.query_tokens(kind) if rows else result.key_tokens(kind)
    # Cross-attention rows read best as the word being written (row i writes produced[i]);
    # then which rows are "special" is decided by what they write, not by what they read.
    if (rows and options.label_rows_by_output and kind == "cross" and result.produced is not None
            and result.target is not None and len(result.produced) == len(seq)):
        seq = result.produced
    positions = visible_positions(seq, options.hide_special)
    groups = word_groups(seq, positions) if options.merge_subwords else [[p] for p in positions]
    return groups, [group_label(seq, g) for g in groups]


def build_view(
    result: AttentionResult,
    kind: AttentionKind,
    layer: int,
    heads: Sequence[int],
    mode: HeadMode = "single",
    options: ViewOptions = ViewOptions(),
) -> AttentionView:
    maps = result.layer_maps(kind, layer)  # [head, query, key]
    combined = combine_heads(maps, heads, mode)
    row_groups, row_labels = _axis(result, kind, True, options)
    col_groups, col_labels = _axis(result, kind, False, options)
    matrix = merge_words(combined, row_groups, col_groups)
    if options.renormalise:
        matrix = renormalise_rows(matrix)
    if kind == "decoder":
        full_mask = causal_mask(*combined.shape)
        masked = np.array([[full_mask[np.ix_(r, c)].all() for c in col_groups] for r in row_groups], dtype=bool)
    else:
        masked = np.zeros(matrix.shape, dtype=bool)
    return AttentionView(
        matrix=matrix.astype(np.float32),
        row_labels=tuple(unique_labels(row_labels, [g[0] for g in row_groups])),
        col_labels=tuple(unique_labels(col_labels, [g[0] for g in col_groups])),
        masked=masked,
        kind=kind,
        layer=layer,
        heads=tuple(heads),
        mode=mode,
        model_name=result.model_name,
    )
