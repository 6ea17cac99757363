"""Errors that carry a message meant for the person using attnviz, not a traceback.

An error is a ``code`` and its ``params``; its sentence is the tables' entry ``error.<code>`` (ui/i18n/errors.toml
and the other tables, read by attnviz/words.py), so Python, the command line and the app say the same thing:
``str(error)`` in English, :func:`error_sentence` in any language the tables hold.
"""

from __future__ import annotations

from collections.abc import Mapping

from attnviz.words import tables, word


def _named_kinds(params: Mapping[str, object], lang: str) -> dict[str, object]:
    """``kind`` and ``kinds`` (attention kinds: "encoder", "cross" ...) as the tables name them."""
    named = dict(params)

    def name(kind: object) -> str:
        return word(f"kind.{kind}", lang) if f"kind.{kind}" in tables() else str(kind)

    if isinstance(named.get("kind"), str):
        named["kind"] = name(named["kind"])
    if isinstance(named.get("kinds"), list | tuple):
        named["kinds"] = ", ".join(name(kind) for kind in named["kinds"])
    return named


def _sentence(code: str, params: Mapping[str, object], lang: str = "en", message: str | None = None) -> str:
    """The entry ``error.<code>`` in ``lang`` with ``params``. ``message``: a sentence the raise gave itself,
    for entries that wrap one ("{message}") and for codes the tables lack."""
    values = _named_kinds(params, lang) | ({"message": message} if message is not None else {})
    key = f"error.{code}" if f"error.{code}" in tables() else "error.error"
    try:
        return word(key, lang, **values)
    except (KeyError, IndexError, ValueError):  # an entry needing a parameter this error lacks
        return message if message is not None else f"{code} {dict(params)}"


class AttnvizError(Exception):
    """Base class: ``str(error)`` is a complete sentence a user can act on, the tables' English for ``code``.

    A sentence passed as ``message`` is used as given (an entry can show it as ``{message}``): for codes whose
    sentence the tables do not hold yet.
    """

    default_code = "error"

    def __init__(self, message: str | None = None, *, code: str | None = None, **params: object) -> None:
        self.code = code or self.default_code
        self.params = params
        super().__init__(message if message is not None else _sentence(self.code, params))


def error_sentence(error: AttnvizError, lang: str = "en") -> str:
    """``error`` in ``lang`` (English where the tables have no translation)."""
    return _sentence(error.code, error.params, lang, str(error))


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
