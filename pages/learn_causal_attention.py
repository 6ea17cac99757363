"""Lesson 4: causal attention: the −∞ mask, and a decoder writing one token at a time."""

import streamlit as st

import ui  # noqa: F401  (first: leaves Streamlit's legacy pages/ mode before the engine loads)
from attnviz.analysis.view import ViewOptions, build_view
from attnviz.capturing.tokenizing import sequence_from_ids
from attnviz.errors import AttnvizError
from attnviz.figures.heatmap import attention_heatmap
from attnviz.figures.matrix import matrix_figure
from attnviz.teach.lessons import prefix_change, tiny_causal_demo
from ui.engine import cached_capture, cached_continuation, cached_model
from ui.errors import show_error
from ui.lang import chart_words, tr
from ui.lessons import prose
from ui.url_state import BOUND

MODEL = "toy-lm"

st.title(tr("learn.causal.title"))
st.markdown(prose("learn.causal.intro"))
st.latex(r"\mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}}+M\right),\quad M_{ij}=\begin{cases}0&j\le i\\"
         r"-\infty&j>i\end{cases}")

st.subheader(tr("learn.causal.tiny"))
words = ["life", "is", "very", "short"]
steps = tiny_causal_demo()
columns = st.columns(3)
columns[0].plotly_chart(matrix_figure(steps.scaled, words, words, title=tr("learn.causal.scores")),
                        key="tiny-scores", theme=None)
columns[1].plotly_chart(matrix_figure(steps.masked, words, words, masked=steps.mask,
                                      title=tr("learn.causal.masked")), key="tiny-masked", theme=None)
columns[2].plotly_chart(matrix_figure(steps.weights, words, words, masked=steps.mask, signed=False,
                                      title=tr("learn.causal.softmax")), key="tiny-weights", theme=None)

st.subheader(tr("learn.causal.generate"))
loaded = cached_model(MODEL)
prompt = st.text_input(tr("learn.causal.prompt"), value="life", key="learn_prompt", max_chars=100, **BOUND)
try:
    ids = cached_continuation(MODEL, prompt, 8)
except AttnvizError as error:
    show_error(error)
    st.stop()
tokens = ids
words_only = list(sequence_from_ids(loaded.tokenizer, ids).labels[1:])  # ids[0] is <s>
n_prompt = len(loaded.tokenizer(prompt.strip())["input_ids"])
if len(tokens) <= n_prompt:
    st.info(tr("learn.causal.so_far", text=" ".join(words_only)))
    st.stop()
st.caption(prose("learn.causal.full", text=" ".join(words_only)))
k = st.slider(tr("learn.causal.step"), min_value=n_prompt, max_value=len(tokens), value=n_prompt, key="learn_k",
              **BOUND)
st.markdown(tr("learn.causal.so_far", text=" ".join(words_only[: k - 1])))
left, right = st.columns(2)
layer = left.select_slider(tr("ctl.layer"), list(range(loaded.shape.n_layers["decoder"])), key="learn_layer", **BOUND)
head = right.select_slider(tr("ctl.head"), list(range(loaded.shape.heads_of("decoder", layer))), key="learn_head",
                           **BOUND)
full = cached_capture(MODEL, " ".join(words_only), None)
prefix = cached_capture(MODEL, " ".join(words_only[: k - 1]), None)
view = build_view(prefix, "decoder", layer, [head], "single", ViewOptions(hide_special=False))
st.plotly_chart(attention_heatmap(view, words=chart_words(), fixed_scale=True), key="growing", width="content",
                theme=None)
st.caption(prose("learn.causal.stable", k=k, diff=prefix_change(full, prefix, layer)))
