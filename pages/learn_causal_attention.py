"""Lesson 4: causal attention: the −∞ mask, and a decoder writing one token at a time."""

import streamlit as st

from attnviz.analysis.view import ViewOptions, build_view
from attnviz.capturing.run import capture_token_ids
from attnviz.explain.generation_steps import generation_steps
from attnviz.figures.heatmap import attention_heatmap
from attnviz.figures.matrix import matrix_figure
from attnviz.teach.lessons import prefix_change, tiny_causal_demo
from ui.cached import cached, cached_model
from ui.lang import chart_words, tr
from ui.lessons import lesson_start, prose
from ui.url_state import BOUND

MODEL = "toy-lm"

lesson_start("causal")
st.latex(r"\begin{gathered}\mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}}+M\right),\\ "
         r"M_{ij}=\begin{cases}0&j\le i\\-\infty&j>i\end{cases}\end{gathered}")  # two lines: fits a phone

st.subheader(tr("learn.causal.tiny"))
words = ["life", "is", "very", "short"]
steps = tiny_causal_demo()
columns = st.columns(3)
columns[0].plotly_chart(matrix_figure(steps.scaled, words, words, title=tr("learn.causal.scores")),
                        key="tiny-scores", theme=None)
columns[1].plotly_chart(matrix_figure(steps.masked, words, words, masked=steps.mask,
                                      title=tr("learn.causal.masked")), key="tiny-masked", theme=None)
columns[2].plotly_chart(matrix_figure(steps.weights, words, words, masked=steps.mask, signed=False, masked_text="0",
                                      title=tr("learn.causal.softmax")), key="tiny-weights", theme=None)

st.subheader(tr("learn.causal.generate"))
loaded = cached_model(MODEL)
# a prompt the toy model continues for six words ("bought the apple at school"): a map that grows for a while
prompt = st.text_input(tr("learn.causal.prompt"), value="the farmer", key="learn_prompt", max_chars=100, **BOUND)
generated = cached(generation_steps, loaded, prompt, 8)  # the model's own ids, captured once as they are
full = generated.result
words_only = list(full.source.labels[1:])  # position 0 is <s>
n_prompt, n_tokens = generated.prompt_tokens, len(full.source)
if n_tokens <= n_prompt:
    st.info(tr("learn.causal.so_far", text=" ".join(words_only)))
    st.stop()
st.caption(prose("learn.causal.full", text=" ".join(words_only)))
# opens on a map of several tokens (the triangle shows), not on the prompt's 2 × 2
k = st.slider(tr("learn.causal.step"), min_value=n_prompt, max_value=n_tokens, value=min(n_tokens, max(n_prompt, 6)),
              key="learn_k",
              **BOUND)
st.markdown(tr("learn.causal.so_far", text=" ".join(words_only[: k - 1])))
left, right = st.columns(2)
layer = left.select_slider(tr("ctl.layer"), list(range(loaded.shape.n_layers["decoder"])), key="learn_layer", **BOUND)
head = right.select_slider(tr("ctl.head"), list(range(loaded.shape.heads_of("decoder", layer))), key="learn_head",
                           **BOUND)
prefix, _ = cached(capture_token_ids, loaded, full.source.token_ids[:k])  # the first k tokens alone
view = build_view(prefix, "decoder", layer, [head], "single", ViewOptions(hide_special=False))
st.plotly_chart(attention_heatmap(view, words=chart_words(), fixed_scale=True), key="growing", width="content",
                theme=None)
st.caption(prose("learn.causal.stable", k=k, diff=prefix_change(full, prefix, layer)))
