"""Self-attention explorer: one layer, one head (or several combined), as a token x token heatmap."""

from ui import controls, explorer_facts, panels
from ui.beyond_panel import beyond_weights
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
view, facts = panels.attention_panel(result, kind, vc, key="self")
with facts:
    explorer_facts.self_attention(result, kind, vc, view)

beyond_weights(loaded, text, target, result, kind, vc.layer, view.heads, vc.options, key="self-beyond")
