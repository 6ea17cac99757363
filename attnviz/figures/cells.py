"""Clickable cells of a plotly heatmap: the ablation and patching maps open a head when one of their cells is clicked.

Plotly reports no click on a heatmap trace inside Streamlit, so an almost invisible square marker sits on each
cell and takes the click (and so the hover); its ``customdata`` is the cell's (row, column).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import plotly.graph_objects as go


def add_cell_markers(figure: go.Figure, rows: np.ndarray, cols: np.ndarray, texts: Sequence[str], *, size: int,
                     hovertemplate: str = "%{text}<extra></extra>") -> go.Figure:
    """Markers on the cells (``rows[i]``, ``cols[i]``) with ``texts[i]`` as their hover text."""
    figure.add_trace(go.Scatter(
        x=cols, y=rows, mode="markers", showlegend=False,
        marker={"size": size, "opacity": 0.01, "symbol": "square"},
        customdata=np.stack([rows, cols], axis=-1), text=list(texts), hovertemplate=hovertemplate,
    ))
    return figure


def frame_cells(figure: go.Figure, cells: Iterable[tuple[int, int]]) -> go.Figure:
    """A dark frame around each chosen (row, column) cell."""
    for row, col in cells:
        figure.add_shape(type="rect", x0=col - 0.5, x1=col + 0.5, y0=row - 0.5, y1=row + 0.5,
                         line={"color": "#111", "width": 2})
    return figure


def clickable_layout(figure: go.Figure, *, title: str, height: int, margin: dict, x: dict, y: dict) -> go.Figure:
    """The layout both clickable maps share: selection on click, no drag, rows read top down, no grid."""
    figure.update_layout(
        title={"text": title, "x": 0, "font": {"size": 13}}, plot_bgcolor="white", clickmode="event+select",
        dragmode=False, height=height, margin=margin,
        xaxis={"tickmode": "array", "showgrid": False, "zeroline": False, "automargin": True, **x},
        yaxis={"tickmode": "array", "autorange": "reversed", "showgrid": False, "zeroline": False, "automargin": True,
               **y},
    )
    return figure
