"""Every head of one layer or of all layers as a grid, and what each head does: its role scores (the one
vocabulary of heads, also what a corpus census accumulates)."""

from ui import controls, grid_panel, panels, roles_panel
from ui.lang import tr

SPEC = controls.PageSpec("model", ("encoder", "decoder", "encoder-decoder"), "minilm")

loaded, text, target = controls.page_start(SPEC, tr("page.heads"), tr("heads.intro"))
kind = controls.kind_picker(list(loaded.shape.kinds))
layer = controls.layer_picker(loaded.shape.n_layers[kind], allow_all_layers=True)
heads = controls.head_picker(loaded.shape.heads_of(kind))
options, colorscale, _, fixed = controls.display_options(cross=kind == "cross")
panels.model_summary(loaded)
result = panels.run_capture(loaded, text, target)
grid_panel.show(loaded, result, kind, layer, heads, options, colorscale, fixed)
roles_panel.show(result, kind, loaded)
