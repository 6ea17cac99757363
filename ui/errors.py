"""Engine errors shown in the visitor's language: the engine gives a code and parameters, the tables the words."""

from __future__ import annotations

import streamlit as st

from attnviz.errors import AttnvizError, error_sentence
from ui.lang import lang


def error_text(error: AttnvizError) -> str:
    """The error's sentence in the visitor's language; codes without a translation show the English sentence."""
    return error_sentence(error, lang())


def show_error(error: AttnvizError) -> None:
    st.error(error_text(error))
