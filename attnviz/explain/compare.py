"""Two attention maps side by side and their difference, aligned token by token.

Two texts rarely have the same tokens at the same positions. The rows and columns of the difference
are the tokens the two share, matched in order (difflib's longest matching blocks); a run of tokens
replaced one for one (``tired`` → ``wide``) is paired too and labelled ``tired/wide``. Tokens only
one text has are left out of the difference and named in ``unmatched``.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher

import numpy as np

from attnviz.analysis.heads import combine_heads
from attnviz.analysis.view import derived_view

ANIMAL_PAIR = ("The animal didn't cross the street because it was too tired.",
               "The animal didn't cross the street because it was too wide.")


@dataclass(frozen=True)
class TokenAlignment:
    """``pairs[i] = (position in A, position in B)``; ``labels[i]`` names the pair."""

    pairs: tuple[tuple[int, int], ...]
    labels: tuple[str, ...]
    unmatched_a: tuple[int, ...]
    unmatched_b: tuple[int, ...]

    @property
    def identical(self) -> bool:
        return not self.unmatched_a and not self.unmatched_b and all(a == b for a, b in self.pairs)


@dataclass(frozen=True)
class Comparison:
    """``a`` and ``b`` as drawn, and ``difference = a − b`` on the aligned tokens."""

    a: np.ndarray
    b: np.ndarray
    a_rows: tuple[str, ...]
    a_cols: tuple[str, ...]
    b_rows: tuple[str, ...]
    b_cols: tuple[str, ...]
    difference: np.ndarray
    rows: tuple[str, ...]
    cols: tuple[str, ...]
    row_alignment: TokenAlignment
    col_alignment: TokenAlignment

    @property
    def largest_change(self) -> tuple[str, str, float]:
        """The cell whose weight changed most (row label, column label, A − B)."""
        if self.difference.size == 0:
            return "", "", 0.0
        i, j = np.unravel_index(np.nanargmax(np.abs(np.nan_to_num(self.difference))), self.difference.shape)
        return self.rows[i], self.cols[j], float(self.difference[i, j])


def align_tokens(a: tuple[str, ...] | list[str], b: tuple[str, ...] | list[str]) -> TokenAlignment:
    """Match the tokens of two sequences in order; equal-length replacements are paired position by position."""
    matcher = SequenceMatcher(a=list(a), b=list(b), autojunk=False)
    pairs, labels, only_a, only_b = [], [], [], []
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag == "equal" or (tag == "replace" and a1 - a0 == b1 - b0):
            for i, j in zip(range(a0, a1), range(b0, b1)):
                pairs.append((i, j))
                labels.append(a[i] if a[i] == b[j] else f"{a[i]}/{b[j]}")
        else:
            only_a.extend(range(a0, a1))
            only_b.extend(range(b0, b1))
    return TokenAlignment(tuple(pairs), tuple(labels), tuple(only_a), tuple(only_b))


def compare_maps(a: np.ndarray, a_rows, a_cols, b: np.ndarray, b_rows, b_cols) -> Comparison:
    """Difference of two ``[query, key]`` maps over the tokens they share (masked cells are NaN in both)."""
    rows, cols = align_tokens(tuple(a_rows), tuple(b_rows)), align_tokens(tuple(a_cols), tuple(b_cols))
    a_index = np.ix_([i for i, _ in rows.pairs], [i for i, _ in cols.pairs])
    b_index = np.ix_([j for _, j in rows.pairs], [j for _, j in cols.pairs])
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    difference = a[a_index] - b[b_index] if rows.pairs and cols.pairs else np.zeros((len(rows.pairs), len(cols.pairs)))
    return Comparison(a, b, tuple(a_rows), tuple(a_cols), tuple(b_rows), tuple(b_cols), difference, rows.labels,
                      cols.labels, rows, cols)


def compare_heads(result_a, result_b, kind, a: tuple[int, int | None], b: tuple[int, int | None],
                  hide_special: bool = True) -> Comparison:
    """Map ``a = (layer, head)`` of ``result_a`` against map ``b`` of ``result_b`` (the same result to compare
    two heads or two layers of one text). ``head`` None: the mean of the layer's heads."""
    def shown(result, layer, head):
        weights = result.attention(kind, layer).astype(np.float64)
        heads = range(len(weights)) if head is None else [head]
        view = derived_view(result, kind, combine_heads(weights, heads, "mean"), layer=layer, heads=heads,
                            hide_special=hide_special)
        return view.matrix, view.row_labels, view.col_labels

    return compare_maps(*shown(result_a, *a), *shown(result_b, *b))


def comparison_arrays(comparison: Comparison) -> dict[str, np.ndarray]:
    """Both maps, their difference and every label, for an .npz export."""
    return {"a": comparison.a, "b": comparison.b, "difference": comparison.difference,
            "a_rows": np.array(comparison.a_rows), "a_cols": np.array(comparison.a_cols),
            "b_rows": np.array(comparison.b_rows), "b_cols": np.array(comparison.b_cols),
            "rows": np.array(comparison.rows), "cols": np.array(comparison.cols)}
