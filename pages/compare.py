"""Compare: two texts, two heads or two layers side by side, and their difference A − B aligned by token."""

import streamlit as st

from attnviz.explain.compare import ANIMAL_PAIR, compare_heads, comparison_arrays
from attnviz.export import MIME_TYPES, arrays_to_npz, file_stem, matrix_to_csv
from attnviz.figures.explain import analysis_map
from ui import controls, panels
from ui.lang import tr
from ui.url_state import BOUND, keep_valid, url_choice

SPEC = controls.PageSpec("cmp_model", ("encoder", "decoder", "encoder-decoder"), "minilm")
WHAT = ["texts", "heads", "layers"]
# minilm's layer 4, head 3: the largest change between the animal/street pair is it → animal (tired vs wide)
PRESET_HEAD = (4, 3)

st.title(tr("page.compare"))
st.markdown(tr("compare.intro"))
loaded = controls.model_picker(SPEC)
if loaded is None:
    st.stop()
what = url_choice(st.sidebar.radio, tr("compare.what"), WHAT, "cmp", "texts", lambda w: tr(f"compare.{w}"))
kinds = list(loaded.shape.kinds)
kind = controls.kind_picker(kinds)
n_layers, n_heads = loaded.shape.n_layers[kind], loaded.shape.heads_of(kind)
hide = st.sidebar.checkbox(tr("ctl.hide_special"), value=True, key="hide", **BOUND)


def pick(side: str, layer_default: int, head_default: int) -> tuple[int, int | None]:
    keep_valid(f"layer_{side}", range(n_layers))  # left from a bigger model: back to the default
    keep_valid(f"head_{side}", ["mean", *map(str, range(n_heads))])
    layer = st.sidebar.select_slider(tr("compare.layer_of", side=side), list(range(n_layers)),
                                     value=min(layer_default, n_layers - 1), key=f"layer_{side}", **BOUND)
    heads = ["mean", *map(str, range(n_heads))]
    head = st.sidebar.select_slider(tr("compare.head_of", side=side), heads,
                                    value=str(min(head_default, n_heads - 1)), key=f"head_{side}",
                                    format_func=lambda h: tr("mode.mean") if h == "mean" else str(h), **BOUND)
    return layer, None if head == "mean" else int(head)


def reset_pair() -> None:
    st.session_state["text_a"], st.session_state["text_b"] = ANIMAL_PAIR


if what == "texts":
    st.button(tr("compare.preset"), on_click=reset_pair, icon=":material/pets:")
    left, right = st.columns(2)
    text_a = left.text_area("A", value=ANIMAL_PAIR[0], key="text_a", height=80, **BOUND)
    text_b = right.text_area("B", value=ANIMAL_PAIR[1], key="text_b", height=80, **BOUND)
    a = b = pick("A/B", *PRESET_HEAD)
else:
    text_a = text_b = st.sidebar.text_area(tr("ctl.text"), value=ANIMAL_PAIR[0], key="text", height=90, **BOUND)
    a = pick("A", 2, 0)
    b = pick("B", 2 if what == "heads" else 4, 1 if what == "heads" else 0)
panels.model_summary(loaded)
result_a = panels.run_capture(loaded, text_a)
result_b = panels.run_capture(loaded, text_b) if text_b != text_a else result_a
if result_a is None or result_b is None:
    st.stop()

comparison = compare_heads(result_a, result_b, kind, a, b, hide_special=hide)


def name(side: str, where: tuple[int, int | None]) -> str:
    head = tr("mode.mean") if where[1] is None else f"{tr('ctl.head')} {where[1]}"
    return f"{side} · {tr('ctl.layer')} {where[0]} · {head}"


figures = {
    "a": analysis_map(comparison.a, comparison.a_rows, comparison.a_cols, title=name("A", a)),
    "b": analysis_map(comparison.b, comparison.b_rows, comparison.b_cols, title=name("B", b)),
    "difference": analysis_map(comparison.difference, comparison.rows, comparison.cols, signed=True,
                               title=tr("compare.difference")),
}
stem = file_stem(loaded.name, "compare", what, kind)
columns = st.columns(2)
for column, side in zip(columns, ("a", "b")):
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

with st.container(border=True):
    st.markdown(f"**{tr('export.title')}** · `{stem}`")
    panels.image_buttons(figures["difference"], f"{stem}-difference", key="cmp-diff-img")
    data = st.columns(4)
    data[0].download_button("NPZ (A, B, A − B)", lambda: arrays_to_npz(comparison_arrays(comparison)),
                            file_name=f"{stem}.npz", mime=MIME_TYPES["npz"], key="cmp-npz", on_click="ignore",
                            icon=":material/download:")
    data[1].download_button("CSV (A − B)", matrix_to_csv(comparison.difference, comparison.rows, comparison.cols),
                            file_name=f"{stem}-difference.csv", mime=MIME_TYPES["csv"], key="cmp-csv",
                            on_click="ignore", icon=":material/table:")
    data[2].download_button("CSV (A)", matrix_to_csv(comparison.a, comparison.a_rows, comparison.a_cols),
                            file_name=f"{stem}-a.csv", mime=MIME_TYPES["csv"], key="cmp-csv-a", on_click="ignore",
                            icon=":material/table:")
    data[3].download_button("CSV (B)", matrix_to_csv(comparison.b, comparison.b_rows, comparison.b_cols),
                            file_name=f"{stem}-b.csv", mime=MIME_TYPES["csv"], key="cmp-csv-b", on_click="ignore",
                            icon=":material/table:")
