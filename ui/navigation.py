"""app.py's navigation beside a ``pages/`` folder, with public Streamlit calls only.

Streamlit treats a ``pages/`` folder beside the entry script as a legacy multipage app until ``st.navigation``
has run once in the process. Left to itself, a fresh server's first visitor of a deep link (``/routes``) gets
the page file run alone: no app.py, so no language switch and Streamlit's list of file names as navigation;
and as app.py never runs then, neither does ``st.navigation``, so every later visitor of a deep link gets the
same until someone opens ``/``. The end-to-end tests ``tests/e2e/test_first_visit.py`` and
``tests/e2e/test_live_map.py::test_the_first_visitor_of_a_fresh_server_sees_the_page_and_its_navigation``
open fresh servers at ``/`` and at deep links.
"""

from __future__ import annotations

import streamlit as st


def _nothing() -> None:
    pass


def declare_own_navigation() -> None:
    """Called once as the server imports app.py, before any session: ``st.navigation`` outside a script run
    draws nothing and returns at once, but tells Streamlit the app lists its own pages (its source:
    "disregard v1 behavior of Multipage Apps"), so even the first visitor's run goes through app.py."""
    st.navigation([st.Page(_nothing)])


def file_name_alias(default: st.Page, file_name: str) -> st.Page:
    """A hidden page at ``/<file_name>`` that opens the default page with the link's parameters: Streamlit
    serves the default page at ``/`` only, and a visitor may well type its file name. The default page needs a
    ``url_path`` other than ``file_name`` (pages are told apart by it)."""

    def open_default() -> None:
        st.switch_page(default, query_params={key: st.query_params.get_all(key) for key in st.query_params})

    return st.Page(open_default, title=default.title, url_path=file_name, visibility="hidden")
