"""Lesson 2: multi-head attention: the split of d_model, heads side by side, concat and W_o."""

import streamlit as st

from attnviz.analysis.heads import distinct_heads, profile_shown_head
from attnviz.analysis.tokens import visible_positions
from attnviz.analysis.view import ViewOptions, build_view
from attnviz.figures.heatmap import attention_heatmap
from attnviz.figures.matrix import head_split_figure, matrix_figure
from attnviz.teach.derivation import derive
from ui import panels, roles_panel
from ui.cached import cached, cached_model
from ui.controls import DEFAULT_TEXT
from ui.lang import chart_words, tr
from ui.lessons import lesson_start, prose
from ui.url_state import BOUND

MODEL = "minilm"
D_MODELS = [64, 128, 256, 384, 512, 768, 1024]

lesson_start("multi")
st.latex(r"\begin{gathered}\mathrm{MultiHead}(X)=\\ \mathrm{Concat}(\mathrm{head}_1,\dots,\mathrm{head}_h)\,W_o,\\ "
         r"\mathrm{head}_i=\\ \mathrm{Attention}(XW_q^{(i)},XW_k^{(i)},XW_v^{(i)})\end{gathered}")  # fits a phone

loaded = cached_model(MODEL)
shape = loaded.shape
st.subheader(tr("learn.multi.split"))
left, right = st.columns(2)
# the sliders open on the model below: 384 dimensions in 12 heads
d_model = left.select_slider(tr("learn.multi.d_model"), D_MODELS, value=shape.d_model, key="learn_d_model", **BOUND)
divisors = [h for h in (1, 2, 4, 6, 8, 12, 16, 32, 64) if d_model % h == 0]
n_heads = right.select_slider(tr("learn.multi.heads"), divisors,
                              value=shape.n_heads if shape.n_heads in divisors else divisors[-1], key="learn_heads",
                              **BOUND)
dim = d_model // n_heads
st.plotly_chart(head_split_figure(d_model, n_heads, words=chart_words()),
                key="split", theme=None)
st.markdown(prose("learn.multi.split_text", d_model=d_model, heads=n_heads, dim=dim, last=dim - 1))

st.info(tr("learn.multi.real", d_model=shape.d_model, heads=shape.n_heads, dim=shape.head_dim))
st.subheader(tr("learn.multi.side"))
text = st.text_input(tr("learn.text"), value=DEFAULT_TEXT, key="learn_text", max_chars=300, **BOUND)
result = panels.run_capture(loaded, text)
# verdicts and maps over the same tokens: special tokens hidden and rows rescaled in both
shown = visible_positions(result.source, hide_special=True)
profiles = [profile_shown_head(result, "encoder", layer, head, shown)
            for layer in range(shape.n_layers["encoder"]) for head in range(shape.n_heads)]
chosen = distinct_heads(profiles, count=3)
options = ViewOptions(hide_special=True, renormalise=True)
st.caption(tr("learn.multi.same_tokens"))
for column, profile in zip(st.columns(len(chosen)), chosen):
    with column:
        st.markdown(f"**{tr('learn.layer_head', layer=profile.layer, head=profile.head)}**")
        roles_panel.verdict(profile)
        view = build_view(result, "encoder", profile.layer, [profile.head], "single", options)
        figure = attention_heatmap(view, words=chart_words(), show_values=False, title="")
        figure.update_layout(width=None, height=380, margin={"l": 10, "r": 10, "t": 80, "b": 10})
        st.plotly_chart(figure, key=f"head-{profile.layer}-{profile.head}", theme=None)

st.subheader(tr("learn.multi.concat"))
st.markdown(prose("learn.multi.concat_text", dim=shape.head_dim, d_model=shape.d_model))
derivation = cached(derive, loaded, text, "encoder", chosen[0].layer, chosen[0].head)
tokens = [t for t in result.source.tokens]
st.plotly_chart(matrix_figure(derivation.concat, tokens, column_groups=shape.head_dim, show_values=False,
                              title=f"concat ({len(tokens)} × {shape.d_model})"), key="concat", theme=None)
st.plotly_chart(matrix_figure(derivation.output, tokens, show_values=False,
                              title=f"concat · W_o + b_o ({len(tokens)} × {shape.d_model})"), key="out", theme=None)
