"""Engine errors shown in the visitor's language: the engine gives a code and parameters, the tables the words.

One place handles them: :func:`shown_errors`. app.py runs every page inside it, so an engine error ends the page
with its message; a part of a page the rest can go on without (a side panel, a model that failed to load in
the sidebar) runs inside it too, and the page continues after the part.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import streamlit as st

from ui.lang import lang

if TYPE_CHECKING:  # app.py imports this module before drawing the navigation: no engine (torch) on that path
    from attnviz.errors import AttnvizError


def error_text(error: AttnvizError) -> str:
    """The error's sentence in the visitor's language; codes without a translation show the English sentence."""
    from attnviz.errors import error_sentence  # the engine that raised the error is loaded

    return error_sentence(error, lang())


def show_error(error: AttnvizError) -> None:
    st.error(error_text(error))


@contextmanager
def shown_errors() -> Iterator[None]:
    """Run the block; an engine error ends it with its message in the visitor's language, and the code after the
    block goes on. Any other exception passes (a bug shows as one), and so do Streamlit's st.stop and st.rerun."""
    try:
        yield
    except Exception as error:
        engine = sys.modules.get("attnviz.errors")  # not imported here: an engine not yet loaded raised nothing
        if engine is None or not isinstance(error, engine.AttnvizError):
            raise
        show_error(error)
