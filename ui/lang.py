"""The user's language, chosen once in app.py and read by every page.

Kept in the URL as ``?lang=zh`` by hand: the entry script's widgets run before the page's,
and binding them to query parameters did not restore them on a fresh load.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from ui.i18n import LANGUAGES, t

if TYPE_CHECKING:  # app.py imports this before drawing the navigation: no engine (torch) on that path
    from attnviz.figures.words import FigureWords

_KEY = "ui_lang"


def language_picker() -> None:
    if _KEY not in st.session_state:
        wanted = st.query_params.get("lang", "en")
        st.session_state[_KEY] = wanted if wanted in LANGUAGES else "en"
    st.sidebar.radio(t("language", lang()), list(LANGUAGES), format_func=LANGUAGES.get, key=_KEY,
                     horizontal=True)
    if lang() == "en":
        st.query_params.pop("lang", None)
    else:
        st.query_params["lang"] = lang()


def lang() -> str:
    value = st.session_state.get(_KEY, "en")
    return value if value in LANGUAGES else "en"


def tr(key: str, /, **values: object) -> str:
    return t(key, lang(), **values)


def chart_words() -> FigureWords:
    """The words figures show, in the visitor's language."""
    from attnviz.figures.words import figure_words

    return figure_words(lang())
