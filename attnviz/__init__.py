"""attnviz: capture and explain the attention of transformer models.

    from attnviz import load_model, capture
    result = capture(load_model("minilm"), "The train left the station on time")
    result.attention("encoder", layer=0, head=3)   # [query, key] weights of model layer 0, head 3
"""

from attnviz.capturing.run import capture, capture_batch
from attnviz.errors import AttnvizError, InputTextError, LayerRequestError, ModelLoadError, NoAttentionError
from attnviz.interventions import ablate_heads
from attnviz.models.loading import LoadedModel, load_model
from attnviz.models.registry import BUILTIN_MODELS, DEFAULT_MODEL
from attnviz.result import AttentionResult, HeadLayout, HeadVectors, ModelShape, TokenSequence

__all__ = [
    "BUILTIN_MODELS", "DEFAULT_MODEL", "AttentionResult", "AttnvizError", "HeadLayout", "HeadVectors",
    "InputTextError", "LayerRequestError", "LoadedModel", "ModelLoadError", "ModelShape", "NoAttentionError",
    "TokenSequence", "ablate_heads", "capture", "capture_batch", "load_model",
]
