"""Cross-attention of an encoder-decoder: target rows x source columns, an alignment matrix."""

import pandas as pd
import streamlit as st

from ui import controls, panels
from ui.lang import tr

SPEC = controls.PageSpec("mt", ("encoder-decoder",), "toy-translator")

st.title(tr("page.cross"))
st.markdown(tr("cross.intro"))
loaded = controls.model_picker(SPEC)
if loaded is None:
    st.stop()
text, target = controls.text_inputs(with_target=True)
# Alignment is usually sharpest in the last layer.
n_layers = loaded.shape.n_layers["cross"]
vc = controls.view_controls(n_layers, loaded.shape.n_heads, cross=True, default_layer=n_layers - 1)
panels.model_summary(loaded)
result = panels.run_capture(loaded, text, target)
if result is None:
    st.stop()

panels.toy_vocabulary(loaded, text, target)
if result.target_generated and result.produced:
    written = " ".join(tok for tok, special in zip(result.produced.tokens, result.produced.special) if not special)
    st.info(tr("msg.generated", target=written))

view, facts = panels.attention_panel(result, "cross", vc, key="cross")
with facts:
    st.subheader(tr("cross.best"))
    best = view.matrix.argmax(axis=1)
    rows = [{tr("col.target"): row, tr("col.source"): view.col_labels[j], tr("hover.weight"): round(float(w), 3)}
            for row, j, w in zip(view.row_labels, best, view.matrix.max(axis=1))]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    panels.result_downloads(result, key="cross-all")
