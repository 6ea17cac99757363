"""Plotly figures of a census: the layer x head grid of one statistic, a head's offset profile and entropy
distribution, and its joint query/key map. Data in, figure out; the few words they show are passed in.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

CELL = 44  # pixels per grid cell
QUERY_COLOUR, KEY_COLOUR = "#4C78A8", "#F58518"  # Tableau 10 blue and orange, as the app's head colours


def stat_grid(grid: np.ndarray, *, title: str = "", value_name: str = "value", layer_word: str = "layer",
              head_word: str = "head", colorscale: str = "Viridis", selected: tuple[int, int] | None = None,
              zrange: tuple[float, float] | None = None) -> go.Figure:
    """``grid[layer, head]`` as square markers (clickable: each point carries its layer and head).

    Layers run bottom to top, as a model stacks them; NaN cells (heads a layer lacks, statistics a
    kind has not) are left empty.
    """
    n_layers, n_heads = grid.shape
    layers, heads = np.nonzero(np.isfinite(grid))
    values = grid[layers, heads]
    low, high = zrange if zrange is not None else (
        (float(values.min()), float(values.max())) if values.size else (0.0, 1.0))
    if high <= low:
        high = low + 1e-9
    show_text = n_heads <= 16
    figure = go.Figure(go.Scatter(
        x=heads, y=layers, mode="markers+text" if show_text else "markers",
        marker={"symbol": "square", "size": CELL - 3, "color": values, "colorscale": colorscale, "cmin": low,
                "cmax": high, "colorbar": {"title": {"text": value_name}, "thickness": 14}, "line": {"width": 0}},
        text=[f"{v:.2f}" for v in values], textfont={"size": 10, "color": _text_colours(values, low, high)},
        customdata=np.stack([layers, heads], axis=1) if values.size else None,
        hovertemplate=f"{layer_word} %{{y}}, {head_word} %{{x}}: %{{marker.color:.3f}}<extra></extra>",
        showlegend=False,
    ))
    if selected is not None:
        figure.add_trace(go.Scatter(
            x=[selected[1]], y=[selected[0]], mode="markers", hoverinfo="skip", showlegend=False,
            marker={"symbol": "square-open", "size": CELL + 1, "color": "#d62728", "line": {"width": 3}}))
    figure.update_layout(
        title={"text": title, "x": 0, "font": {"size": 14}},
        width=max(360, n_heads * CELL + 190), height=max(240, n_layers * CELL + 120),
        margin={"l": 60, "r": 20, "t": 40, "b": 50}, plot_bgcolor="white", clickmode="event+select",
        xaxis={"title": head_word, "tickmode": "array", "tickvals": list(range(n_heads)),
               "range": [-0.6, n_heads - 0.4], "showgrid": False, "zeroline": False, "fixedrange": True},
        yaxis={"title": layer_word, "tickmode": "array", "tickvals": list(range(n_layers)),
               "range": [-0.6, n_layers - 0.4], "showgrid": False, "zeroline": False, "fixedrange": True},
        dragmode=False,
    )
    return figure


def _text_colours(values: np.ndarray, low: float, high: float) -> list[str]:
    """Dark text on the light end of Viridis, white on the dark end."""
    share = (values - low) / (high - low) if values.size else values
    return ["#111111" if s > 0.6 else "#ffffff" for s in share]


def offset_bars(offsets: Sequence[int], values: Sequence[float], *, x_title: str, y_title: str,
                title: str = "") -> go.Figure:
    """Mean weight by relative position of the key (NaN offsets left out); the axis titles come from the tables."""
    shown = [(d, v) for d, v in zip(offsets, values) if np.isfinite(v)]
    figure = go.Figure(go.Bar(x=[d for d, _ in shown], y=[v for _, v in shown], marker_color=QUERY_COLOUR,
                              hovertemplate="%{x:+d}: %{y:.3f}<extra></extra>"))
    figure.update_layout(title={"text": title, "x": 0, "font": {"size": 13}}, height=260,
                         margin={"l": 50, "r": 10, "t": 40, "b": 40}, plot_bgcolor="white",
                         xaxis={"title": x_title, "dtick": 1}, yaxis={"title": y_title, "rangemode": "tozero",
                                                                    "gridcolor": "#eeeeee"})
    return figure


def entropy_bars(shares: Sequence[float], *, x_title: str, y_title: str, title: str = "") -> go.Figure:
    """The distribution of row entropy relative to its maximum, in equal bins over [0, 1]; the axis titles come from
    the tables."""
    n = len(shares)
    centres = [(b + 0.5) / n for b in range(n)]
    figure = go.Figure(go.Bar(x=centres, y=[0.0 if not np.isfinite(s) else s for s in shares], width=1 / n * 0.92,
                              marker_color=KEY_COLOUR, hovertemplate="%{x:.2f}: %{y:.1%}<extra></extra>"))
    figure.update_layout(title={"text": title, "x": 0, "font": {"size": 13}}, height=260,
                         margin={"l": 50, "r": 10, "t": 40, "b": 40}, plot_bgcolor="white",
                         xaxis={"title": x_title, "range": [0, 1]},
                         yaxis={"title": y_title, "tickformat": ".0%", "gridcolor": "#eeeeee"})
    return figure


def qk_map(points: pd.DataFrame, *, title: str = "", query_word: str = "query", key_word: str = "key",
           text_word: str = "text") -> go.Figure:
    """Queries and keys of one head in one 2-D map; hover names the token and its text."""
    figure = go.Figure()
    for side, word, colour, symbol in (("query", query_word, QUERY_COLOUR, "circle"),
                                       ("key", key_word, KEY_COLOUR, "diamond")):
        rows = points[points.side == side]
        figure.add_trace(go.Scattergl(
            x=rows.x, y=rows.y, mode="markers", name=word,
            marker={"color": colour, "symbol": symbol, "size": 7, "opacity": 0.75, "line": {"width": 0}},
            customdata=np.stack([rows.label.astype(str), rows.text_id.astype(str)], axis=1) if len(rows) else None,
            hovertemplate=f"{word} <b>%{{customdata[0]}}</b> ({text_word} %{{customdata[1]}})<extra></extra>",
        ))
    figure.update_layout(title={"text": title, "x": 0, "font": {"size": 13}}, height=460,
                         margin={"l": 40, "r": 10, "t": 40, "b": 40}, plot_bgcolor="white",
                         legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"},
                         xaxis={"showticklabels": False, "zeroline": False, "gridcolor": "#f0f0f0"},
                         yaxis={"showticklabels": False, "zeroline": False, "gridcolor": "#f0f0f0",
                                "scaleanchor": "x"})
    return figure
