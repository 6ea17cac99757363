"""Errors that carry a message meant for the person using attnviz, not a traceback."""


class AttnvizError(Exception):
    """Base class: ``str(error)`` is a complete sentence a user can act on."""


class ModelLoadError(AttnvizError):
    """The model name, hub id or path could not be turned into a working model."""


class InputTextError(AttnvizError):
    """The text given to a model cannot be used (empty, nothing left after tokenizing, ...)."""


class NoAttentionError(AttnvizError):
    """The model ran but no attention weights passed through the capture point."""
