"""Errors that carry a message meant for the person using attnviz, not a traceback.

Each error has an English sentence (``str(error)``) for Python and CLI users, and a ``code`` with
``params`` so an interface can say the same thing in the visitor's language.
"""

from __future__ import annotations


class AttnvizError(Exception):
    """Base class: ``str(error)`` is a complete sentence a user can act on."""

    default_code = "error"

    def __init__(self, message: str, *, code: str | None = None, **params: object) -> None:
        super().__init__(message)
        self.code = code or self.default_code
        self.params = params


class ModelLoadError(AttnvizError):
    """The model name, hub id or path could not be turned into a working model."""

    default_code = "model_load"


class SettingsError(AttnvizError):
    """The operator's settings file or ``ATTNVIZ_*`` variables hold a key or value attnviz cannot use."""

    default_code = "bad_settings"


class InputTextError(AttnvizError):
    """The text given to a model cannot be used (empty, nothing left after tokenizing, ...)."""

    default_code = "input_text"


class NoAttentionError(AttnvizError):
    """The model ran but no attention weights passed through the capture point."""

    default_code = "no_attention"


class LayerRequestError(AttnvizError, ValueError):
    """Layers or heads outside the model were asked for."""

    default_code = "layer_request"


class CaptureShapeError(AttnvizError):
    """An attention call did not have the shape the load-time probe recorded for it."""

    default_code = "capture_shape"


class StreamError(AttnvizError):
    """The residual stream of this model cannot be traced or split into parts (heads, MLPs, norms)."""

    default_code = "no_stream"


class PatchingError(AttnvizError, ValueError):
    """A clean/corrupted pair, answer tokens or component that activation patching cannot use."""

    default_code = "patching"
