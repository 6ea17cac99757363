"""Streamlit glue shared by the pages: language, cached engine calls, sidebar controls, panels."""

from ui.boot import leave_legacy_page_folder_mode

leave_legacy_page_folder_mode()
