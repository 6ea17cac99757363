"""Self-attention explorer: one layer, one head (or several combined), as a token x token heatmap."""

import streamlit as st

from attnviz.analysis.heads import profile_shown_head, strongest_links
from attnviz.analysis.tokens import visible_positions
from ui import controls, panels, roles_panel
from ui.beyond_panel import beyond_weights
from ui.cached import derived
from ui.lang import tr

SPEC = controls.PageSpec("model", ("encoder", "decoder", "encoder-decoder"), controls.OPENING_MODEL)

loaded, text, target = controls.page_start(SPEC, tr("page.self"), tr("self.intro"))
kinds = [k for k in loaded.shape.kinds if k != "cross"]
kind = controls.kind_picker(kinds)
opening = controls.OPENING_HEAD if loaded.name == controls.OPENING_MODEL else (0, 0)
vc = controls.view_controls(loaded.shape.n_layers[kind], loaded.shape.heads_of(kind), key="map-self",
                            default_layer=opening[0], default_head=opening[1])
panels.model_summary(loaded)
result = panels.run_capture(loaded, text, target, layer=vc.layer)
if result is None:
    st.stop()

view, facts = panels.attention_panel(result, kind, vc, key="self")
with facts:
    st.subheader(tr("self.links"))
    links = derived("links", result, (kind, vc.layer, view.heads, vc.mode, vc.options),
                    lambda: strongest_links(view.matrix, view.row_labels, view.col_labels, top=6))
    panels.links_table(links)
    if len(view.heads) == 1:
        shown = visible_positions(result.query_tokens(kind), vc.options.hide_special)
        profile = derived("profile", result, (kind, vc.layer, view.heads[0], tuple(shown)),
                          lambda: profile_shown_head(result, kind, vc.layer, view.heads[0], shown))
        st.subheader(tr("self.profile"))
        roles_panel.verdict(profile)
        st.caption(f"{tr('col.entropy')}: {profile.entropy:.2f} · "
                   f"{tr('col.previous')}: {profile.previous_weight:.2f} · "
                   f"{tr('col.self')}: {profile.self_weight:.2f} · {tr('col.special')}: {profile.special_weight:.2f}")
    panels.result_downloads(result, key="self-all")

beyond_weights(loaded, text, target, result, kind, vc.layer, view.heads, vc.options, key="self-beyond")
