"""The contributions page's parts: the clickable layer × head logit map, the top heads, the parts, the lens."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from attnviz import LoadedModel
from attnviz.analysis.view import ViewOptions, build_view
from attnviz.contributions.decompose import ResidualDecomposition
from attnviz.contributions.lens import LogitLens
from attnviz.contributions.logits import LogitAttribution
from attnviz.export import MIME_TYPES, matrix_to_csv, safe_filename
from attnviz.figures.contributions import attribution_map, lens_figure, parts_figure
from attnviz.figures.explain import importance_figure
from attnviz.figures.heatmap import attention_heatmap
from ui.cached import cached_capture
from ui.clicks import new_click
from ui.lang import chart_words, tr
from ui.panels import image_buttons, map_exports, md_escape, show_figure
from ui.url_state import link_value, write_link

OPEN = "open"  # URL parameter: the head whose attention map is open, "decoder.1.2" or "cross.0.3"


def opened_head(loaded: LoadedModel, kinds: tuple[str, ...]) -> tuple[str, int, int] | None:
    """The head the visitor clicked (this run's click, else the URL's), checked against the model."""
    for kind in kinds:
        clicked = new_click(f"dla-{kind}")
        if clicked:
            write_link({OPEN: f"{kind}.{clicked[0][0]}.{clicked[0][1]}"})
    try:
        kind, layer, head = (link_value(OPEN) or "").split(".")
        layer, head = int(layer), int(head)
    except ValueError:
        return None
    if kind not in kinds or not (0 <= layer < loaded.shape.n_layers[kind] and 0 <= head < loaded.shape.heads_of(kind,
                                                                                                                layer)):
        write_link({OPEN: None})
        return None
    return kind, layer, head


def _grid_csv(values: np.ndarray) -> bytes:
    return matrix_to_csv(values, [f"L{i}" for i in range(values.shape[0])], [f"H{j}" for j in range(values.shape[1])])


def attribution_panel(loaded: LoadedModel, attribution: LogitAttribution, opened) -> None:
    """The layer × head map(s), clickable, with exports; the top heads with their share; the parts as bars."""
    against = tr("contrib.minus", token=attribution.contrast) if attribution.contrast else ""
    title = tr("contrib.map_title", token=attribution.token, against=against, position=attribution.position,
               value=attribution.logit)
    left, right = st.columns([3, 2], gap="large")
    grids = [("decoder", attribution.heads)] + ([("cross", attribution.cross_heads)]
                                                if attribution.cross_heads is not None else [])
    with left:
        for kind, values in grids:
            selected = [(opened[1], opened[2])] if opened and opened[0] == kind else []
            figure = attribution_map(attribution, title=f"{title} · {tr('kind.' + kind)}", words=chart_words(),
                                     selected=selected, cross=kind == "cross")
            st.plotly_chart(figure, key=f"dla-{kind}", on_select="rerun", selection_mode="points", theme=None,
                            config={"displaylogo": False})
            stem = safe_filename(loaded.name, "logit-attribution", kind, attribution.token, extension="x")[:-2]
            columns = st.columns([3, 1])
            with columns[0]:
                image_buttons(figure, stem, key=f"dla-{kind}-img")
            columns[1].download_button("CSV", _grid_csv(values), file_name=f"{stem}.csv", mime=MIME_TYPES["csv"],
                                       key=f"dla-{kind}-csv", on_click="ignore", icon=":material/table:")
        st.caption(tr("contrib.click_help"))
    with right:
        metric_against = tr("contrib.minus", token=md_escape(attribution.contrast)) if attribution.contrast else ""
        st.metric(tr("contrib.logit", token=md_escape(attribution.token), against=metric_against),
                  f"{attribution.logit:.3f}",
                  help=tr("contrib.sum_help", total=attribution.total))
        st.markdown(f"**{tr('contrib.top_heads')}**")
        top = attribution.top_heads(6)
        several_kinds = len({h.kind for h in top}) > 1  # then each head says which attention it belongs to
        # three short columns: they all show in the page's narrow right-hand column
        st.dataframe(pd.DataFrame([{tr("ctl.head"): (f"{tr(f'kind.{h.kind}')} " if several_kinds else "")
                                    + f"L{h.layer} H{h.head}", tr("contrib.value"): round(h.value, 4),
                                    tr("contrib.share"): f"{h.share:.1%}"} for h in top]),
                     hide_index=True, width="stretch")
        figure = parts_figure(attribution, title=tr("contrib.parts"), words=chart_words())
        st.plotly_chart(figure, key="dla-parts", theme=None, config={"displaylogo": False})
        stem = safe_filename(loaded.name, "logit-parts", attribution.token, extension="x")[:-2]
        image_buttons(figure, stem, key="dla-parts-img")


def head_map(loaded: LoadedModel, text: str, target: str | None, opened) -> None:
    """The opened head's attention map, drawn and exported as on the self-attention and causal pages."""
    kind, layer, head = opened
    st.subheader(tr("contrib.head_map", kind=tr(f"kind.{kind}"), layer=layer, head=head))
    result = cached_capture(loaded, text, target, layer=layer)
    view = build_view(result, kind, layer, [head], "single", ViewOptions(hide_special=False))
    figure = attention_heatmap(view, words=chart_words())
    stem = safe_filename(view.model_name, view.kind, f"L{view.layer}", view.head_label, extension="x")[:-2]
    show_figure(figure, key="dla-head-chart", file_stem=stem)
    map_exports(view, figure, key="dla-head")


def lens_panel(loaded: LoadedModel, lens: LogitLens, position: int, lens_length: int) -> None:
    st.caption(tr("contrib.lens_help"))
    figure = lens_figure(lens, title=tr("contrib.lens_title", model=loaded.name), words=chart_words(),
                         selected=None)
    # one column stretched over a laptop's page reads as a bar, not a grid: half the width there (columns stack on
    # a phone, where it takes the whole width)
    narrow = len(lens.text_positions) < 4
    if narrow:  # the title in two lines, after the model's name
        title = figure.layout.title.text
        figure.update_layout(title_text=title.replace(": ", ":<br>", 1).replace("：", "：<br>", 1))
    box = st.columns(2)[0] if narrow else st.container()
    box.plotly_chart(figure, key="lens", theme=None, config={"displaylogo": False})
    stem = safe_filename(loaded.name, "logit-lens", extension="x")[:-2]
    columns = st.columns([3, 1])
    with columns[0]:
        image_buttons(figure, stem, key="lens-img")
    rows = [tr("contrib.row_zero")] + [str(layer) for layer in range(lens.n_rows - 1)]
    columns[1].download_button(
        "CSV", lambda: _lens_csv(lens, rows), file_name=f"{stem}.csv", mime=MIME_TYPES["csv"], key="lens-csv",
        on_click="ignore", icon=":material/table:")
    if len(lens.text_positions) > 1:
        st.caption(tr("contrib.lens_window", first=lens.text_positions[0], last=lens.text_positions[-1],
                      n=lens_length))
    first = lens.first_layer(position)
    column = lens.column(position)
    st.markdown(tr("contrib.lens_first", token=md_escape(lens.predictions[column]), position=position,
                   layer=rows[first] if first is not None else "—"))
    cells = [{tr("ctl.layer"): rows[row],
              **{f"#{i + 1}": f"{label} {p:.3f}" for i, (label, p) in
                 enumerate(zip(lens.top_labels[row][column], lens.top_probabilities[row, column]))}}
             for row in range(lens.n_rows)]
    st.dataframe(pd.DataFrame(cells), hide_index=True, width="stretch")


def _lens_csv(lens: LogitLens, rows: list[str]) -> bytes:
    """One line per cell: layer, position, token, the final prediction's rank and probability, the top tokens."""
    table = pd.DataFrame([{"layer": rows[row], "position": pos, "token": lens.positions[c],
                           "prediction": lens.predictions[c], "rank": int(lens.prediction_rank[row, c]),
                           "probability": float(lens.prediction_probability[row, c]),
                           "top": " | ".join(f"{label} {p:.4f}" for label, p in
                                             zip(lens.top_labels[row][c], lens.top_probabilities[row, c]))}
                          for row in range(lens.n_rows) for c, pos in enumerate(lens.text_positions)])
    return table.to_csv(index=False).encode("utf-8")


def encoder_panel(loaded: LoadedModel, decomposition: ResidualDecomposition, position: int, opened) -> None:
    """An encoder has no logits: how much each head wrote into the chosen token's stream, clickable like the map."""
    norms = decomposition.head_norms(position)
    label = decomposition.tokens.labels[position]
    selected = [(opened[1], opened[2])] if opened else []
    figure = importance_figure(norms, title=tr("contrib.norms_title", token=label, position=position),
                               words=chart_words(), selected=selected)
    st.plotly_chart(figure, key="dla-encoder", on_select="rerun", selection_mode="points", theme=None,
                    config={"displaylogo": False})
    stem = safe_filename(loaded.name, "head-writes", label, extension="x")[:-2]
    columns = st.columns([3, 1])
    with columns[0]:
        image_buttons(figure, stem, key="norms-img")
    columns[1].download_button("CSV", _grid_csv(norms), file_name=f"{stem}.csv", mime=MIME_TYPES["csv"],
                               key="norms-csv", on_click="ignore", icon=":material/table:")
    st.caption(tr("contrib.click_help"))
