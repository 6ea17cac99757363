"""Every head of one layer or of all layers as a grid, and what each head does: its role scores (the one
vocabulary of heads, also what a corpus census accumulates)."""

import streamlit as st

from attnviz.analysis.view import build_view
from attnviz.export import file_stem
from attnviz.figures.grid import head_grid
from attnviz.figures.heatmap import attention_heatmap, plot_text
from ui import controls, live_map, panels, roles_panel
from ui.cached import derived
from ui.lang import chart_words, tr

SPEC = controls.PageSpec("model", ("encoder", "decoder", "encoder-decoder"), "minilm")

loaded, text, target = controls.page_start(SPEC, tr("page.heads"), tr("heads.intro"))
kinds = list(loaded.shape.kinds)
kind = controls.kind_picker(kinds)
layer = controls.layer_picker(loaded.shape.n_layers[kind], allow_all_layers=True)
heads = controls.head_toggles(loaded.shape.heads_of(kind))
options, colorscale, _, fixed = controls.display_options(cross=kind == "cross")
panels.model_summary(loaded)
result = panels.run_capture(loaded, text, target)
if result is None:
    st.stop()

layers = list(range(loaded.shape.n_layers[kind])) if layer is None else [layer]
title = f"{loaded.name} · {tr('kind.' + kind)}"
payload = live_map.grid(result, kind, layers, tuple(heads), options, colorscale=colorscale, fixed_scale=fixed,
                        title=title)
live_map.show(payload, key="heads-grid")
# a clicked panel opens right under the grid, in a box the grid scrolls into view and highlights
opened = (st.session_state.get("heads-grid") or {}).get("view")
if isinstance(opened, dict) and opened.get("layer") in layers and opened.get("head") in heads:
    with st.container(border=True, key=f"grid-opened-L{opened['layer']}-H{opened['head']}"):
        one = build_view(result, kind, opened["layer"], [opened["head"]], "single", options)
        st.subheader(tr("heads.opened", layer=opened["layer"], head=opened["head"]))
        panels.show_figure(attention_heatmap(one, words=chart_words(), colorscale=colorscale), key="grid-one",
                           file_stem=file_stem(f"{loaded.name}_{kind}_L{opened['layer']}_H{opened['head']}"))
# one view per head, for the table and image exports: cached, so a rerun that changed nothing here is free
views = derived("head-views", result, (kind, tuple(layers), tuple(heads), options),
                lambda: [[build_view(result, kind, layer_index, [h], "single", options) for h in heads]
                         for layer_index in layers])


def grid_figure():  # for image exports only: the page draws the grid in the browser
    return head_grid(views, words=chart_words(), colorscale=colorscale, title=plot_text(title),
                     panel_size=120 if len(heads) <= 8 else 105)


stem = f"{loaded.name}_{kind}_grid" if layer is None else f"{loaded.name}_{kind}_L{layer}_grid"
stem = file_stem(stem)
with st.container(border=True):
    st.markdown(f"**{tr('export.title')}** · `{stem}`")
    panels.image_buttons(grid_figure, stem, key="grid")
    panels.result_downloads(result, key="grid-all")

roles_panel.show(result, kind, loaded)
