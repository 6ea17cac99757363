"""attnviz: capture and explain the attention of transformer models.

    from attnviz import load_model, capture
    result = capture(load_model("minilm"), "The train left the station on time")
    result.attention("encoder", layer=0, head=3)   # [query, key] weights of model layer 0, head 3

``__all__`` is the whole public API, the table "Public API" in the README; figures for notebooks are in
``attnviz.notebook`` (``head_view``, ``model_view``, ``causal_view``, ``cross_view``, ``patching_view`` ...).
"""

from attnviz.capturing.run import capture, capture_batch, trace
from attnviz.errors import AttnvizError, InputTextError, ModelLoadError, NoAttentionError
from attnviz.interventions import ablate_heads
from attnviz.models.loading import LoadedModel, load_model, wrap_model
from attnviz.result import AttentionResult

__all__ = [
    "load_model", "wrap_model", "capture", "capture_batch", "trace", "ablate_heads", "AttentionResult", "LoadedModel",
    "AttnvizError", "ModelLoadError", "InputTextError", "NoAttentionError",
]
