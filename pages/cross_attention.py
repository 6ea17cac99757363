"""Cross-attention of an encoder-decoder: target rows x source columns, an alignment matrix."""

import streamlit as st

from ui import controls, explorer_facts, panels
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

panels.toy_vocabulary(loaded, text, target)
panels.generated_target_note(result)
view, facts = panels.attention_panel(result, "cross", vc, key="cross")
with facts:
    explorer_facts.cross(result, view)

generation_panel(loaded, text, "cross", vc.layer, view.heads, key="cross-gen")
