"""Attention heatmaps: one view in, one plotly figure out."""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

from attnviz.analysis.view import AttentionView
from attnviz.figures.words import FigureWords

MASKED_COLOUR = "#d9d9d9"
AUTO_VALUES_MAX_CELLS = 16  # write numbers into cells when neither side has more tokens than this
HOVER_LABEL_MAX_CELLS = 128 * 128
MAX_TICK_LABELS = 32


def plot_text(label: str) -> str:
    """Plotly renders a subset of HTML in labels: escape user text so `<b>` or `<script>` stay text."""
    return html.escape(label, quote=False)


def axis_titles(view: AttentionView, words: FigureWords) -> tuple[str, str]:
    if view.kind == "cross":
        return words["axis.source"], words["axis.target"]
    return words["axis.key"], words["axis.query"]


def heads_text(heads: tuple[int, ...]) -> str:
    """A list of heads for people: "0–3" for a run, "1, 5" otherwise."""
    runs = len(heads) > 2 and list(heads) == list(range(heads[0], heads[-1] + 1))
    return f"{heads[0]}–{heads[-1]}" if runs else ", ".join(map(str, heads))


def view_title(view: AttentionView, words: FigureWords) -> str:
    if view.mode == "single" or len(view.heads) == 1:
        heads = f"{words['head']} {view.heads[0]}"
    else:
        heads = words.format(f"figure.combined.{view.mode}", heads=heads_text(view.heads))
    return f"{plot_text(view.model_name)} · {words[f'kind.{view.kind}']} · {words['layer']} {view.layer} · {heads}"


def attention_heatmap(
    view: AttentionView,
    *,
    words: FigureWords,
    colorscale: str = "Blues",
    show_values: bool | None = None,
    fixed_scale: bool = False,
    title: str | None = None,
) -> go.Figure:
    """Query tokens on rows (top to bottom), key tokens on columns; masked cells drawn grey."""
    n_rows, n_cols = view.matrix.shape
    if show_values is None:
        show_values = max(n_rows, n_cols) <= AUTO_VALUES_MAX_CELLS
    rows = [plot_text(label) for label in view.row_labels]
    cols = [plot_text(label) for label in view.col_labels]
    z = np.where(view.masked, np.nan, view.matrix)
    if n_rows * n_cols <= HOVER_LABEL_MAX_CELLS:
        hover_names = np.array([[f"{r} → {c}" for c in cols] for r in rows], dtype=object)
        cell_name = "%{customdata}"
    else:  # a label per cell would make the page several MB: name the cell by its positions
        hover_names = None
        cell_name = "#%{y} → #%{x}"
    x_title, y_title = axis_titles(view, words)
    weight = words["hover.weight"]
    zmax = 1.0 if fixed_scale or not np.isfinite(z).any() else float(np.nanmax(z))
    gap = 1 if max(n_rows, n_cols) <= 48 else 0  # white grid lines would hide cells of a long text
    figure = go.Figure(
        go.Heatmap(
            z=z, x=list(range(n_cols)), y=list(range(n_rows)),
            customdata=hover_names,
            hovertemplate=f"{cell_name}<br>{weight}: %{{z:.4f}}<extra></extra>",
            colorscale=colorscale, zmin=0, zmax=zmax,
            colorbar={"title": {"text": weight}, "thickness": 14},
            texttemplate="%{z:.2f}" if show_values else None,
            textfont={"size": 10},
            xgap=gap, ygap=gap, hoverongaps=False,
        )
    )
    if view.masked.any():
        masked_hover = f"{cell_name}<br>{words['hover.masked']}<extra></extra>"
        figure.add_trace(go.Heatmap(
            z=np.where(view.masked, 1.0, np.nan), x=list(range(n_cols)), y=list(range(n_rows)),
            customdata=hover_names, hovertemplate=masked_hover,
            colorscale=[[0, MASKED_COLOUR], [1, MASKED_COLOUR]], showscale=False,
            # weights: a masked cell holds 0 (its score, not its weight, was −∞)
            text=np.where(view.masked, "0", ""), texttemplate="%{text}" if show_values else None,
            textfont={"size": 10, "color": "#777"},
            xgap=gap, ygap=gap, hoverongaps=False,
        ))
    longest = max(n_rows, n_cols)
    cell = 44 if longest <= 12 else max(640 / longest, 1.25)  # a long text still fits in ~640 px
    # Beyond ~48 tokens, label every k-th token only: 512 labels would overlap into a black bar.
    step = -(-longest // MAX_TICK_LABELS)
    x_ticks, y_ticks = list(range(0, n_cols, step)), list(range(0, n_rows, step))
    shown = [view.col_labels[i] for i in x_ticks] + [view.row_labels[i] for i in y_ticks]
    label_space = 12 + 7 * max((len(label) for label in shown), default=4)
    figure.update_layout(
        title={"text": title if title is not None else view_title(view, words), "x": 0.01, "y": 0.99,
               "yanchor": "top", "font": {"size": 15}},
        xaxis={"title": x_title, "tickmode": "array", "tickvals": x_ticks, "ticktext": [cols[i] for i in x_ticks],
               "side": "top", "tickangle": 0 if n_cols <= 6 else (-45 if step == 1 else -90), "showgrid": False,
               "zeroline": False, "tickfont": {"size": 12 if step == 1 else 10},
               "automargin": True},
        yaxis={"title": y_title, "tickmode": "array", "tickvals": y_ticks, "ticktext": [rows[i] for i in y_ticks],
               "autorange": "reversed", "showgrid": False, "zeroline": False, "scaleanchor": "x",
               "tickfont": {"size": 12 if step == 1 else 10},
               "automargin": True},
        width=int(max(420, 90 + label_space + cell * n_cols + 110)),
        height=int(max(300, 110 + label_space + cell * n_rows)),
        margin={"l": 40 + label_space, "r": 10, "t": 60 + label_space, "b": 10},
        plot_bgcolor="white",
        font={"family": "Noto Sans, Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif"},
    )
    return figure
