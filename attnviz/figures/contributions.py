"""Figures of what attention contributes: the layer × head logit map, the parts as bars, the logit lens table."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from attnviz.contributions.lens import LogitLens
from attnviz.contributions.logits import LogitAttribution
from attnviz.figures.heatmap import plot_text
from attnviz.figures.words import FigureWords


def attribution_map(attribution: LogitAttribution, *, words: FigureWords, title: str = "",
                    selected: Sequence[tuple[int, int]] = (), cross: bool = False) -> go.Figure:
    """Each head's direct effect on the logit [layer, head], signed; markers on the cells take clicks."""
    values = attribution.cross_heads if cross else attribution.heads
    n_layers, n_heads = values.shape
    limit = float(np.abs(values).max()) or 1.0
    shares = np.abs(values) / max(attribution.magnitude, 1e-12)
    figure = go.Figure(go.Heatmap(
        z=values, x=list(range(n_heads)), y=list(range(n_layers)), colorscale="RdBu", zmid=0, zmin=-limit, zmax=limit,
        text=[[f"{v:+.2f}" for v in row] for row in values], texttemplate="%{text}" if n_heads <= 16 else None,
        textfont={"size": 10}, xgap=1, ygap=1, hoverinfo="skip", colorbar={"thickness": 10},
    ))
    layer_word, head_word = words["ctl.layer"], words["ctl.head"]
    layers, heads = np.indices(values.shape).reshape(2, -1)
    figure.add_trace(go.Scatter(
        x=heads, y=layers, mode="markers", marker={"size": 18, "opacity": 0.01, "symbol": "square"}, showlegend=False,
        customdata=np.stack([layers, heads, values.ravel(), shares.ravel() * 100], axis=-1),
        hovertemplate=(f"{layer_word} %{{customdata[0]}}, {head_word} %{{customdata[1]}}: %{{customdata[2]:+.4f}} "
                       "(%{customdata[3]:.1f}%)<extra></extra>"),
    ))
    for layer, head in selected:
        figure.add_shape(type="rect", x0=head - 0.5, x1=head + 0.5, y0=layer - 0.5, y1=layer + 0.5,
                         line={"color": "#111", "width": 2})
    figure.update_layout(
        title={"text": plot_text(title), "x": 0, "font": {"size": 13}}, plot_bgcolor="white",
        clickmode="event+select", dragmode=False, height=int(min(600, 150 + 34 * n_layers)),
        margin={"l": 60, "r": 10, "t": 40, "b": 50},
        xaxis={"title": head_word, "tickmode": "array", "tickvals": list(range(n_heads)), "showgrid": False,
               "zeroline": False},
        yaxis={"title": layer_word, "tickmode": "array", "tickvals": list(range(n_layers)), "autorange": "reversed",
               "showgrid": False, "zeroline": False},
    )
    return figure


def parts_figure(attribution: LogitAttribution, *, words: FigureWords, title: str = "") -> go.Figure:
    """Embeddings, each layer's attention (heads summed) and MLP, and the biases, as signed bars that add up."""
    labels, values = [words["contrib.embeddings"]], [attribution.embeddings]
    attention = attribution.heads.sum(axis=1) + attribution.attention_bias
    if attribution.cross_heads is not None:
        attention = attention + attribution.cross_heads.sum(axis=1)
    for layer in range(len(attribution.mlps)):
        labels += [f"{words['contrib.attention']} {layer}", f"{words['contrib.mlp']} {layer}"]
        values += [float(attention[layer]), float(attribution.mlps[layer])]
    labels.append(words["contrib.biases"])
    values.append(attribution.bias)
    figure = go.Figure(go.Bar(
        x=labels, y=values, marker_color=["#4C78A8" if v >= 0 else "#E45756" for v in values],
        hovertemplate="%{x}: %{y:+.4f}<extra></extra>",
    ))
    figure.update_layout(title={"text": plot_text(title), "x": 0, "font": {"size": 13}}, plot_bgcolor="white",
                         height=300, margin={"l": 40, "r": 10, "t": 40, "b": 60},
                         yaxis={"zeroline": True, "zerolinecolor": "#999", "gridcolor": "#eee"})
    return figure


def lens_figure(lens: LogitLens, *, words: FigureWords, title: str = "",
                selected: tuple[int, int] | None = None) -> go.Figure:
    """Layer × position: the final prediction's probability (colour) and rank (text); top-k on hover."""
    # columns are drawn at 0..n-1 and named by their text position: a window far into a long text, or a single
    # position, then fills the plot as the first window does
    rows, n, x = lens.n_rows, len(lens.positions), list(range(len(lens.positions)))
    layer_word, probability = words["ctl.layer"], words["contrib.probability"]
    row_labels = [words["contrib.row_zero"]] + [str(row) for row in range(rows - 1)]
    hover = [["<br>".join(f"{plot_text(label)} {p:.3f}" for label, p in zip(lens.top_labels[r][c],
                                                                          lens.top_probabilities[r, c]))
              for c in range(n)] for r in range(rows)]
    ranks = [[str(int(rank)) if rank < 1000 else "999+" for rank in row] for row in lens.prediction_rank]
    columns = [f"{plot_text(label)}·{i}" for i, label in zip(lens.text_positions, lens.positions)]
    figure = go.Figure(go.Heatmap(
        z=lens.prediction_probability, x=x, y=list(range(rows)), colorscale="Greens", zmin=0, zmax=1,
        text=ranks, texttemplate="%{text}" if n <= 24 else None, textfont={"size": 10}, xgap=1, ygap=1,
        customdata=np.dstack([np.array(hover, dtype=object),
                              np.array([[plot_text(p) for p in lens.predictions]] * rows, dtype=object),
                              np.array([list(lens.text_positions)] * rows, dtype=object)]),
        hovertemplate=(f"{layer_word} %{{y}}, {words['contrib.position']} %{{customdata[2]}}<br>%{{customdata[1]}}: "
                       f"{words['contrib.rank']} %{{text}}, {probability} %{{z:.3f}}<br><br>%{{customdata[0]}}"
                       "<extra></extra>"),
        colorbar={"thickness": 10, "title": {"text": probability, "side": "right"}},
    ))
    if selected is not None:
        row, column = selected
        figure.add_shape(type="rect", x0=column - 0.5, x1=column + 0.5, y0=row - 0.5, y1=row + 0.5,
                         line={"color": "#111", "width": 2})
    figure.update_layout(
        title={"text": plot_text(title), "x": 0, "font": {"size": 13}}, plot_bgcolor="white", dragmode=False,
        height=int(min(640, 170 + 30 * rows)), margin={"l": 50, "r": 10, "t": 90, "b": 10},
        xaxis={"tickmode": "array", "tickvals": x, "ticktext": columns, "side": "top",
               "showticklabels": n <= 40, "showgrid": False, "zeroline": False},
        yaxis={"title": layer_word, "tickmode": "array", "tickvals": list(range(rows)), "ticktext": row_labels,
               "autorange": "reversed", "showgrid": False, "zeroline": False},
    )
    # The final prediction under each column, on a second axis at the bottom.
    figure.add_trace(go.Scatter(x=[0, n - 1], y=[0, 0], xaxis="x2", mode="markers", marker={"opacity": 0},
                                hoverinfo="skip", showlegend=False))
    figure.update_layout(
        xaxis={"range": [-0.5, n - 0.5]},
        xaxis2={"overlaying": "x", "side": "bottom", "range": [-0.5, n - 0.5], "tickmode": "array",
                "tickvals": list(range(n)), "ticktext": [plot_text(p) for p in lens.predictions],
                "showticklabels": n <= 40, "showgrid": False, "zeroline": False,
                "title": words["contrib.final_prediction"]},
        margin={"b": 60},
    )
    return figure
