"""Beyond raw weights, under an explorer's map: rollout, flow or value-weighted attention of the shown layer."""

from __future__ import annotations

import numpy as np
import streamlit as st

from attnviz import AttentionResult, LoadedModel
from attnviz.analysis.tokens import visible_positions
from attnviz.analysis.view import ViewOptions, derived_view
from attnviz.explain.flow import attention_flow, rollout
from attnviz.explain.value_norms import value_weighted
from attnviz.export import MIME_TYPES, file_stem, matrix_to_csv
from attnviz.figures.explain import analysis_map
from attnviz.figures.matrix import row_bars
from ui.cached import cached, cached_capture, visitor_settings
from ui.errors import shown_errors
from ui.lang import tr
from ui.panels import image_buttons, show_figure
from ui.url_state import url_choice

VIEWS = ("off", "rollout", "flow", "value")


def _matrix(loaded: LoadedModel, text: str, target: str | None, result: AttentionResult, kind: str, view: str,
            layer: int, heads: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray | None]:
    """The derived map over every token, and the key norms behind a value-weighted one."""
    if view == "rollout":
        return rollout(result, kind, layer).at(layer), None
    if view == "flow":  # flow mixes every layer up to this one: the capture of them all, not the page's
        return cached(attention_flow, cached_capture(loaded, text, target), kind, layer).maps[0], None
    weighted = cached(value_weighted, loaded, text, kind, layer, target, max_tokens=visitor_settings().max_tokens)
    return weighted.combined(heads) / len(heads), weighted.norms[list(heads)].mean(axis=0)


def beyond_weights(loaded: LoadedModel, text: str, target: str | None, result: AttentionResult, kind: str,
                   layer: int, heads: tuple[int, ...], options: ViewOptions, key: str) -> None:
    st.subheader(tr("beyond.title"))
    view = url_choice(st.radio, tr("beyond.view"), list(VIEWS), "beyond", "off", lambda v: tr(f"beyond.{v}"),
                      horizontal=True)
    if view == "off":
        st.caption(tr("beyond.off_help"))
        return
    st.caption(tr(f"beyond.{view}.explain", layer=layer,
                  heads=", ".join(map(str, heads)) if len(heads) < result.shape.heads_of(kind, layer) else tr(
                      "beyond.all_heads")))
    with shown_errors():
        with st.spinner(tr("msg.running")):
            matrix, norms = _matrix(loaded, text, target, result, kind, view, layer, heads)
        _beyond_map(loaded, result, kind, view, layer, heads, options, matrix, norms, key)


def _beyond_map(loaded: LoadedModel, result: AttentionResult, kind: str, view: str, layer: int,
                heads: tuple[int, ...], options: ViewOptions, matrix: np.ndarray, norms: np.ndarray | None,
                key: str) -> None:
    shown = derived_view(result, kind, matrix, layer=layer, heads=heads, hide_special=options.hide_special)
    title = f"{tr(f'beyond.{view}')} · {tr('ctl.layer')} {layer}"
    figure = analysis_map(shown.matrix, shown.row_labels, shown.col_labels, title=title,
                          masked=shown.masked if kind == "decoder" else None)
    stem = file_stem(loaded.name, kind, view, f"L{layer}")
    show_figure(figure, key=f"{key}-{view}", file_stem=stem)
    if norms is not None:
        cols = visible_positions(result.key_tokens(kind), options.hide_special)
        st.plotly_chart(row_bars(norms[cols], shown.col_labels, title=tr("beyond.norms")), key=f"{key}-norms",
                        theme=None)
    columns = st.columns([3, 1])
    with columns[0]:
        image_buttons(figure, stem, key=f"{key}-{view}-img")
    table = np.where(shown.masked, 0.0, shown.matrix)
    columns[1].download_button("CSV", lambda: matrix_to_csv(table, shown.row_labels, shown.col_labels),
                               file_name=f"{stem}.csv", mime=MIME_TYPES["csv"], key=f"{key}-{view}-csv",
                               on_click="ignore", icon=":material/table:")  # the CSV is built when clicked
