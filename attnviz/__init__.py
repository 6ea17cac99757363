"""attnviz: capture and explain the attention of transformer models.

    from attnviz import load_model, capture
    result = capture(load_model("minilm"), "The train left the station on time")
    result.head_map("encoder", layer=0, head=3)   # [query, key] weights
"""

from attnviz.capture.capture import capture
from attnviz.errors import AttnvizError, InputTextError, ModelLoadError, NoAttentionError
from attnviz.models.loading import LoadedModel, load_model
from attnviz.models.registry import BUILTIN_MODELS, DEFAULT_MODEL
from attnviz.result import AttentionResult, ModelShape, TokenSequence

__all__ = [
    "BUILTIN_MODELS", "DEFAULT_MODEL", "AttentionResult", "AttnvizError", "InputTextError", "LoadedModel",
    "ModelLoadError", "ModelShape", "NoAttentionError", "TokenSequence", "capture", "load_model",
]
