"""Lesson 7: induction heads: a previous-token head and an induction head, with the toy model's own numbers."""

import math

import plotly.graph_objects as go
import streamlit as st

from attnviz.figures.matrix import matrix_figure
from attnviz.roles.report import RoleReport
from attnviz.teach.induction import circuit_heads, circuit_step, curve_summary, repeated_positions, training_curve
from ui.cached import cached_capture, cached_model
from ui.lang import tr
from ui.lessons import prose
from ui.roles_panel import report_for
from ui.url_state import BOUND

MODEL = "toy-induction"
DEFAULT = "farmer bridge apple doctor city book girl farmer bridge apple doctor city book girl"

loaded = cached_model(MODEL)
st.title(tr("learn.induction.title"))
text = st.text_input(tr("learn.induction.text"), value=DEFAULT, key="induction_text", max_chars=300, **BOUND)
result = cached_capture(loaded, text)
report: RoleReport = report_for(result, loaded)[0]
heads = circuit_heads(report)
st.markdown(prose("learn.induction.intro", prev_score=heads.previous_score, ind_score=heads.induction_score))

pairs = repeated_positions(result.source.token_ids, result.source.special)
if not pairs:
    st.info(tr("roles.probe.none"))
    st.stop()
tokens = list(result.source.tokens)
query = st.select_slider(tr("learn.induction.query"), [i for i, _ in pairs], value=pairs[len(pairs) // 2][0],
                         format_func=lambda i: f"{i} · {tokens[i]}", key="induction_query")
step = circuit_step(loaded, result, heads, query)
pos = step.earlier + 1
maps = result.arrays["decoder"]
left, right = st.columns(2)
with left:
    st.subheader(tr("learn.induction.step1", head=heads.previous_head))
    st.markdown(prose("learn.induction.step1", pos=pos, word=tokens[pos], before=tokens[step.earlier],
                      before_pos=step.earlier, weight=float(step.previous_row[step.earlier])))
    st.plotly_chart(matrix_figure(maps[0, heads.previous_head], tokens, tokens, signed=False, show_values=False,
                                  height=480, title=f"L0 H{heads.previous_head}"), key="induction_l0", theme=None)
with right:
    st.subheader(tr("learn.induction.step2", head=heads.induction_head))
    st.markdown(prose("learn.induction.step2", current=tokens[query], query=query, pos=pos, word=tokens[pos],
                      before=tokens[step.earlier], weight=float(step.induction_row[pos]), uniform=1 / (query + 1)))
    st.plotly_chart(matrix_figure(maps[1, heads.induction_head], tokens, tokens, signed=False, show_values=False,
                                  height=480, title=f"L1 H{heads.induction_head}"), key="induction_l1", theme=None)

st.subheader(tr("learn.induction.step3"))
vocab = len(loaded.tokenizer) - 4
top, prob = step.predictions[0]
st.markdown(prose("learn.induction.step3", word=tokens[pos], current=tokens[query], top=top, prob=prob, vocab=vocab,
                  chance=1 / vocab, before=tokens[step.earlier], before_pos=step.earlier,
                  first_prob=step.first_copy_probability))
st.dataframe({tr("learn.induction.col.token"): [w for w, _ in step.predictions],
              tr("learn.induction.col.p"): [round(p, 3) for _, p in step.predictions]}, hide_index=True)

st.subheader(tr("learn.induction.curve"))
curve = training_curve(MODEL)
figure = go.Figure()
figure.add_scatter(x=[r["step"] for r in curve], y=[r["first_copy"] for r in curve],
                   name=tr("learn.induction.curve.first"))
figure.add_scatter(x=[r["step"] for r in curve], y=[r["repeated_copy"] for r in curve],
                   name=tr("learn.induction.curve.second"))
figure.update_layout(xaxis_title=tr("learn.induction.curve.step"), yaxis_title=tr("learn.induction.curve.nats"),
                     height=340, margin={"t": 20})
st.plotly_chart(figure, key="induction_curve", theme=None)
# the caption's numbers are read from the curve drawn above, so the text says what the curve shows
summary = curve_summary(curve)
st.caption(prose("learn.induction.curve", vocab=vocab, ln=math.log(vocab), first_start=summary.first_start,
                 first_end=summary.first_end, repeated_start=summary.repeated_start,
                 repeated_end=summary.repeated_end, drop_step=summary.drop_step,
                 first_trend=tr(f"learn.induction.curve.{'rises' if summary.first_rises else 'flat'}")))
