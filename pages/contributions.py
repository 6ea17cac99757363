"""What attention contributes: each head's direct effect on a logit, the logit lens, and why weights are not effects."""

import streamlit as st

from attnviz.contributions.decompose import decompose
from attnviz.contributions.lens import lens_window, logit_lens
from attnviz.contributions.logits import direct_logit_attribution
from attnviz.patching.presets import PRESETS
from ui import contributions_panel, controls, panels
from ui.cached import cached
from ui.errors import shown_errors
from ui.lang import tr
from ui.lessons import prose
from ui.url_state import BOUND, url_choice

# an induction: the heads carry almost all of the predicted logit ("letter", copied from the first half)
SPEC = controls.PageSpec("ct", ("decoder", "encoder-decoder", "encoder"), "toy-induction",
                         example_text=PRESETS["induction"].clean)
LENS_COLUMNS = 16  # positions of the lens drawn at once, around the chosen one; its text stays legible

loaded, text, target = controls.page_start(SPEC, tr("page.contributions"), tr("contrib.intro"))
panels.model_summary(loaded)
panels.toy_vocabulary(loaded, text, target)
decomposition = cached(decompose, loaded, text, target, busy=tr("msg.running"))

positions = list(range(len(decomposition.tokens)))
labels = decomposition.tokens.labels
position = url_choice(st.sidebar.selectbox, tr("contrib.position"), positions, "pos", positions[-1],
                      lambda p: f"{p}: {labels[p]}", help=tr("contrib.position_help"))
if decomposition.kind == "encoder":
    st.info(tr("contrib.encoder_only"))
    opened = contributions_panel.opened_head(loaded, ("encoder",))
    contributions_panel.encoder_panel(loaded, decomposition, position, opened)
else:
    token = st.sidebar.text_input(tr("contrib.token"), key="tok", help=tr("contrib.token_help"), max_chars=60,
                                  **BOUND).strip()
    contrast = st.sidebar.text_input(tr("contrib.contrast"), key="vs", help=tr("contrib.contrast_help"),
                                     max_chars=60, **BOUND).strip()
    k = st.sidebar.slider(tr("contrib.k"), 1, 10, 5, key="k", **BOUND)
    kinds = ("decoder", "cross") if decomposition.cross_heads is not None else ("decoder",)
    opened = contributions_panel.opened_head(loaded, kinds)
    st.subheader(tr("contrib.dla"))
    with shown_errors():  # a token the model does not know: the lens below is still drawn
        attribution = cached(direct_logit_attribution, loaded, decomposition, token, contrast, position)
        contributions_panel.attribution_panel(loaded, attribution, opened)
    if opened:
        contributions_panel.head_map(loaded, text, target, opened)
    st.subheader(tr("contrib.lens"), help=tr("contrib.lens.about"))
    st.caption(tr("contrib.lens.about"))
    # the chosen position's column first (a tenth of a forward pass at 50k words); its neighbours on request
    scope = url_choice(st.radio, tr("contrib.lens_scope"), ["position", "window"], "lens_at", "position",
                       lambda s: tr(f"contrib.lens_scope.{s}", n=LENS_COLUMNS), horizontal=True,
                       help=tr("contrib.lens_scope_help"))
    shown = (position,) if scope == "position" else lens_window(len(positions), position, LENS_COLUMNS)
    lens = cached(logit_lens, loaded, decomposition, k, shown)
    contributions_panel.lens_panel(loaded, lens, position, len(positions))
if decomposition.kind == "encoder" and opened:
    contributions_panel.head_map(loaded, text, target, opened)

st.subheader(tr("contrib.lesson_title"))
st.markdown(prose("learn.contrib.weight"))
