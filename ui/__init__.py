"""Streamlit glue shared by the pages: language, cached engine calls, sidebar controls, panels."""
