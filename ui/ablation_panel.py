"""Head toggles for ablation, fed by clicks on the importance map, and the effect they have."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import streamlit as st

from attnviz import LoadedModel
from attnviz.explain.ablation import AblationEffect, HeadImportance
from attnviz.export import MIME_TYPES, file_stem, matrix_to_csv, safe_filename
from attnviz.figures.explain import chances_figure, importance_figure
from ui.clicks import new_click
from ui.lang import chart_words, tr
from ui.panels import image_buttons, md_escape
from ui.url_state import BOUND


def _pill_key(kind: str, layer: int) -> str:
    return f"off_{kind}_{layer}"


def _chart_key(kind: str) -> str:
    return f"importance_{kind}"


def apply_map_clicks(loaded: LoadedModel) -> None:
    """A click on a cell of an importance map toggles that head (before the toggles are drawn this run)."""
    for kind in loaded.shape.kinds:
        for layer, head in new_click(_chart_key(kind)):  # rows are layers, columns heads
            if not (0 <= layer < loaded.shape.n_layers[kind] and 0 <= head < loaded.shape.heads_of(kind, layer)):
                continue
            key = _pill_key(kind, layer)
            current = set(st.session_state.get(key) or [])
            st.session_state[key] = sorted(current ^ {head})


def open_on(loaded: LoadedModel, opening: tuple[str, int, tuple[int, ...]] | None) -> None:
    """A first visit without heads in its link opens with ``opening`` (kind, layer, heads) switched off."""
    flag = f"_ablation_opened_{loaded.name}"
    if opening is None or st.session_state.get(flag):
        return
    st.session_state[flag] = True
    if any(name.startswith("off_") for name in st.query_params):
        return  # a link says which heads are off
    kind, layer, heads = opening
    st.session_state[_pill_key(kind, layer)] = list(heads)


def is_opening(chosen: list[tuple[str, int, int]], opening: tuple[str, int, tuple[int, ...]]) -> bool:
    kind, layer, heads = opening
    return sorted(chosen) == sorted((kind, layer, h) for h in heads)


def heads_switched_off(loaded: LoadedModel) -> list[tuple[str, int, int]]:
    """One row of toggles per layer and kind; returns the heads switched off."""
    chosen = []
    shape = loaded.shape
    for kind in shape.kinds:
        st.markdown(f"**{tr(f'kind.{kind}')}**")
        # a row of pills does not wrap inside a narrow column: as many columns as 12 pills' width allows
        columns = st.columns(max(1, min(3, shape.n_layers[kind], 12 // max(1, shape.heads_of(kind)))))
        for layer in range(shape.n_layers[kind]):
            heads = list(range(shape.heads_of(kind, layer)))
            key = _pill_key(kind, layer)
            value = st.session_state.get(key)
            if value is not None and not set(value) <= set(heads):
                st.session_state[key] = [h for h in value if h in heads]
            with columns[layer % len(columns)]:
                picked = st.pills(f"{tr('ctl.layer')} {layer}", heads, selection_mode="multi", key=key, **BOUND)
            chosen += [(kind, layer, head) for head in sorted(picked or [])]
    return chosen


def switch_all_on(loaded: LoadedModel) -> None:
    for kind in loaded.shape.kinds:
        for layer in range(loaded.shape.n_layers[kind]):
            st.session_state[_pill_key(kind, layer)] = []


def effect_panel(loaded: LoadedModel, effect: AblationEffect) -> None:
    metric = tr(f"ablation.metric.{effect.metric}")
    if effect.family == "decoder":
        st.metric(metric, f"{effect.score:.4f}")
        st.plotly_chart(chances_figure(effect.top_before, effect.top_after, title=tr("ablation.next"),
                                       words=chart_words()),
                        key="ablation-chances", theme=None)
    elif effect.family == "encoder-decoder":
        left, right = st.columns(2)
        left.markdown(f"**{tr('ablation.before')}**\n\n{md_escape(effect.text_before) or '∅'}")
        changed = effect.text_after != effect.text_before
        shown = md_escape(effect.text_after) or "∅"
        right.markdown(f"**{tr('ablation.after')}**\n\n" + (f":red[{shown}]" if changed else shown))
        st.metric(metric, f"{effect.score:.4f}")
    else:
        st.metric(tr("ablation.cosine"), f"{effect.cosine:.5f}", help=tr("ablation.cosine_help"))
    if not effect.heads:
        st.caption(tr("ablation.none_off"))


def importance_panel(loaded: LoadedModel, importance: HeadImportance, chosen: list[tuple[str, int, int]]) -> None:
    st.caption(tr("ablation.importance_help", metric=tr(f"ablation.metric.{importance.metric}")))
    # one colour scale for every map: 4.7e-6 must not look as dark as 6.2e-4
    finite = [float(np.nanmax(s)) for s in importance.scores.values() if np.isfinite(s).any()]
    top = max(finite) if finite and max(finite) > 0 else 1.0
    st.caption(tr("ablation.shared_scale", top=top))
    for kind, scores in importance.scores.items():
        selected = [(layer, head) for k, layer, head in chosen if k == kind]
        figure = importance_figure(scores, title=tr(f"kind.{kind}"), words=chart_words(), selected=selected,
                                   zmax=top)
        st.plotly_chart(figure, key=_chart_key(kind), on_select="rerun", selection_mode="points", theme=None,
                        config={"displaylogo": False})
        stem = file_stem(loaded.name, "importance", kind, importance.mode)
        columns = st.columns([3, 1])
        with columns[0]:
            image_buttons(figure, stem, key=f"imp-{kind}-img")
        columns[1].download_button(
            "CSV", matrix_to_csv(np.nan_to_num(scores, nan=0.0), [f"L{i}" for i in range(len(scores))],
                                 [f"H{j}" for j in range(scores.shape[1])]),
            file_name=f"{stem}.csv", mime=MIME_TYPES["csv"], key=f"imp-{kind}-csv", on_click="ignore",
            icon=":material/table:")
    ranked = importance.ranked(5)
    st.markdown(f"**{tr('ablation.top')}**")
    st.dataframe(pd.DataFrame([{tr("ctl.kind"): tr(f"kind.{kind}"), tr("ctl.layer"): layer, tr("ctl.head"): head,
                                tr(f"ablation.metric.{importance.metric}"): round(score, 5)}
                               for (kind, layer, head), score in ranked]), hide_index=True, width="stretch")
    payload = {"model": loaded.name, "metric": importance.metric, "mode": importance.mode,
               "scores": {k: [[None if not np.isfinite(v) else float(v) for v in row] for row in grid]
                          for k, grid in importance.scores.items()}}
    st.download_button("JSON", json.dumps(payload, ensure_ascii=False, indent=1).encode(),
                       file_name=safe_filename(loaded.name, "importance", extension="json"),
                       mime=MIME_TYPES["json"], key="imp-json", on_click="ignore", icon=":material/data_object:")
