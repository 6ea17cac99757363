"""Which explanation agrees with the model: attention views and input attributions for one output, scored."""

import streamlit as st

from attnviz.faithfulness import IG_STEPS, OUTPUTS_OF
from ui import controls, faithfulness_panel, panels
from ui.lang import tr
from ui.url_state import BOUND, url_choice

SPEC = controls.PageSpec("faith_model", ("encoder", "decoder", "encoder-decoder"), "minilm")
STEPS = [8, 16, 32, 64, 128]

loaded, text, target = controls.page_start(SPEC, tr("page.faithfulness"), tr("faith.intro"))
outputs = list(OUTPUTS_OF[loaded.family])
output = url_choice(st.sidebar.radio, tr("faith.output"), outputs, "output", outputs[0],
                    lambda o: tr(f"faith.output.{o}"))
token, position = None, None
if output == "next_token":
    token = st.sidebar.text_input(tr("faith.token"), key="token", max_chars=60, help=tr("faith.token_help"),
                                  **BOUND).strip() or None
steps = st.sidebar.select_slider(tr("faith.steps"), STEPS, value=IG_STEPS, key="steps", help=tr("faith.steps_help"),
                                 **BOUND)
hide = st.sidebar.checkbox(tr("ctl.hide_special"), value=True, key="hide", **BOUND)
merge = st.sidebar.checkbox(tr("ctl.merge"), value=False, key="merge", **BOUND)
panels.model_summary(loaded)
panels.toy_vocabulary(loaded, text, target)

if output == "target_token":  # a word of the translation
    position = faithfulness_panel.target_position(loaded, text, target)
    if position is None:
        st.stop()
run = faithfulness_panel.computed(loaded, text, target, output, token, position, steps)
faithfulness_panel.explained(run)
faithfulness_panel.strip_and_table(run, hide, merge, key="faith")
