"""Every control lives in the URL, so a copied link reproduces the view: the one place that says how.

- plain widgets (text, sliders, checkboxes, numbers) take ``**BOUND``: Streamlit binds them to a
  query parameter named after their key;
- radios and selectboxes with translated labels use :func:`url_choice`, which keeps the raw value
  (not the label) in the URL, so a link made in Chinese opens in English too.
"""

from __future__ import annotations

import streamlit as st

BOUND = {"bind": "query-params", "persist_state": "session"}


def url_choice(widget, label: str, options: list, key: str, default, format_func=str, **kwargs):
    """A radio or selectbox with translated labels whose URL value stays language-neutral.

    Streamlit's query-parameter binding stores the *formatted* label, which would make a link
    made in Chinese unreadable to the English interface; these widgets sync the raw value by hand.
    Options are compared as text, so integer choices (a layer, a token position) survive the URL.
    """
    by_text = {str(option): option for option in options}
    if key not in st.session_state or st.session_state[key] not in options:
        wanted = st.query_params.get(key)
        st.session_state[key] = by_text.get(wanted, default) if wanted is not None else default
    if st.session_state[key] not in options:
        st.session_state[key] = options[0]
    value = widget(label, options, key=key, format_func=format_func, persist_state="session", **kwargs)
    if value == default:
        st.query_params.pop(key, None)
    else:
        st.query_params[key] = str(value)
    return value
