"""Cross-attention of an encoder-decoder: target rows x source columns, an alignment matrix."""

import pandas as pd
import streamlit as st

from attnviz.analysis.tables import alignment_rows
from ui import controls, panels
from ui.generation_panel import generation_panel
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
vc = controls.view_controls(n_layers, loaded.shape.heads_of("cross"), cross=True, default_layer=n_layers - 1,
                            key="map-cross")
panels.model_summary(loaded)
result = panels.run_capture(loaded, text, target, layer=vc.layer)
if result is None:
    st.stop()

panels.toy_vocabulary(loaded, text, target)
if result.target_generated and result.output_tokens:
    written = " ".join(label for label, special in zip(result.output_tokens.labels, result.output_tokens.special)
                       if not special)
    st.info(tr("msg.generated", target=written))

view, facts = panels.attention_panel(result, "cross", vc, key="cross")
with facts:
    st.subheader(tr("cross.best"))
    rows = [{tr("col.target"): row.target, tr("col.source"): row.source, tr("hover.weight"): round(row.weight, 3)}
            for row in alignment_rows(view)]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    panels.result_downloads(result, key="cross-all")

generation_panel(loaded, text, "cross", vc.layer, view.heads, key="cross-gen")
