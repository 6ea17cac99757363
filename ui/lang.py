"""The user's language, chosen once in app.py and read by every page."""

from __future__ import annotations

import streamlit as st

from attnviz.i18n import LANGUAGES, t


def language_picker() -> None:
    st.sidebar.radio(t("language"), list(LANGUAGES), format_func=LANGUAGES.get, key="lang", horizontal=True,
                     bind="query-params", persist_state="session")


def lang() -> str:
    value = st.session_state.get("lang", "en")
    return value if value in LANGUAGES else "en"


def tr(key: str, **values: object) -> str:
    return t(key, lang(), **values)
