"""Figures of activation patching: a signed map of normalised scores whose cells are clickable."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from attnviz.figures.heatmap import plot_text


def patching_map(values: np.ndarray, rows: Sequence[str], cols: Sequence[str], *, title: str = "",
                 row_label: str = "layer", col_label: str = "head", selected: tuple[int, int] | None = None,
                 zmax: float | None = None) -> go.Figure:
    """``values`` [row, col] on a diverging scale centred on 0 (1 = the clean answer back, 0 = no change).

    Invisible markers on the cells take the clicks (``customdata`` = row, column), as in the ablation map.
    """
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
    figure.add_trace(go.Scatter(
        x=c.ravel(), y=r.ravel(), mode="markers", showlegend=False,
        marker={"size": max(6, min(22, 600 // max(n_cols, 1))), "opacity": 0.01, "symbol": "square"},
        customdata=np.stack([r.ravel(), c.ravel()], axis=-1),
        text=[f"{row_label} {row_text[i]}, {col_label} {col_text[j]}: {values[i, j]:.4f}"
              for i, j in zip(r.ravel(), c.ravel())],
        hovertemplate="%{text}<extra></extra>",
    ))
    if selected is not None:
        i, j = selected
        figure.add_shape(type="rect", x0=j - 0.5, x1=j + 0.5, y0=i - 0.5, y1=i + 0.5,
                         line={"color": "#111", "width": 2})
    figure.update_layout(
        title={"text": title, "x": 0, "font": {"size": 13}}, plot_bgcolor="white", clickmode="event+select",
        dragmode=False, height=int(min(720, 150 + 30 * n_rows)), margin={"l": 70, "r": 10, "t": 40, "b": 60},
        xaxis={"title": col_label, "tickmode": "array", "tickvals": list(range(n_cols)), "ticktext": col_text,
               "showgrid": False, "zeroline": False, "automargin": True},
        yaxis={"title": row_label, "tickmode": "array", "tickvals": list(range(n_rows)), "ticktext": row_text,
               "autorange": "reversed", "showgrid": False, "zeroline": False, "automargin": True},
    )
    return figure
