"""Causal self-attention of a decoder: the masked upper triangle and the row-wise softmax."""

import pandas as pd
import streamlit as st

from attnviz.analysis.checks import causal_check, next_token_table
from ui import controls, panels
from ui.beyond_panel import beyond_weights
from ui.cached import derived
from ui.generation_panel import generation_panel
from ui.lang import tr

SPEC = controls.PageSpec("lm", ("decoder", "encoder-decoder"), "toy-lm")

st.title(tr("page.causal"))
st.markdown(tr("causal.intro"))
# two lines: the formula fits a phone's width
st.latex(r"\begin{gathered}\mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}} + M\right)V,\\ "
         r"M_{ij}=\begin{cases}0 & j\le i\\ -\infty & j>i\end{cases}\end{gathered}")
loaded = controls.model_picker(SPEC)
if loaded is None:
    st.stop()
text, target = controls.text_inputs(with_target=loaded.family == "encoder-decoder")
vc = controls.view_controls(loaded.shape.n_layers["decoder"], loaded.shape.heads_of("decoder"), default_hide=False,
                            key="map-causal")
panels.model_summary(loaded)
result = panels.run_capture(loaded, text, target, layer=vc.layer)
if result is None:
    st.stop()

panels.toy_vocabulary(loaded, text)
view, facts = panels.attention_panel(result, "decoder", vc, key="causal")
with facts:
    # cached: a head or layer switch reruns the page, and its side panel should follow the map at once
    check = derived("causal-check", result, (vc.layer,), lambda: causal_check(result.attention("decoder", vc.layer)))
    if check.holds:
        st.success(tr("causal.check", value=check.max_above_diagonal, err=max(check.max_row_error, 1e-7)))
    else:
        st.warning(tr("causal.check_failed", value=check.max_above_diagonal, err=check.max_row_error))
    predictions = derived("next-tokens", result, (), lambda: next_token_table(result))
    if predictions:
        st.subheader(tr("causal.predictions"))
        prefix, following = tr("causal.col.prefix"), tr("causal.col.next")
        rows = [{prefix: row.prefix, following: row.next_token} for row in predictions]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", column_config={
            prefix: st.column_config.TextColumn(prefix, width="medium"),
            following: st.column_config.TextColumn(following, help=tr("causal.col.next_help"), width="small")})
    panels.result_downloads(result, key="causal-all")

generation_panel(loaded, text, "decoder", vc.layer, view.heads, key="causal-gen")
beyond_weights(loaded, text, target, result, "decoder", vc.layer, view.heads, vc.options, key="causal-beyond")
