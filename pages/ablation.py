"""Head ablation: switch heads off (zero or mean) and see what the model's output loses; which heads matter."""

import streamlit as st

from attnviz.explain.ablation import ablation_effect, every_head, head_importance
from ui import ablation_panel, controls, panels
from ui.cached import cached
from ui.lang import tr
from ui.url_state import url_choice

SPEC = controls.PageSpec("abl", ("encoder", "decoder", "encoder-decoder"), "toy-translator")
AUTOMATIC_MAP_HEADS = 160  # bigger models compute the importance map on request
# The page opens with heads switched off that change the output: the translator's heads are redundant (each alone
# moves the KL by 1e-6 to 6e-4), but its four cross-attention heads of layer 1 together carry the translation.
OPENING = {"toy-translator": ("cross", 1, (0, 1, 2, 3))}

loaded, text, target = controls.page_start(SPEC, tr("page.ablation"), tr("ablation.intro"))
mode = url_choice(st.sidebar.radio, tr("ablation.mode"), ["zero", "mean"], "ablate", "zero",
                  lambda m: tr(f"ablation.mode.{m}"), horizontal=True, help=tr("ablation.mode_help"))
panels.model_summary(loaded)
if loaded.capture_path != "interface":
    st.warning(tr("error.no_interventions", model=loaded.name))
    st.stop()
panels.toy_vocabulary(loaded, text, target)

ablation_panel.open_on(loaded, OPENING.get(loaded.name))
ablation_panel.apply_map_clicks(loaded)
toggles, effect_column = st.columns([1, 1], gap="large")
with toggles:
    st.subheader(tr("ablation.switch_off"))
    st.caption(tr("ablation.switch_help"))
    chosen = ablation_panel.heads_switched_off(loaded)
    st.button(tr("ablation.clear"), on_click=ablation_panel.switch_all_on, args=(loaded,), icon=":material/undo:")
with effect_column:
    st.subheader(tr("ablation.effect.one") if len(chosen) == 1 else tr("ablation.effect", n=len(chosen)))
    effect = cached(ablation_effect, loaded, text, chosen, mode, target, busy=tr("msg.running"))
    ablation_panel.effect_panel(loaded, effect)
    if loaded.name in OPENING and ablation_panel.is_opening(chosen, OPENING[loaded.name]):
        st.info(tr("ablation.opening", layer=OPENING[loaded.name][1]))

st.subheader(tr("ablation.importance"))
if len(every_head(loaded)) > AUTOMATIC_MAP_HEADS and not st.toggle(tr("ablation.compute_map"), key="imp_on"):
    st.caption(tr("ablation.map_on_request", n=len(every_head(loaded))))
    st.stop()
importance = cached(head_importance, loaded, text, mode, target,
                    busy=tr("ablation.computing", n=len(every_head(loaded))))
ablation_panel.importance_panel(loaded, importance, chosen)
