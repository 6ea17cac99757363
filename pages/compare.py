"""Compare: two texts, two heads or two layers side by side, and their difference A − B aligned by token."""

import streamlit as st

from attnviz.explain.compare import compare_heads
from attnviz.export import file_stem
from ui import compare_panel, controls, panels
from ui.lang import tr
from ui.url_state import BOUND, url_choice

SPEC = controls.PageSpec("cmp_model", ("encoder", "decoder", "encoder-decoder"), "minilm")

st.title(tr("page.compare"))
st.markdown(tr("compare.intro"))
loaded = controls.model_picker(SPEC)
if loaded is None:
    st.stop()
what = url_choice(st.sidebar.radio, tr("compare.what"), compare_panel.WHAT, "cmp", "texts",
                  lambda w: tr(f"compare.{w}"))
kind = controls.kind_picker(list(loaded.shape.kinds))
hide = st.sidebar.checkbox(tr("ctl.hide_special"), value=True, key="hide", **BOUND)
text_a, text_b, a, b = compare_panel.choices(what, loaded.shape.n_layers[kind], loaded.shape.heads_of(kind))
panels.model_summary(loaded)
result_a = panels.run_capture(loaded, text_a)
result_b = panels.run_capture(loaded, text_b) if text_b != text_a else result_a
comparison = compare_heads(result_a, result_b, kind, a, b, hide_special=hide)
compare_panel.show(comparison, result_a, result_b, kind, a, b, stem=file_stem(loaded.name, "compare", what, kind))
