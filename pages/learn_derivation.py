"""Lesson 5: every step of one attention layer of a real model, with its numbers, checked against the model."""

import streamlit as st

from attnviz.export import arrays_to_npz
from attnviz.figures.matrix import matrix_figure
from attnviz.models.weights import exposes_weights
from attnviz.teach.derivation import derive
from ui.cached import cached, cached_model
from ui.controls import DEFAULT_TEXT
from ui.lang import tr
from ui.lessons import lesson_start, prose
from ui.url_state import BOUND, url_choice

MODELS = ["minilm", "toy-translator", "toy-lm"]

lesson_start("derive")
top = st.columns([2, 2, 1, 1])
model_name = top[0].selectbox(tr("ctl.model"), MODELS, key="derive_model", **BOUND)
loaded = cached_model(model_name)
kinds = [k for k in loaded.shape.kinds if exposes_weights(loaded, k)]
if not kinds:
    st.warning(tr("learn.derive.unsupported"))
    st.stop()
kind = url_choice(top[1].selectbox, tr("learn.derive.kind"), kinds, "derive_kind", kinds[0], lambda k: tr(f"kind.{k}"))
layer = top[2].selectbox(tr("ctl.layer"), list(range(loaded.shape.n_layers[kind])), key="derive_layer", **BOUND)
head = top[3].selectbox(tr("ctl.head"), list(range(loaded.shape.heads_of(kind, layer))), key="derive_head", **BOUND)
inputs = st.columns(2)
text = inputs[0].text_input(tr("learn.text"), value=DEFAULT_TEXT, key="derive_text", max_chars=200, **BOUND)
target = None
if loaded.family == "encoder-decoder":
    target = inputs[1].text_input(tr("learn.target"), value="火车准时驶出车站", key="derive_target", max_chars=200,
                                  **BOUND)
d = cached(derive, loaded, text, kind, layer, head, target)

rows, cols = list(d.queries.labels), list(d.keys.labels)
n, n_k, d_model, h = len(rows), len(cols), d.w_o.shape[1], d.q.shape[1]
p = d.projections


def show(figure, key):
    st.plotly_chart(figure, key=key, theme=None)


if p is not None:
    st.subheader("① " + tr("learn.derive.s0", n=n, d=p.x.shape[1]))
    show(matrix_figure(p.x, rows, show_values=False, height=220), "x")
    if kind == "cross":
        st.caption(f"X_source ({n_k} × {p.x_kv.shape[1]})")
        show(matrix_figure(p.x_kv, cols, show_values=False, height=220), "xkv")

    st.subheader("② " + tr("learn.derive.s1", d=p.x.shape[1], h=h))
    for column, (name, w) in zip(st.columns(3), (("W_q", p.w_q), ("W_k", p.w_k), ("W_v", p.w_v))):
        with column:
            show(matrix_figure(w.T, [f"{name}·{i}" for i in range(h)], show_values=False, title=f"{name}ᵀ",
                               height=260), f"w-{name}")
else:
    st.info(prose("learn.derive.no_projection"))
if d.rotary:
    st.info(prose("learn.derive.rotary"))
if loaded.shape.layout[kind].kv_heads[layer] < loaded.shape.heads_of(kind, layer):
    st.caption(prose("learn.derive.gqa", head=d.head, kv=d.kv_head))

st.subheader("③ " + tr("learn.derive.s2", n=n, h=h))
for column, (name, m, labels) in zip(st.columns(3), (("Q", d.q, rows), ("K", d.k, cols), ("V", d.v, cols))):
    with column:
        show(matrix_figure(m, labels, show_values=False, title=name, height=260), f"m-{name}")

st.subheader("④ " + tr("learn.derive.s3", h=h, scale=d.scale))
left, right = st.columns(2)
with left:
    show(matrix_figure(d.scores, rows, cols, title="Q Kᵀ", decimals=1), "scores")
with right:
    show(matrix_figure(d.scaled, rows, cols, title=f"Q Kᵀ × {d.scale:.4f}", decimals=2), "scaled")

st.subheader("⑤ " + tr("learn.derive.s4"))
if d.mask.any():
    show(matrix_figure(d.masked, rows, cols, masked=d.mask, title="+ M"), "masked")
else:
    st.caption(tr("learn.derive.s4.none", kind=tr(f"kind.{kind}")))

st.subheader("⑥ " + tr("learn.derive.s5"))
show(matrix_figure(d.weights, rows, cols, masked=d.mask if d.mask.any() else None, signed=False, masked_text="0",
                   title="softmax"), "weights")

st.subheader("⑦ " + tr("learn.derive.s6", n=n, h=h))
show(matrix_figure(d.head_output, rows, show_values=False, title=f"{tr('col.head')} {head}"), "head-out")

st.subheader("⑧ " + tr("learn.derive.s7", heads=d.n_heads, n=n, d=d_model))
show(matrix_figure(d.concat, rows, column_groups=h, show_values=False, height=240), "concat")

st.subheader("⑨ " + tr("learn.derive.s8", n=n, d=d_model))
show(matrix_figure(d.output, rows, show_values=False, height=240), "output")

if max(d.weights_error, d.concat_error, d.output_error) < 1e-4:
    st.success(tr("learn.derive.check", w=d.weights_error, c=d.concat_error, o=d.output_error))
else:
    st.error(tr("learn.derive.mismatch", o=d.output_error))

st.download_button(tr("learn.derive.download"), arrays_to_npz(d.arrays()), icon=":material/download:",
                   file_name=f"{model_name}_{kind}_L{layer}_H{head}_derivation.npz", on_click="ignore")
