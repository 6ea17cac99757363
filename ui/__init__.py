"""Streamlit glue shared by the pages: language, cached engine calls, sidebar controls, panels.

Importing it does nothing by itself: each page calls ``ui.boot.leave_legacy_page_folder_mode()`` first."""
