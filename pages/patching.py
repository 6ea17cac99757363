"""Activation patching: which components does the answer depend on? Exact patching beside its attribution estimate."""

import streamlit as st

from ui import controls, panels, patching_panel
from ui.lang import tr

st.title(tr("page.patching"))
st.markdown(tr("patch.intro"))
patching_panel.preset_picker()
loaded = controls.model_picker(patching_panel.SPEC)
if loaded is None:
    st.stop()
choice = patching_panel.pair_inputs(loaded)
panels.model_summary(loaded)
panels.toy_vocabulary(loaded, choice["clean"], choice["corrupt"], choice["target"])
exact, estimate, agreement, heads = patching_panel.computed(loaded, choice)
patching_panel.explained(exact)
patching_panel.results(loaded, choice, exact, estimate, agreement, heads)  # a click reruns only this part
