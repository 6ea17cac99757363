"""Causal self-attention of a decoder: the masked upper triangle and the row-wise softmax."""

import streamlit as st

from ui import controls, explorer_facts, panels
from ui.beyond_panel import beyond_weights
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

panels.toy_vocabulary(loaded, text)
view, facts = panels.attention_panel(result, "decoder", vc, key="causal")
with facts:
    explorer_facts.causal(result, vc.layer)

generation_panel(loaded, text, "decoder", vc.layer, view.heads, key="causal-gen")
beyond_weights(loaded, text, target, result, "decoder", vc.layer, view.heads, vc.options, key="causal-beyond")
