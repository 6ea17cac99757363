"""Causal self-attention of a decoder: the masked upper triangle and the row-wise softmax."""

import numpy as np
import pandas as pd
import streamlit as st

from attnviz.analysis.tokens import display_label
from ui import controls, panels
from ui.lang import tr

SPEC = controls.PageSpec("lm", ("decoder", "encoder-decoder"), "toy-lm")

st.title(tr("page.causal"))
st.markdown(tr("causal.intro"))
st.latex(r"\mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}} + M\right)V,\qquad "
         r"M_{ij}=\begin{cases}0 & j\le i\\ -\infty & j>i\end{cases}")
loaded = controls.model_picker(SPEC)
if loaded is None:
    st.stop()
text, target = controls.text_inputs(with_target=loaded.family == "encoder-decoder")
vc = controls.view_controls(loaded.shape.n_layers["decoder"], loaded.shape.n_heads, default_hide=False)
panels.model_summary(loaded)
result = panels.run_capture(loaded, text, target)
if result is None:
    st.stop()

panels.toy_vocabulary(loaded, text)
view, facts = panels.attention_panel(result, "decoder", vc, key="causal")
with facts:
    maps = result.layer_maps("decoder", vc.layer)
    above = float(maps[:, np.triu(np.ones(maps.shape[-2:], dtype=bool), k=1)].max(initial=0.0))
    error = float(np.abs(maps.sum(-1) - 1).max())
    st.success(tr("causal.check", value=above, err=max(error, 1e-7)))
    if result.target is None and result.produced is not None:
        st.subheader(tr("causal.predictions"))
        tokens = [display_label(tok) for tok in result.source.tokens]
        rows = [{tr("axis.query"): tr("causal.prefix", prefix=" ".join(tokens[: i + 1])),
                 "→": display_label(result.produced.tokens[i])} for i in range(len(tokens))]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    panels.result_downloads(result, key="causal-all")
