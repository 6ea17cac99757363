"""The first run of a fresh server, which Streamlit makes in its legacy ``pages/`` folder mode."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

_checked = False


def leave_legacy_page_folder_mode() -> None:
    """Switch Streamlit to app.py's own navigation and run the same page again through it.

    A ``pages/`` folder beside app.py makes Streamlit run the very first session's page in its legacy
    mode: without app.py (no language switch, the file list as navigation) and, for a URL it does not
    know, with a "page not found" popup. After one st.navigation call the flag is off for the process;
    setting it here and rerunning gives the first visitor what every later one gets. The page's URL
    path is its file name, so the rerun resolves to the same page.
    """
    global _checked
    if _checked:  # once per process, as Streamlit's flag is: a later run (or a test's) is left alone
        return
    _checked = True
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def show_app_navigation() -> None:
    """Turn the sidebar navigation back on for app.py's st.navigation.

    .streamlit/config.toml sets ``client.showSidebarNavigation = false`` so that the legacy first run
    draws no list of file names; the same option would also hide st.navigation's sidebar menu, so the
    router sets it back before calling it. After that first run Streamlit never uses its legacy mode
    again in the process, so the option only ever hides that list.
    """
    if st.get_option("client.showSidebarNavigation") is False:
        st.set_option("client.showSidebarNavigation", True)


def default_page_by_name(name: str) -> None:
    """Let the default page also answer to its file name (``/self_attention``): Streamlit serves the default
    page only at ``/`` and shows "page not found" for its name, though a visitor may well type it."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    manager = getattr(ctx, "pages_manager", None)
    if manager is not None and manager.intended_page_name == name and not manager.intended_page_script_hash:
        manager.set_script_intent("", "")  # the default page, found without a notice
