"""The all-heads grid: every head of the shown layers drawn in the browser, a clicked head opened under it, and
the grid's exports."""

from __future__ import annotations

import streamlit as st

from attnviz import AttentionResult, LoadedModel
from attnviz.analysis.view import AttentionView, ViewOptions, build_view
from attnviz.export import file_stem
from attnviz.figures.grid import head_grid
from attnviz.figures.heatmap import attention_heatmap, plot_text
from ui import live_map, panels
from ui.cached import cached
from ui.lang import chart_words, tr

KEY = "heads-grid"  # the browser grid's key: the head it opened lands in st.session_state under it


def head_views(result: AttentionResult, kind: str, layers: tuple[int, ...], heads: tuple[int, ...],
               options: ViewOptions) -> list[list[AttentionView]]:
    """One view per head, layer by layer (what an image export of the grid draws)."""
    return [[build_view(result, kind, layer, [head], "single", options) for head in heads] for layer in layers]


def show(loaded: LoadedModel, result: AttentionResult, kind: str, layer: int | None, heads: tuple[int, ...],
         options: ViewOptions, colorscale: str, fixed_scale: bool) -> None:
    """The grid of ``layer`` (None: every layer), the head a click opened, and the exports."""
    layers = tuple(range(loaded.shape.n_layers[kind])) if layer is None else (layer,)
    title = f"{loaded.name} · {tr('kind.' + kind)}"
    live_map.show(live_map.grid(result, kind, list(layers), heads, options, colorscale=colorscale,
                                fixed_scale=fixed_scale, title=title), key=KEY)
    _opened_head(loaded, result, kind, layers, heads, options, colorscale)

    def grid_figure():  # for image exports only, built when one is asked for: the page draws the grid in the browser
        return head_grid(cached(head_views, result, kind, layers, heads, options), words=chart_words(),
                         colorscale=colorscale, title=plot_text(title), panel_size=120 if len(heads) <= 8 else 105)

    stem = file_stem(f"{loaded.name}_{kind}_grid" if layer is None else f"{loaded.name}_{kind}_L{layer}_grid")
    with st.container(border=True):
        st.markdown(f"**{tr('export.title')}** · `{stem}`")
        panels.image_buttons(grid_figure, stem, key="grid")
        panels.result_downloads(result, key="grid-all")


def _opened_head(loaded: LoadedModel, result: AttentionResult, kind: str, layers: tuple[int, ...],
                 heads: tuple[int, ...], options: ViewOptions, colorscale: str) -> None:
    """A clicked panel opens right under the grid, in a box the grid scrolls into view and highlights."""
    opened = (st.session_state.get(KEY) or {}).get("view")
    if not (isinstance(opened, dict) and opened.get("layer") in layers and opened.get("head") in heads):
        return
    layer, head = opened["layer"], opened["head"]
    with st.container(border=True, key=f"grid-opened-L{layer}-H{head}"):
        one = build_view(result, kind, layer, [head], "single", options)
        st.subheader(tr("heads.opened", layer=layer, head=head))
        panels.show_figure(attention_heatmap(one, words=chart_words(), colorscale=colorscale), key="grid-one",
                           file_stem=file_stem(f"{loaded.name}_{kind}_L{layer}_H{head}"))
