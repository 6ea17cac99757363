"""Information-flow routes: which positions, heads and MLPs carry one token's prediction (or hidden state)."""

import streamlit as st

from ui import controls, panels, routes_panel
from ui.lang import tr
from ui.url_state import url_choice

SPEC = controls.PageSpec("routes", ("decoder", "encoder", "encoder-decoder"), "toy-lm")

loaded, text, target = controls.page_start(SPEC, tr("page.routes"), tr("routes.intro"))
panels.model_summary(loaded)
contributions = routes_panel.contributions_of(loaded, text, target)
labels = contributions.tokens.labels
position = url_choice(st.sidebar.selectbox, tr("routes.position"), list(range(len(labels))), "pos",
                      routes_panel.default_position(contributions), lambda i: f"{i}: {labels[i]}",
                      help=tr("routes.position_help"))
threshold = routes_panel.chosen_threshold()
st.markdown(tr("routes.reading_decoder" if contributions.kind == "decoder" else "routes.reading_encoder"))
if contributions.layer_norm:
    st.caption(tr("routes.layer_norm_note"))
if loaded.family == "encoder-decoder":
    st.caption(tr("routes.encoder_side"))
routes_panel.graph_panel(loaded, text, target, contributions, position, threshold)
