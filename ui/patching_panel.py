"""The activation patching page's parts: presets, the pair's inputs, the two maps side by side, a clicked head."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from attnviz import AttnvizError, LoadedModel
from attnviz.analysis.view import ViewOptions, build_view
from attnviz.export import file_stem
from attnviz.export.data import matrix_to_csv
from attnviz.figures.heatmap import attention_heatmap
from attnviz.figures.matrix import row_bars
from attnviz.figures.patching import axis_words, patching_map
from attnviz.patching import COMPONENTS, PatchingResult, attribute, patch, prepare
from attnviz.patching import agreement as agreement_of
from attnviz.patching.presets import PRESETS
from ui import controls
from ui.cached import cached
from ui.clicks import new_click
from ui.errors import shown_errors
from ui.lang import chart_words, tr
from ui.model_picker import hub_choices
from ui.panels import image_buttons, md_escape, run_capture
from ui.url_state import BOUND, link_value, url_choice, write_link

SPEC = controls.PageSpec("patch_model", ("encoder", "decoder", "encoder-decoder"), "toy-induction")
NONE = "none"
CHARTS = {"exact": "patch_exact", "attribution": "patch_attribution"}


def _offered(name: str) -> bool:
    return name in PRESETS and (PRESETS[name].model not in ("gpt2",) or "gpt2" in hub_choices(("decoder",)))


def _apply_preset() -> None:
    preset = PRESETS.get(st.session_state.get("preset"))
    if preset is None:
        return
    st.session_state[SPEC.model_key] = preset.model
    for key in ("clean", "corrupt", "answer", "wrong", "target", "component"):
        st.session_state[key] = getattr(preset, key)
    st.session_state.pop("cell", None)
    write_link({"cell": None})


def preset_picker() -> None:
    names = [NONE] + [name for name in PRESETS if _offered(name)]
    url_choice(st.sidebar.selectbox, tr("patch.preset"), names, "preset", NONE, lambda n: tr(f"patch.preset.{n}"),
               on_change=_apply_preset, help=tr("patch.preset_help"))
    if "clean" not in st.session_state and link_value("clean") is None:  # a first visit opens on induction
        preset = PRESETS["induction"]
        for key in ("clean", "corrupt", "answer", "wrong"):
            st.session_state[key] = getattr(preset, key)


def pair_inputs(loaded: LoadedModel) -> dict:
    """The clean and corrupted texts, answer and wrong tokens, target, component and attention kind."""
    sidebar = st.sidebar
    choice = {"clean": sidebar.text_area(tr("patch.clean"), key="clean", height=80, **BOUND),
              "corrupt": sidebar.text_area(tr("patch.corrupt"), key="corrupt", height=80, help=tr("patch.corrupt_help"),
                                           **BOUND),
              "answer": None, "wrong": None, "target": None}
    if loaded.family != "encoder":
        left, right = sidebar.columns(2)
        choice["answer"] = left.text_input(tr("patch.answer"), key="answer", help=tr("patch.answer_help"), **BOUND)
        choice["wrong"] = right.text_input(tr("patch.wrong"), key="wrong", **BOUND)
    if loaded.family == "encoder-decoder":
        choice["target"] = sidebar.text_input(tr("ctl.target"), key="target", help=tr("patch.target_help"), **BOUND)
    kind = controls.kind_picker(list(loaded.shape.kinds))
    names = [n for n in COMPONENTS if kind != "cross" or n not in ("resid_pre", "mlp_out")]
    choice["component"] = url_choice(sidebar.selectbox, tr("patch.component"), names, "component", "head_out",
                                     lambda n: tr(f"patch.component.{n}"))
    choice["kind"] = kind
    return choice


def patching_maps(loaded: LoadedModel, clean: str, corrupt: str, component: str, kind: str | None,
                  answer: str | None = None, wrong: str | None = None, target: str | None = None):
    """Exact and attribution patching of one component, their agreement, and every head's attribution by position
    (what a click on a head shows): computed once per inputs (through the cache), so a click only redraws."""
    pair = prepare(loaded, clean, corrupt, answer, wrong, target)
    exact = patch(loaded, pair, component, kind)
    estimate = attribute(loaded, pair, component, kind)
    try:  # the residual stream of a model whose heads cannot be written is still patched
        heads = attribute(loaded, pair, "head_out_by_pos", kind) if component != "head_out_by_pos" else estimate
    except AttnvizError:
        heads = None
    return exact, estimate, agreement_of(exact, estimate), heads


def computed(loaded: LoadedModel, choice: dict):
    """:func:`patching_maps` of the visitor's choice, from the server's cache."""
    return cached(patching_maps, loaded, choice["clean"], choice["corrupt"], choice["component"], choice["kind"],
                  choice["answer"], choice["wrong"], choice["target"], busy=tr("patch.running"))


def explained(exact: PatchingResult) -> None:
    if exact.metric == "logit_diff":
        st.markdown(tr("patch.metric.logit_diff", answer=md_escape(repr(exact.answer)),
                       wrong=md_escape(repr(exact.wrong)), clean=exact.clean, corrupt=exact.corrupt))
    else:
        st.markdown(tr("patch.metric.embedding", clean=exact.clean, corrupt=exact.corrupt))
    st.caption(tr("patch.runs", runs=exact.runs, passes=exact.passes))


def _selected(result: PatchingResult) -> tuple[int, int] | None:
    """The clicked cell (row, column of the map), from this run's click or the link."""
    for key in CHARTS.values():
        clicked = new_click(key)
        if clicked:
            write_link({"cell": f"{clicked[0][0]},{clicked[0][1]}"})
    text = link_value("cell")
    try:
        row, col = (int(v) for v in (text or "").split(","))
    except ValueError:
        return None
    matrix = result.matrix()[0]
    return (row, col) if 0 <= row < matrix.shape[0] and 0 <= col < matrix.shape[1] else None


def maps(loaded: LoadedModel, exact: PatchingResult, estimate: PatchingResult, agreement) -> tuple[int, int] | None:
    """Exact and attribution maps side by side (clickable), their correlation and where they disagree most."""
    selected = _selected(exact)
    row_word, col_word = axis_words(exact.axes, chart_words())
    top = max(1.0, float(np.abs(exact.values).max()), float(np.abs(estimate.values).max()))
    columns = st.columns(2, gap="medium")
    for column, result in zip(columns, (exact, estimate)):
        matrix, rows, cols, _ = result.matrix()
        figure = patching_map(matrix, rows, cols, axes=result.axes, words=chart_words(),
                              title=tr(f"patch.method.{result.method}"), selected=selected, zmax=top)
        with column:
            st.plotly_chart(figure, key=CHARTS[result.method], on_select="rerun", selection_mode="points", theme=None,
                            config={"displaylogo": False})
            stem = file_stem(loaded.name, "patching", result.component, result.kind, result.method)
            buttons = st.columns([3, 1])
            with buttons[0]:
                image_buttons(figure, stem, key=f"{CHARTS[result.method]}-img")
            buttons[1].download_button("CSV", lambda matrix=matrix, rows=rows, cols=cols: matrix_to_csv(matrix, rows,
                                                                                                         cols),
                                       file_name=f"{stem}.csv", mime="text/csv", key=f"{CHARTS[result.method]}-csv",
                                       on_click="ignore", icon=":material/table:")
    st.markdown(tr("patch.agreement", r=agreement.correlation))
    _disagreements(exact, agreement, row_word, col_word)
    return selected


def _disagreements(exact: PatchingResult, agreement, row_word: str, col_word: str) -> None:
    """The cells where the estimate is furthest from exact patching, as a table."""
    shown, row_labels, col_labels, _ = exact.matrix()
    exact_word, estimate_word = tr("patch.method.exact"), tr("patch.method.attribution")
    rows = []
    for cell, a, b in agreement.disagreements:
        row, col = np.unravel_index(np.ravel_multi_index(cell, exact.values.shape), shown.shape)
        rows.append({row_word: row_labels[row], col_word: col_labels[col], exact_word: a, estimate_word: b})
    signed = st.column_config.NumberColumn(format="%+.3f")
    st.dataframe(pd.DataFrame(rows, columns=[row_word, col_word, exact_word, estimate_word]), hide_index=True,
                 width="content", column_config={exact_word: signed, estimate_word: signed})


def _head_of(exact: PatchingResult, heads: PatchingResult | None, cell: tuple[int, int]) -> tuple[int, int] | None:
    """The head a clicked cell stands for: its own head, or at a layer × position cell the head whose estimated
    contribution there is largest."""
    _, _, _, row_keys = exact.matrix()
    layer, head = row_keys[cell[0]]
    if head is None and exact.axes[-1] == "head":
        head = cell[1]
    if head is None:
        if heads is None:
            return None
        position = min(cell[1], heads.values.shape[1] - 1)
        head = int(np.argmax(np.abs(heads.values[layer, position])))  # [layer, pos, head]
    return layer, head


def head_detail(loaded: LoadedModel, choice: dict, exact: PatchingResult, heads: PatchingResult | None,
                cell: tuple[int, int] | None) -> None:
    """The clicked head's attention map on the clean text and its estimated contribution at each position."""
    if cell is None:
        st.caption(tr("patch.click"))
        return
    found = _head_of(exact, heads, cell)
    if found is None:
        return
    layer, head = found
    kind = exact.kind
    st.subheader(tr("patch.head_title", kind=tr(f"kind.{kind}"), layer=layer, head=head))
    left, right = st.columns(2, gap="medium")
    with shown_errors():  # the contribution beside it is still drawn
        result = run_capture(loaded, choice["clean"], choice["target"])
        view = build_view(result, kind, layer, (head,), options=ViewOptions(hide_special=False))
        figure = attention_heatmap(view, words=chart_words(), title=tr("patch.head_map"))
        with left:
            st.plotly_chart(figure, key="patch_head_map", theme=None, config={"displaylogo": False})
            image_buttons(figure, file_stem(loaded.name, "patching", kind, f"L{layer}", f"H{head}"), "patch-head")
    if heads is not None:
        values = heads.values[layer, :, head]  # [pos]
        labels = [f"{i}·{token}" for i, token in enumerate(heads.clean_tokens[:len(values)])]  # repeated words
        figure = row_bars(values, labels, title=tr("patch.head_contribution"))
        with right:
            st.plotly_chart(figure, key="patch_head_bars", theme=None, config={"displaylogo": False})
            st.caption(tr("patch.head_contribution_help", total=float(values.sum())))


@st.fragment
def results(loaded: LoadedModel, choice: dict, exact: PatchingResult, estimate: PatchingResult, agreement,
            heads: PatchingResult | None) -> None:
    """The maps and the clicked head: a fragment, so a click reruns only this part (the result is cached)."""
    cell = maps(loaded, exact, estimate, agreement)
    head_detail(loaded, choice, exact, heads, cell)
