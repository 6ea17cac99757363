"""Lesson 3: cross-attention on the toy translator: Q from the target, K and V from the source."""

import streamlit as st

from attnviz.analysis.view import ViewOptions, axis_tokens, build_view
from attnviz.figures.heatmap import attention_heatmap
from attnviz.figures.matrix import matrix_figure, row_bars
from attnviz.teach.derivation import derive
from ui import panels
from ui.cached import cached, cached_model
from ui.controls import DEFAULT_TEXT
from ui.lang import chart_words, tr
from ui.lessons import lesson_start, prose
from ui.url_state import BOUND

MODEL = "toy-translator"

lesson_start("cross")
# two lines: fits a phone; the subscripts in the page's language
target_word, source_word = tr("learn.cross.target"), tr("learn.cross.source")
q, k, v = (f"{m}_{{\\text{{{word}}}}}" for m, word in (("Q", target_word), ("K", source_word), ("V", source_word)))
st.latex(r"\begin{gathered}\mathrm{CrossAttention}=\\ \mathrm{softmax}\!\left(\frac{" + q + r"\," + k
         + r"^\top}{\sqrt{d_k}}\right)" + v + r"\end{gathered}")
left, right = st.columns(2)
text = left.text_input(tr("learn.text"), value=DEFAULT_TEXT, key="learn_cross_text", max_chars=200, **BOUND)
target = right.text_input(tr("learn.target"), value="", key="learn_cross_target", max_chars=200,
                          help=tr("ctl.target_help"), **BOUND)
loaded = cached_model(MODEL)
result = panels.run_capture(loaded, text, target)
layer = loaded.shape.n_layers["cross"] - 1
panels.generated_target_note(result)

derivation = cached(derive, loaded, text, "cross", layer, 0, target)
st.caption(tr("learn.cross.shapes", m=derivation.q.shape[0], n=derivation.k.shape[0], d=derivation.q.shape[1]))
cols = st.columns(3)
# one convention on every page: a cross-attention row is named by the word it writes (as the map below)
rows = list(axis_tokens(result, "cross", rows=True).labels)
keys = list(result.source.tokens)
for column, (name, matrix, labels, side) in zip(cols, (("Q", derivation.q, rows, target_word),
                                                      ("K", derivation.k, keys, source_word),
                                                      ("V", derivation.v, keys, source_word))):
    column.plotly_chart(matrix_figure(matrix, labels, show_values=False, title=f"{name} ({side})"), key=name.lower(),
                        theme=None)

view = build_view(result, "cross", layer, list(range(loaded.shape.n_heads)), "mean",
                  ViewOptions(hide_special=True, renormalise=True))
st.plotly_chart(attention_heatmap(view, words=chart_words()), key="align", width="content", theme=None)
st.markdown(prose("learn.cross.reorder"))
if len(view.row_labels):
    row = st.selectbox(tr("learn.query_token"), range(len(view.row_labels)),
                       format_func=lambda i: view.row_labels[i], key="learn_cross_row", **BOUND)
    st.markdown(tr("learn.cross.row", token=panels.md_escape(view.row_labels[row])))
    st.plotly_chart(row_bars(view.matrix[row], view.col_labels, highlight=int(view.matrix[row].argmax())),
                    key="row", theme=None)
