"""Figures of the analysis pages: layer mixing, differences, head importance, one generation step."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from attnviz.explain.ablation import TokenChance
from attnviz.figures.cells import add_cell_markers, clickable_layout, frame_cells
from attnviz.figures.heatmap import plot_text
from attnviz.figures.matrix import HIGHLIGHT, matrix_figure
from attnviz.figures.words import FigureWords

_MAX_VALUE_LABELS = 12  # cells carry their numbers up to this many rows and columns


def analysis_map(matrix: np.ndarray, rows: Sequence[str], cols: Sequence[str], *, title: str = "",
                 masked: np.ndarray | None = None, signed: bool = False) -> go.Figure:
    """A token × token map of any derived quantity (rollout, flow, ‖αvW‖, A − B)."""
    # every derived map is of weights (after the softmax): a masked cell holds 0
    figure = matrix_figure(matrix, rows, cols, title=title, masked=masked, signed=signed, masked_text="0",
                           show_values=len(rows) <= _MAX_VALUE_LABELS and len(cols) <= _MAX_VALUE_LABELS,
                           height=int(min(640, max(260, 110 + 30 * len(rows)))))
    if title:  # the title above the column labels, not across them
        figure.update_layout(title={"text": title, "x": 0, "y": 0.995, "yanchor": "top", "yref": "container",
                                    "font": {"size": 13}}, margin={"t": 90 if len(cols) <= 24 else 40})
    query, key = np.meshgrid([plot_text(r) for r in rows], [plot_text(c) for c in cols], indexing="ij")
    figure.data[0].update(customdata=np.dstack([query, key]),
                          hovertemplate="%{customdata[0]} → %{customdata[1]}: %{z:.4f}<extra></extra>")
    return figure


def highlight_row(figure: go.Figure, row: int, n_cols: int) -> go.Figure:
    """Frame one query row (the row that wrote the newest token)."""
    figure.add_shape(type="rect", x0=-0.5, x1=n_cols - 0.5, y0=row - 0.5, y1=row + 0.5,
                     line={"color": HIGHLIGHT, "width": 3})
    return figure


def importance_figure(scores: np.ndarray, *, words: FigureWords, title: str = "",
                      selected: Sequence[tuple[int, int]] = (), zmax: float | None = None) -> go.Figure:
    """Layer × head effect of ablating each head alone. Invisible markers on the cells make them clickable.
    ``zmax``: the top of the colour scale, shared by several maps (else this map's largest effect)."""
    layer_label, head_label = words["ctl.layer"], words["ctl.head"]
    n_layers, n_heads = scores.shape
    finite = scores[np.isfinite(scores)]
    top = zmax if zmax is not None else float(finite.max()) if finite.size else 1.0
    text = [[("" if not np.isfinite(v) else f"{v:.2g}") for v in row] for row in scores]
    figure = go.Figure(go.Heatmap(
        z=scores, x=list(range(n_heads)), y=list(range(n_layers)), colorscale="Reds", zmin=0, zmax=top or 1.0,
        text=text, texttemplate="%{text}" if n_heads <= 16 else None, textfont={"size": 10}, xgap=1, ygap=1,
        hovertemplate=f"{layer_label} %{{y}}, {head_label} %{{x}}: %{{z:.4g}}<extra></extra>",
        colorbar={"thickness": 10},
    ))
    layers, heads = np.nonzero(np.isfinite(scores))
    add_cell_markers(figure, layers, heads, [f"{scores[i, j]:.4g}" for i, j in zip(layers, heads)], size=18,
                     hovertemplate=f"{layer_label} %{{y}}, {head_label} %{{x}}: %{{text}}<extra></extra>")
    frame_cells(figure, selected)
    clickable_layout(figure, title=title, height=int(min(560, 140 + 36 * n_layers)),
                     margin={"l": 60, "r": 10, "t": 40, "b": 50},
                     x={"title": head_label, "tickvals": list(range(n_heads)), "side": "bottom"},
                     y={"title": layer_label, "tickvals": list(range(n_layers))})
    return figure


def chances_figure(before: Sequence[TokenChance], after: Sequence[TokenChance] = (), *, words: FigureWords,
                   title: str = "") -> go.Figure:
    """Top next-token probabilities as horizontal bars: one step's alone, or with every head and with the chosen
    heads ablated (``after``)."""
    labels = list(dict.fromkeys([c.label for c in before] + [c.label for c in after]))
    names = (words["ablation.before"], words["ablation.after"]) if after else (words["gen.probability"], "")
    figure = go.Figure()
    for name, chances, colour in ((names[0], before, "#4C78A8"), (names[1], after, "#E45756")):
        if not chances:
            continue
        probability = {c.label: c.probability for c in chances}
        figure.add_trace(go.Bar(
            y=[plot_text(label) for label in labels], x=[probability.get(label, 0.0) for label in labels],
            name=name, orientation="h", marker_color=colour,
            text=[f"{probability[label]:.2f}" if label in probability else "" for label in labels],
            textposition="outside", hovertemplate="%{y}: %{x:.4f}<extra>" + name + "</extra>",
        ))
    figure.update_layout(title={"text": title, "x": 0, "font": {"size": 13}}, barmode="group", plot_bgcolor="white",
                         height=int(max(220, 60 + 26 * len(labels) * (2 if after else 1))),
                         margin={"l": 10, "r": 30, "t": 40, "b": 30},
                         # room right of a bar of 1 for its "1.00" label
                         xaxis={"range": [0, 1.25], "showgrid": True, "gridcolor": "#eee", "tickvals": [0, 0.5, 1]},
                         yaxis={"autorange": "reversed", "type": "category", "automargin": True},
                         legend={"orientation": "h", "y": -0.15})
    return figure
