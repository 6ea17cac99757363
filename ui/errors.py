"""Engine errors shown in the visitor's language: the engine gives a code and parameters, the UI the words."""

from __future__ import annotations

import streamlit as st

from attnviz.errors import AttnvizError
from ui.i18n import STRINGS
from ui.lang import tr


def error_text(error: AttnvizError) -> str:
    """The error's sentence in the visitor's language; codes without a translation show the English sentence."""
    params = {**error.params, "message": str(error)}
    if "kind" in params and f"kind.{params['kind']}" in STRINGS:
        params["kind"] = tr(f"kind.{params['kind']}")
    key = f"error.{error.code}"
    try:
        return tr(key, **params) if key in STRINGS else tr("error.error", message=str(error))
    except (KeyError, IndexError, ValueError):  # a translation that needs a parameter this error lacks
        return str(error)


def show_error(error: AttnvizError) -> None:
    st.error(error_text(error))
