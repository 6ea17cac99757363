"""Every head of one layer or of all layers as a grid, and what each head attends to."""

import pandas as pd
import streamlit as st

from attnviz.analysis.tables import head_rows
from attnviz.analysis.view import build_view
from attnviz.export_data import safe_filename
from attnviz.figures.grid import MAX_PANEL_CELLS, head_grid
from attnviz.figures.heatmap import plot_text
from ui import controls, panels, roles_panel
from ui.lang import chart_words, tr

SPEC = controls.PageSpec("model", ("encoder", "decoder", "encoder-decoder"), "minilm")

loaded, text, target = controls.page_start(SPEC, tr("page.heads"), tr("heads.intro"))
kinds = list(loaded.shape.kinds)
kind = controls.kind_picker(kinds)
layer = controls.layer_picker(loaded.shape.n_layers[kind], allow_all_layers=True)
heads = controls.head_toggles(loaded.shape.heads_of(kind))
options, colorscale, _, _ = controls.display_options(cross=kind == "cross")
panels.model_summary(loaded)
result = panels.run_capture(loaded, text, target)
if result is None:
    st.stop()

layers = list(range(loaded.shape.n_layers[kind])) if layer is None else [layer]
longest = max(len(result.query_tokens(kind)), len(result.key_tokens(kind)))
if longest > MAX_PANEL_CELLS:
    st.info(tr("heads.pooled", n=longest, block=-(-longest // MAX_PANEL_CELLS)))
views = [[build_view(result, kind, layer_index, [h], "single", options) for h in heads] for layer_index in layers]
figure = head_grid(views, words=chart_words(), colorscale=colorscale,
                   title=f"{plot_text(loaded.name)} · {tr('kind.' + kind)}",
                   panel_size=120 if len(heads) <= 8 else 105)
stem = f"{loaded.name}_{kind}_grid" if layer is None else f"{loaded.name}_{kind}_L{layer}_grid"
stem = safe_filename(stem, extension="x")[:-2]
panels.show_figure(figure, key="grid-chart", file_stem=stem, stretch=True)
with st.container(border=True):
    st.markdown(f"**{tr('export.title')}** · `{stem}`")
    panels.image_buttons(figure, stem, key="grid")
    panels.result_downloads(result, key="grid-all")

if kind != "cross":
    st.subheader(tr("heads.table"))
    rows = [{tr("col.layer"): row.layer, tr("col.head"): row.head, tr("col.pattern"): tr(f"pattern.{row.pattern}"),
             tr("col.entropy"): round(row.entropy, 2), tr("col.previous"): round(row.previous_weight, 2),
             tr("col.self"): round(row.self_weight, 2), tr("col.special"): round(row.special_weight, 2),
             tr("col.top"): f"{row.top_link[0]} → {row.top_link[1]} ({row.top_link[2]:.2f})" if row.top_link else ""}
            for row in head_rows(result, kind, [view for views_of_layer in views for view in views_of_layer])]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")

roles_panel.show(result, kind, loaded)
