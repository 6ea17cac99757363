"""The compare page's parts: what is compared (two texts, heads or layers), the maps A, B and A − B, the exports."""

from __future__ import annotations

import streamlit as st

from attnviz import AttentionResult
from attnviz.explain.compare import ANIMAL_PAIR, Comparison, comparison_arrays
from attnviz.export import arrays_to_npz, matrix_to_csv
from attnviz.figures.explain import analysis_map
from ui import panels
from ui.lang import tr
from ui.url_state import BOUND, keep_valid

WHAT = ["texts", "heads", "layers"]
# minilm's layer 4, head 3: the largest change between the animal/street pair is it → animal (tired vs wide)
PRESET_HEAD = (4, 3)
Where = tuple[int, int | None]  # a layer and a head (None: the mean of the layer's heads)


def _pick(side: str, n_layers: int, n_heads: int, layer_default: int, head_default: int) -> Where:
    keep_valid(f"layer_{side}", range(n_layers))  # left from a bigger model: back to the default
    keep_valid(f"head_{side}", ["mean", *map(str, range(n_heads))])
    layer = st.sidebar.select_slider(tr("compare.layer_of", side=side), list(range(n_layers)),
                                     value=min(layer_default, n_layers - 1), key=f"layer_{side}", **BOUND)
    heads = ["mean", *map(str, range(n_heads))]
    head = st.sidebar.select_slider(tr("compare.head_of", side=side), heads,
                                    value=str(min(head_default, n_heads - 1)), key=f"head_{side}",
                                    format_func=lambda h: tr("mode.mean") if h == "mean" else str(h), **BOUND)
    return layer, None if head == "mean" else int(head)


def _reset_pair() -> None:
    st.session_state["text_a"], st.session_state["text_b"] = ANIMAL_PAIR


def choices(what: str, n_layers: int, n_heads: int) -> tuple[str, str, Where, Where]:
    """Text A and B and the layer/head of each side: two texts at one head, or one text at two heads or layers."""
    if what == "texts":
        st.button(tr("compare.preset"), on_click=_reset_pair, icon=":material/pets:")
        left, right = st.columns(2)
        text_a = left.text_area("A", value=ANIMAL_PAIR[0], key="text_a", height=80, **BOUND)
        text_b = right.text_area("B", value=ANIMAL_PAIR[1], key="text_b", height=80, **BOUND)
        both = _pick("A/B", n_layers, n_heads, *PRESET_HEAD)
        return text_a, text_b, both, both
    text = st.sidebar.text_area(tr("ctl.text"), value=ANIMAL_PAIR[0], key="text", height=90, **BOUND)
    a = _pick("A", n_layers, n_heads, 2, 0)
    b = _pick("B", n_layers, n_heads, 2 if what == "heads" else 4, 1 if what == "heads" else 0)
    return text, text, a, b


def _name(side: str, where: Where) -> str:
    head = tr("mode.mean") if where[1] is None else f"{tr('ctl.head')} {where[1]}"
    return f"{side} · {tr('ctl.layer')} {where[0]} · {head}"


def show(comparison: Comparison, result_a: AttentionResult, result_b: AttentionResult, kind: str, a: Where,
         b: Where, stem: str) -> None:
    """A and B side by side, A − B under them with its largest change and the tokens left unmatched, the exports."""
    figures = {
        "a": analysis_map(comparison.a, comparison.a_rows, comparison.a_cols, title=_name("A", a)),
        "b": analysis_map(comparison.b, comparison.b_rows, comparison.b_cols, title=_name("B", b)),
        "difference": analysis_map(comparison.difference, comparison.rows, comparison.cols, signed=True,
                                   title=tr("compare.difference")),
    }
    for column, side in zip(st.columns(2), ("a", "b")):
        with column:
            panels.show_figure(figures[side], key=f"cmp-{side}", file_stem=f"{stem}-{side}", stretch=True)
    st.markdown(f"**{tr('compare.difference')}**")
    st.caption(tr("compare.difference_help"))
    panels.show_figure(figures["difference"], key="cmp-diff", file_stem=f"{stem}-difference")
    row, col, change = comparison.largest_change
    st.markdown(tr("compare.largest", row=panels.md_escape(row), col=panels.md_escape(col), change=change))
    unmatched = [result_a.query_tokens(kind).labels[i] for i in comparison.row_alignment.unmatched_a] + \
                [result_b.query_tokens(kind).labels[j] for j in comparison.row_alignment.unmatched_b]
    if unmatched:
        st.caption(tr("compare.unmatched", tokens=", ".join(dict.fromkeys(unmatched))))
    panels.export_box(stem, figures["difference"], "cmp", image_stem=f"{stem}-difference", downloads=[
        panels.Download("NPZ (A, B, A − B)", lambda: arrays_to_npz(comparison_arrays(comparison)), f"{stem}.npz",
                        "npz"),
        panels.Download("CSV (A − B)", matrix_to_csv(comparison.difference, comparison.rows, comparison.cols),
                        f"{stem}-difference.csv", "csv"),
        panels.Download("CSV (A)", matrix_to_csv(comparison.a, comparison.a_rows, comparison.a_cols),
                        f"{stem}-a.csv", "csv", name="csv-a"),
        panels.Download("CSV (B)", matrix_to_csv(comparison.b, comparison.b_rows, comparison.b_cols),
                        f"{stem}-b.csv", "csv", name="csv-b")])
