"""Lesson 1: self-attention on the real minilm, following one token through score, softmax and sum."""

import pandas as pd
import streamlit as st

from attnviz.analysis.heads import best_head_for_link
from attnviz.analysis.tokens import unique_labels, visible_positions
from attnviz.analysis.view import ViewOptions, build_view
from attnviz.figures.heatmap import attention_heatmap
from attnviz.figures.matrix import row_bars
from attnviz.teach.derivation import derive
from attnviz.teach.lessons import value_contributions
from ui import panels
from ui.cached import cached, cached_model
from ui.controls import DEFAULT_TEXT
from ui.lang import chart_words, tr
from ui.lessons import lesson_start, prose
from ui.url_state import BOUND

MODEL = "minilm"

lesson_start("self")
st.latex(r"\begin{gathered}\mathrm{Attention}(Q,K,V)=\\ \mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}}\right)V"
         r"\end{gathered}")  # two lines: fits a phone
text = st.text_input(tr("learn.text"), value=DEFAULT_TEXT, key="learn_text", max_chars=300, **BOUND)
loaded = cached_model(MODEL)
result = panels.run_capture(loaded, text)

seq = result.source
labels = unique_labels(list(seq.labels))
words = visible_positions(seq, hide_special=True)
if len(words) < 2:
    st.info(tr("msg.error", error="Type at least two words."))
    st.stop()
left, right = st.columns(2)
default_query = next((p for p in words if labels[p] == "station"), words[-1])
query = left.selectbox(tr("learn.query_token"), words, index=words.index(default_query),
                       format_func=lambda p: labels[p], key="learn_query", **BOUND)
others = [p for p in words if p != query]
default_key = next((p for p in others if labels[p] == "train"), others[0])
key = right.selectbox(tr("learn.key_token"), others, index=others.index(default_key), format_func=lambda p: labels[p],
                      key="learn_key", **BOUND)
# one number per link: the head's own weight, as the softmax bars and the map show it (nothing rescaled)
best = best_head_for_link(result, "encoder", query, key)
layer, head, weight = best.layer, best.head, best.weight
st.markdown(prose("learn.self.head_found", n=loaded.shape.n_layers["encoder"] * loaded.shape.n_heads, layer=layer,
               head=head, query=panels.md_escape(labels[query]), key=panels.md_escape(labels[key]), weight=weight))
derivation = cached(derive, loaded, text, "encoder", layer, head)

st.subheader(tr("learn.self.step1", token=labels[query]))
st.markdown(prose("learn.self.step1.text", d=loaded.shape.head_dim))
st.plotly_chart(row_bars(derivation.scaled[query], labels, highlight=key), key="scores", theme=None)

st.subheader(tr("learn.self.step2"))
st.markdown(prose("learn.self.step2.text"))
st.plotly_chart(row_bars(derivation.weights[query], labels, highlight=key), key="weights", theme=None)

st.subheader(tr("learn.self.step3", token=labels[query]))
st.markdown(prose("learn.self.step3.text", d=loaded.shape.head_dim))
parts, output = value_contributions(derivation, query)
dims = [f"v[{i}]" for i in range(len(output))]


def numbers(values):  # text cells: the table mixes numbers with an ellipsis row
    return dict(zip(dims, (f"{v:+.3f}" for v in values)))


table = [{"": f"{p.weight:.3f} × v({labels[p.key]})", **numbers(p.weighted_value)} for p in parts]
table.append({"": "…", **dict.fromkeys(dims, "…")})
table.append({"": tr("learn.self.sum"), **numbers(output)})
st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch")

st.subheader(tr("learn.self.map"))
view = build_view(result, "encoder", layer, [head], "single", ViewOptions(hide_special=True, renormalise=False))
st.plotly_chart(attention_heatmap(view, words=chart_words()), key="map", width="content", theme=None)
panels.rows_sum_note(view)
