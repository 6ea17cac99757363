"""The faithfulness strip: one row per method over the same input tokens, each row scaled to its own largest
magnitude, so a visitor compares where each method puts its weight, not the methods' units."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from attnviz.figures.heatmap import plot_text
from attnviz.figures.words import FigureWords


def scaled_rows(matrix: np.ndarray) -> np.ndarray:
    """Each row divided by its largest magnitude: −1 … 1 (all-zero rows stay 0)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    top = np.abs(matrix).max(axis=1, keepdims=True)
    return np.divide(matrix, top, out=np.zeros_like(matrix), where=top > 0)


def method_strip(matrix: np.ndarray, methods: Sequence[str], tokens: Sequence[str], *, words: FigureWords,
                 title: str = "") -> go.Figure:
    """``matrix`` [method, token] of raw scores; colours by each row's scaled score (blue +, red −), hover shows
    the raw one. ``methods``: the methods' names (``"integrated_gradients"`` ...), shown in ``words``."""
    value_label, scaled_label = words["faith.score"], words["faith.scaled"]
    names = [words.get(f"faith.method.{method}", method) for method in methods]
    scaled = scaled_rows(matrix)
    labels = [plot_text(t) for t in tokens]
    raw = np.asarray(matrix, dtype=np.float64)
    figure = go.Figure(go.Heatmap(
        z=scaled, x=list(range(len(tokens))), y=names, colorscale="RdBu", zmin=-1, zmax=1, zmid=0,
        customdata=np.dstack([raw, np.broadcast_to(np.array(labels, dtype=object), raw.shape)]),
        hovertemplate=(f"%{{y}} · %{{customdata[1]}}<br>{value_label} %{{customdata[0]:.4g}}"
                       f"<br>{scaled_label} %{{z:.2f}}<extra></extra>"),
        text=[[f"{v:.2f}" for v in row] for row in scaled], texttemplate="%{text}" if len(tokens) <= 16 else None,
        textfont={"size": 10}, xgap=1, ygap=2, colorbar={"thickness": 10, "title": {"text": scaled_label}},
    ))
    figure.update_layout(
        title={"text": title, "x": 0, "font": {"size": 13}} if title else None,
        height=int(130 + 34 * len(methods)), width=int(min(1400, max(620, 300 + 52 * len(tokens)))),
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10}, plot_bgcolor="white",
        xaxis={"tickmode": "array", "tickvals": list(range(len(tokens))), "ticktext": labels, "automargin": True,
               "tickangle": -45 if len(tokens) > 12 else 0},
        yaxis={"autorange": "reversed", "automargin": True},
    )
    return figure
