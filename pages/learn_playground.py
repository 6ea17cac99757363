"""Playground: edit a small embedding matrix and watch every step of attention update."""

import pandas as pd
import streamlit as st

from attnviz.figures.matrix import matrix_figure
from attnviz.teach.lessons import playground_steps
from ui.lang import tr
from ui.lessons import lesson_start
from ui.url_state import BOUND

DEFAULT_TOKENS = "the cat sat on the mat"
DEFAULT_X = [[1.0, 0.2, 0.0], [0.1, 1.0, 0.3], [0.0, 0.4, 1.0], [0.9, 0.1, 0.1], [1.0, 0.2, 0.0], [0.2, 0.9, 0.4]]

lesson_start("play")
names = st.text_input(tr("learn.play.tokens"), value=DEFAULT_TOKENS, key="play_tokens", max_chars=120, **BOUND).split()
names = (names + [f"t{i}" for i in range(len(names), 6)])[:6]
labels = [f"{name}·{i}" if names.count(name) > 1 else name for i, name in enumerate(names)]
left, right = st.columns([3, 2])
with left:
    st.markdown(f"**{tr('learn.play.embeddings')}** (6 × 3)")
    frame = st.data_editor(pd.DataFrame(DEFAULT_X, columns=["d0", "d1", "d2"], index=labels), key="play_x",
                           width="stretch")
with right:
    use_projections = st.checkbox(tr("learn.play.projections"), value=False, key="play_proj",
                                  help=tr("learn.play.projections_help"), **BOUND)
    seed = st.number_input(tr("learn.play.seed"), min_value=0, max_value=9999, value=0, key="play_seed",
                           disabled=not use_projections, **BOUND)
    scale = st.checkbox(tr("learn.play.scale"), value=True, key="play_scale", **BOUND)
    causal = st.checkbox(tr("learn.play.causal"), value=False, key="play_causal", **BOUND)

steps = playground_steps(frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float),
                         use_projections=use_projections, seed=seed, scale=scale, causal=causal)


def show(matrix, title, key, rows=labels, cols=None, **kwargs):
    st.plotly_chart(matrix_figure(matrix, rows, cols, title=title, **kwargs), key=key, theme=None)


if use_projections:
    for column, (name, w) in zip(st.columns(3), (("W_q", steps.w_q), ("W_k", steps.w_k), ("W_v", steps.w_v))):
        with column:
            show(w, name, f"p-{name}", rows=["d0", "d1", "d2"])
for column, (name, m) in zip(st.columns(3), (("Q = X W_q", steps.q), ("K = X W_k", steps.k), ("V = X W_v", steps.v))):
    with column:
        show(m, name, f"m-{name}")
left, right = st.columns(2)
with left:
    show(steps.scores, "Q Kᵀ", "scores", cols=labels)
with right:
    show(steps.scaled, f"× {steps.scale:.3f}", "scaled", cols=labels)
left, right = st.columns(2)
with left:
    show(steps.masked, tr("learn.play.masked" if causal else "learn.play.masked_off"), "masked", cols=labels,
         masked=steps.mask if causal else None)
with right:
    show(steps.weights, "softmax", "weights", cols=labels, signed=False, masked=steps.mask if causal else None,
         masked_text="0")  # weights: a masked cell holds 0
show(steps.output, tr("learn.play.output"), "output")
