"""Small figures for the lessons: any labelled matrix, one row as bars, how d_model splits into heads."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative

from attnviz.figures.heatmap import MASKED_COLOUR, plot_text
from attnviz.figures.words import FigureWords

HEAD_COLOURS = qualitative.T10  # one colour per head, plotly's Tableau 10
HIGHLIGHT, PLAIN = qualitative.T10[2], qualitative.T10[0]


def matrix_figure(
    matrix: np.ndarray,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    *,
    title: str = "",
    signed: bool | None = None,
    show_values: bool | None = None,
    masked: np.ndarray | None = None,
    column_groups: int | None = None,
    height: int | None = None,
    decimals: int = 2,
    masked_text: str = "−∞",
) -> go.Figure:
    """A labelled heatmap of any matrix. Signed values get a diverging scale centred on 0;
    ``masked`` cells are grey and read ``masked_text``: −∞ in a score matrix (before the softmax), "0" in a
    weight matrix (after it); ``column_groups`` draws a line every that many columns."""
    matrix = np.asarray(matrix, dtype=float)
    n_rows, n_cols = matrix.shape
    finite = np.where(np.isfinite(matrix), matrix, np.nan)
    signed = bool(np.nanmin(finite) < 0) if signed is None else signed
    if show_values is None:
        show_values = n_rows <= 12 and n_cols <= 12
    rows = [plot_text(r) for r in (row_labels or [str(i) for i in range(n_rows)])]
    cols = [plot_text(c) for c in (col_labels or [str(j) for j in range(n_cols)])]
    limit = float(np.nanmax(np.abs(finite))) if np.isfinite(finite).any() else 1.0
    z = finite if masked is None else np.where(masked, np.nan, finite)
    figure = go.Figure(go.Heatmap(
        z=z, x=list(range(n_cols)), y=list(range(n_rows)),
        colorscale="RdBu" if signed else "Blues", reversescale=signed,
        zmin=-limit if signed else 0, zmax=limit or 1,
        texttemplate=f"%{{z:.{decimals}f}}" if show_values else None, textfont={"size": 11},
        hovertemplate="(%{y}, %{x}): %{z:.4f}<extra></extra>", xgap=1 if n_cols <= 40 else 0,
        ygap=1 if n_rows <= 40 else 0, colorbar={"thickness": 10},
    ))
    if masked is not None and masked.any():
        figure.add_trace(go.Heatmap(
            z=np.where(masked, 1.0, np.nan), x=list(range(n_cols)), y=list(range(n_rows)),
            colorscale=[[0, MASKED_COLOUR], [1, MASKED_COLOUR]], showscale=False, hoverinfo="skip",
            text=np.where(masked, masked_text, ""), texttemplate="%{text}" if show_values else None,
            textfont={"size": 11, "color": "#777"}, xgap=1, ygap=1,
        ))
    if column_groups:
        for boundary in range(column_groups, n_cols, column_groups):
            figure.add_vline(x=boundary - 0.5, line={"color": "#333", "width": 1})
    dense = n_cols > 24
    figure.update_layout(
        title={"text": title, "x": 0, "font": {"size": 13}},
        xaxis={"tickmode": "array", "tickvals": list(range(n_cols)), "ticktext": cols, "side": "top",
               "showticklabels": not dense, "ticks": "" if dense else "outside", "showgrid": False,
               "zeroline": False, "automargin": True},
        yaxis={"tickmode": "array", "tickvals": list(range(n_rows)), "ticktext": rows, "autorange": "reversed",
               "showticklabels": n_rows <= 24, "showgrid": False, "zeroline": False, "automargin": True},
        height=height or int(min(520, max(180, 80 + 34 * n_rows))),
        margin={"l": 10, "r": 10, "t": 50 if title else 30, "b": 10}, plot_bgcolor="white",
    )
    return figure


def row_bars(values: Sequence[float], labels: Sequence[str], *, title: str = "", highlight: int | None = None,
             masked: Sequence[bool] | None = None, decimals: int = 3) -> go.Figure:
    """One row of scores or weights as bars, one bar per key token."""
    values = np.asarray(values, dtype=float)
    shown = np.where(np.isfinite(values), values, 0.0)
    colours = [MASKED_COLOUR if masked is not None and masked[i] else (HIGHLIGHT if i == highlight else PLAIN)
               for i in range(len(values))]
    text = ["−∞" if not np.isfinite(v) else f"{v:.{decimals}f}" for v in values]
    figure = go.Figure(go.Bar(x=[plot_text(label) for label in labels], y=shown, marker_color=colours, text=text,
                              textposition="outside", hovertemplate="%{x}: %{text}<extra></extra>"))
    figure.update_layout(title={"text": title, "x": 0, "font": {"size": 13}}, height=300,
                         margin={"l": 10, "r": 10, "t": 40, "b": 10}, plot_bgcolor="white",
                         yaxis={"zeroline": True, "zerolinecolor": "#999", "automargin": True},
                         xaxis={"type": "category", "automargin": True})
    return figure


def head_split_figure(d_model: int, n_heads: int, *, words: FigureWords) -> go.Figure:
    """d_model dimensions as one bar cut into n_heads equal slices."""
    head_label = words["head"]
    head_dim = d_model // n_heads
    figure = go.Figure()
    for h in range(n_heads):
        figure.add_trace(go.Bar(
            x=[head_dim], y=["d_model"], base=[h * head_dim], orientation="h",
            marker_color=HEAD_COLOURS[h % len(HEAD_COLOURS)], marker_line={"color": "white", "width": 1},
            hovertemplate=f"{head_label} {h}: {h * head_dim}–{(h + 1) * head_dim - 1}<extra></extra>",
            text=str(h) if n_heads <= 32 else None, textposition="inside", insidetextanchor="middle",
            showlegend=False,
        ))
    figure.update_layout(barmode="stack", height=120, margin={"l": 10, "r": 10, "t": 10, "b": 30},
                         xaxis={"range": [0, d_model], "title": words.format("learn.multi.dims", n=d_model)},
                         yaxis={"visible": False}, plot_bgcolor="white")
    return figure
