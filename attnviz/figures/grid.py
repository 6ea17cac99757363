"""A grid of small attention maps: rows are layers, columns are heads."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from attnviz.analysis.pooling import PANEL_CELLS, pool_blocks
from attnviz.analysis.view import AttentionView
from attnviz.figures.heatmap import HOVER_LABEL_MAX_CELLS, axis_titles, plot_text
from attnviz.figures.words import FigureWords


def head_grid(
    views: Sequence[Sequence[AttentionView]],
    *,
    words: FigureWords,
    colorscale: str = "Blues",
    title: str = "",
    panel_size: int = 110,
) -> go.Figure:
    """``views[row][col]``: one single-head view per panel (same tokens everywhere)."""
    n_rows, n_cols = len(views), max(len(r) for r in views)
    titles = [f"L{v.layer} H{v.heads[0]}" for row in views for v in row]
    figure = make_subplots(rows=n_rows, cols=n_cols, subplot_titles=titles,
                           horizontal_spacing=0.012, vertical_spacing=0.2 / max(n_rows, 1) + 0.01)
    weight = words["hover.weight"]
    # A small panel cannot show more than ~64 cells a side, and long texts would weigh megabytes:
    # average them over token blocks, and name cells by position instead of by token.
    named = sum(v.matrix.size for row in views for v in row) <= HOVER_LABEL_MAX_CELLS
    for r, row in enumerate(views):
        for c, view in enumerate(row):
            prefix = f"L{view.layer} H{view.heads[0]}"
            z, block = pool_blocks(np.where(view.masked, np.nan, view.matrix), PANEL_CELLS)
            if named and block == 1:
                rows = [plot_text(s) for s in view.row_labels]
                cols = [plot_text(s) for s in view.col_labels]
                names = np.array([[f"{prefix}: {a} → {b}" for b in cols] for a in rows], dtype=object)
                cell = "%{customdata}"
            else:
                names, cell = None, f"{prefix}: #%{{y}} → #%{{x}}" + (f" (±{block})" if block > 1 else "")
            starts_y = [i * block for i in range(z.shape[0])]
            starts_x = [j * block for j in range(z.shape[1])]
            figure.add_trace(go.Heatmap(
                z=z, x=starts_x, y=starts_y, customdata=names, coloraxis="coloraxis",
                hovertemplate=f"{cell}<br>{weight}: %{{z:.3f}}<extra></extra>", hoverongaps=False,
            ), row=r + 1, col=c + 1)
    # One colour scale for all panels, topped at the strongest shown weight (block averages are small).
    peaks = [np.nanmax(trace.z) for trace in figure.data if np.isfinite(trace.z).any()]
    cmax = float(max(max(peaks, default=1.0), 0.05))
    figure.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, ticks="")
    figure.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, ticks="", autorange="reversed")
    figure.update_annotations(font_size=10)
    x_title, y_title = axis_titles(views[0][0], words)
    figure.update_layout(
        title={"text": title, "x": 0},
        coloraxis={"colorscale": colorscale, "cmin": 0, "cmax": cmax,
                   "colorbar": {"title": {"text": weight}, "thickness": 12}},
        height=int(90 + panel_size * n_rows * 1.1), width=None,
        margin={"l": 10, "r": 10, "t": 70, "b": 10}, plot_bgcolor="#f3f3f3",
        annotations=list(figure.layout.annotations) + [
            {"text": f"↓ {y_title} · → {x_title}", "xref": "paper", "yref": "paper", "x": 1, "y": 1.0,
             "yanchor": "bottom", "xanchor": "right", "showarrow": False, "font": {"size": 11, "color": "#666"},
             "yshift": 22},
        ],
    )
    return figure
