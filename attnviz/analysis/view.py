"""From a capture result to the one matrix a heatmap shows, with its labels and masked cells."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from attnviz.analysis.heads import HeadMode, combine_heads
from attnviz.analysis.tokens import (
    group_label,
    merge_words,
    renormalise_rows,
    unique_labels,
    visible_positions,
    word_groups,
)
from attnviz.masks import causal_mask
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


def axis_tokens(result: AttentionResult, kind: AttentionKind, rows: bool, options: ViewOptions = ViewOptions()):
    """The tokens that name a view's rows (``rows``) or columns and say which of them are special."""
    seq = result.query_tokens(kind) if rows else result.key_tokens(kind)
    # Cross-attention rows read best as the word being written (row i writes produced[i]);
    # then which rows are "special" is decided by what they write, not by what they read.
    if (rows and options.label_rows_by_output and kind == "cross" and result.output_tokens is not None
            and result.decoder_input is not None and len(result.output_tokens) == len(seq)):
        seq = result.output_tokens
    return seq


def _axis(result: AttentionResult, kind: AttentionKind, rows: bool, options: ViewOptions):
    seq = axis_tokens(result, kind, rows, options)
    positions = visible_positions(seq, options.hide_special)
    groups = word_groups(seq, positions) if options.merge_subwords else [[p] for p in positions]
    return groups, [group_label(seq, g) for g in groups]


def _masked_groups(kind: AttentionKind, n_query: int, n_key: int, row_groups, col_groups) -> np.ndarray:
    """A merged cell is masked when every token pair inside it is (vectorised: a mean count of masked keys)."""
    if kind != "decoder":
        return np.zeros((len(row_groups), len(col_groups)), dtype=bool)
    counts = merge_words(causal_mask(n_query, n_key).astype(np.float32), row_groups, col_groups)
    sizes = np.array([len(g) for g in col_groups], dtype=np.float32)
    return counts >= sizes[None, :] - 1e-6


@dataclass(frozen=True)
class ViewStack:
    """Every head of several layers, ready to draw: ``matrix[layer_index, head, row, col]``.

    Heads are merged into words (when asked) one by one and combined afterwards, exactly as
    :func:`build_view` does, so a map combined from the stack equals the single view.
    """

    matrix: np.ndarray
    row_labels: tuple[str, ...]
    col_labels: tuple[str, ...]
    masked: np.ndarray  # [row, col], the same for every layer and head
    kind: AttentionKind
    layers: tuple[int, ...]
    model_name: str


def view_size(result: AttentionResult, kind: AttentionKind, options: ViewOptions = ViewOptions()) -> tuple[int, int]:
    """Rows and columns a view of ``kind`` attention has under ``options`` (without building it)."""
    return len(_axis(result, kind, True, options)[0]), len(_axis(result, kind, False, options)[0])


@dataclass(frozen=True)
class ViewAxes:
    """A view's token groups, labels and masked cells (of a region), worked out once for all its heads."""

    row_groups: list[list[int]]
    col_groups: list[list[int]]
    row_labels: tuple[str, ...]
    col_labels: tuple[str, ...]
    masked: np.ndarray  # [row, col] of the region


def view_axes(result: AttentionResult, kind: AttentionKind, options: ViewOptions = ViewOptions(),
              region: tuple[slice, slice] | None = None) -> ViewAxes:
    rows, cols = region or (slice(None), slice(None))
    row_groups, row_labels = _axis(result, kind, True, options)
    col_groups, col_labels = _axis(result, kind, False, options)
    n_query, n_key = len(result.query_tokens(kind)), len(result.key_tokens(kind))
    return ViewAxes(row_groups, col_groups,
                    row_labels=tuple(unique_labels(row_labels, [g[0] for g in row_groups])),
                    col_labels=tuple(unique_labels(col_labels, [g[0] for g in col_groups])),
                    masked=_masked_groups(kind, n_query, n_key, row_groups, col_groups)[rows, cols])


def layer_cells(result: AttentionResult, kind: AttentionKind, layer: int, axes: ViewAxes,
                heads: Sequence[int] | slice | None = None, region: tuple[slice, slice] | None = None) -> np.ndarray:
    """One layer's ``[head, row, col]`` on ``axes``, in the capture's own dtype (float16 for long inputs):
    a view of the capture when nothing is merged and the heads are a slice, else the smallest copy."""
    chosen = slice(None) if heads is None else heads if isinstance(heads, slice) else list(heads)
    rows, cols = region or (slice(None), slice(None))
    return merge_words(result.attention(kind, layer)[chosen], axes.row_groups, axes.col_groups)[..., rows, cols]


def stack_views(result: AttentionResult, kind: AttentionKind, layers: Sequence[int],
                options: ViewOptions = ViewOptions(), heads: Sequence[int] | None = None,
                region: tuple[slice, slice] | None = None) -> ViewStack:
    """``heads``: only these heads (axis 1 then follows their order); every head when None. ``region``: only
    these rows and columns of the view in ``matrix`` and ``masked`` (labels stay whole), cut before the
    float32 copy is made: a zoomed window of a 4,096-token map costs its own size, not the map's."""
    axes = view_axes(result, kind, options, region)
    # [layer, head, row, col], one layer at a time: merge_words of nothing merged is a view
    matrix = np.stack([layer_cells(result, kind, layer, axes, heads, region).astype(np.float32) for layer in layers])
    return ViewStack(matrix=matrix, row_labels=axes.row_labels, col_labels=axes.col_labels, masked=axes.masked,
                     kind=kind, layers=tuple(layers), model_name=result.model_name)


def build_view(
    result: AttentionResult,
    kind: AttentionKind,
    layer: int,
    heads: Sequence[int],
    mode: HeadMode = "single",
    options: ViewOptions = ViewOptions(),
) -> AttentionView:
    maps = result.attention(kind, layer)[list(heads)]  # [head, query, key]
    row_groups, row_labels = _axis(result, kind, True, options)
    col_groups, col_labels = _axis(result, kind, False, options)
    # merge each head, then combine: for "max" this is the strongest head per word pair, and it is what the
    # browser computes from a ViewStack
    matrix = combine_heads(merge_words(maps, row_groups, col_groups), range(len(heads)), mode)
    if options.renormalise:
        matrix = renormalise_rows(matrix)
    return AttentionView(
        matrix=matrix.astype(np.float32),
        row_labels=tuple(unique_labels(row_labels, [g[0] for g in row_groups])),
        col_labels=tuple(unique_labels(col_labels, [g[0] for g in col_groups])),
        masked=_masked_groups(kind, maps.shape[-2], maps.shape[-1], row_groups, col_groups),
        kind=kind,
        layer=layer,
        heads=tuple(heads),
        mode=mode,
        model_name=result.model_name,
    )


def derived_view(result: AttentionResult, kind: AttentionKind, matrix: np.ndarray, *, layer: int,
                 heads: Sequence[int], mode: HeadMode = "mean", hide_special: bool = False,
                 upto: int | None = None) -> AttentionView:
    """Any ``[query, key]`` matrix over a capture's full token axes (rollout, flow, value-weighted attention,
    a head mean, a generation step's map) as a view: the shown rows and columns, their labels as typed, and
    the causal mask of a decoder. ``upto``: only the first ``upto`` queries, and for a decoder's
    self-attention the same keys (what a generation step had read)."""
    queries, keys = result.query_tokens(kind), result.key_tokens(kind)
    rows = visible_positions(queries, hide_special)
    cols = visible_positions(keys, hide_special)
    if upto is not None:
        rows = [r for r in rows if r < upto]
        cols = [c for c in cols if c < upto] if kind == "decoder" else cols
    masked = np.array(cols)[None, :] > np.array(rows)[:, None]  # a key after the query: the causal mask
    return AttentionView(matrix=np.asarray(matrix)[np.ix_(rows, cols)],
                         row_labels=tuple(queries.labels[i] for i in rows),
                         col_labels=tuple(keys.labels[j] for j in cols),
                         masked=masked if kind == "decoder" else np.zeros_like(masked), kind=kind, layer=layer,
                         heads=tuple(heads), mode=mode, model_name=result.model_name)
