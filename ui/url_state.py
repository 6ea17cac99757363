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


_LINK = "_link_params"
_ALIASES = {"lang": "ui_lang"}  # URL parameter -> the session key of the widget that reads it


def _same(value, text: str) -> bool:
    if isinstance(value, (list, tuple)):
        return sorted(map(str, value)) == sorted(part for part in text.replace("[", "").replace("]", "").split(",")
                                                 if part)
    return str(value).lower() == text.lower()


def remember_link() -> None:
    """Before the page runs, on a session's first run: keep the link's parameters as they came."""
    if _LINK not in st.session_state:
        st.session_state[_LINK] = {key: st.query_params.get(key) for key in st.query_params}


def report_rejected_link(message: str) -> list[str]:
    """After the page ran: name the parameters of the opening link that were not valid and fell back to defaults."""
    link = st.session_state.get(_LINK)
    if not link:
        return []
    st.session_state[_LINK] = {}  # only the opening link is checked
    rejected = []
    for key, text in link.items():
        value = st.session_state.get(_ALIASES.get(key, key))
        if value is not None and _same(value, text):
            continue
        if value is None and st.query_params.get(key) == text:
            continue  # a parameter no widget on this page reads: left as it was
        rejected.append(key)
    if rejected:
        st.toast(message.format(keys=", ".join(sorted(rejected))), icon=":material/link_off:", duration="long")
    return rejected
