"""Figures of activation patching: a signed map of normalised scores whose cells are clickable."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from attnviz.figures.cells import add_cell_markers, clickable_layout, frame_cells
from attnviz.figures.heatmap import plot_text
from attnviz.figures.words import FigureWords


def axis_words(axes: Sequence[str], words: FigureWords) -> tuple[str, str]:
    """What a map of a result with ``axes`` calls its rows and columns: with three axes (a layer, a head and a
    position) each row is one layer.head and each column a position
    (:meth:`attnviz.patching.result.PatchingResult.matrix`)."""
    row = words["ctl.layer"] if len(axes) == 2 else words["patch.layer_head"]
    col = words["ctl.head"] if tuple(axes) == ("layer", "head") else words["patch.position"]
    return row, col


def patching_map(values: np.ndarray, rows: Sequence[str], cols: Sequence[str], *, axes: Sequence[str],
                 words: FigureWords, title: str = "", selected: tuple[int, int] | None = None,
                 zmax: float | None = None) -> go.Figure:
    """``values`` [row, col] on a diverging scale centred on 0 (1 = the clean answer back, 0 = no change).
    ``axes``: the result's own, named by :func:`axis_words`.

    Its cells are clickable (:mod:`attnviz.figures.cells`), as in the ablation map.
    """
    row_label, col_label = axis_words(axes, words)
    n_rows, n_cols = values.shape
    top = zmax if zmax is not None else max(1.0, float(np.nanmax(np.abs(values))) if values.size else 1.0)
    row_text, col_text = [plot_text(r) for r in rows], [plot_text(c) for c in cols]
    show_values = n_rows * n_cols <= 200
    figure = go.Figure(go.Heatmap(
        z=values, x=list(range(n_cols)), y=list(range(n_rows)), colorscale="RdBu", zmid=0, zmin=-top, zmax=top,
        text=[[f"{v:.2f}" for v in row] for row in values], texttemplate="%{text}" if show_values else None,
        textfont={"size": 9}, xgap=1, ygap=1, colorbar={"thickness": 10}, hoverinfo="skip",
    ))
    r, c = np.meshgrid(np.arange(n_rows), np.arange(n_cols), indexing="ij")
    add_cell_markers(figure, r.ravel(), c.ravel(),
                     [f"{row_label} {row_text[i]}, {col_label} {col_text[j]}: {values[i, j]:.4f}"
                      for i, j in zip(r.ravel(), c.ravel())], size=max(6, min(22, 600 // max(n_cols, 1))))
    frame_cells(figure, [selected] if selected is not None else [])
    clickable_layout(figure, title=title, height=int(min(720, 150 + 30 * n_rows)),
                     margin={"l": 70, "r": 10, "t": 40, "b": 60},
                     x={"title": col_label, "tickvals": list(range(n_cols)), "ticktext": col_text},
                     y={"title": row_label, "tickvals": list(range(n_rows)), "ticktext": row_text})
    return figure
