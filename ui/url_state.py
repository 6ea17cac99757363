"""Every control lives in the URL, so a copied link reproduces the view: the one place that says how.

- plain widgets (text, sliders, checkboxes, numbers) take ``**BOUND``: Streamlit binds them to a
  query parameter named after their key;
- radios and selectboxes with translated labels use :func:`url_choice`, which keeps the raw value
  (not the label) in the URL, so a link made in Chinese opens in English too;
- state kept without a widget (the browser-drawn map's layer, heads, look) is read with :func:`link_value` /
  :func:`link_values` and written with :func:`write_link`.

A list is one encoding everywhere: repeated parameters (``?heads=1&heads=3``), as Streamlit's bound
multi-select widgets write it; an old link's comma list (``?heads=1,3``) is rewritten to it on arrival.
"""

from __future__ import annotations

import re

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


def link_value(key: str, default: str | None = None) -> str | None:
    """The URL's text for ``key`` (the last one if repeated), or ``default``."""
    return st.query_params.get(key, default)


def link_values(key: str) -> list[str]:
    """Every value of a list parameter (``?heads=1&heads=3`` -> ["1", "3"])."""
    return st.query_params.get_all(key)


def write_link(values: dict[str, str | list[str] | None]) -> None:
    """State without a widget into the URL: None removes a parameter, a list is repeated parameters."""
    for name, value in values.items():
        if value is None:
            st.query_params.pop(name, None)
        elif isinstance(value, list):
            if st.query_params.get_all(name) != value:
                st.query_params[name] = value
        elif st.query_params.get(name) != value:
            st.query_params[name] = value


def keep_valid(key: str, allowed, default=None) -> None:
    """A widget's value left from another model (say layer 5 on a 2-layer model) falls back to ``default``, or
    with no ``default`` is dropped so the widget starts at its own; a list value must be non-empty and hold only
    allowed items. The one place that checks, called before the widget is drawn."""
    value = st.session_state.get(key)
    if value is None:
        return
    if isinstance(value, list) and value and all(v in allowed for v in value) or (
            not isinstance(value, list) and value in allowed):
        return
    if default is None:
        del st.session_state[key]
    else:
        st.session_state[key] = default


_LINK = "_link_params"
_ALIASES = {"lang": "ui_lang"}  # URL parameter -> the session key of the widget that reads it


def _same(value, text: str | list[str]) -> bool:
    if isinstance(value, (list, tuple)) or isinstance(text, list):
        values = value if isinstance(value, (list, tuple)) else [value]
        return sorted(map(str, values)) == sorted(text if isinstance(text, list) else [text])
    return str(value).lower() == text.lower()


def _as_given(values: list[str]) -> str | list[str]:
    return values[0] if len(values) == 1 else values


# List parameters: the app writes them repeated (?heads=1&heads=4); links from before that wrote one
# comma-separated value (?heads=1,4,9), which is still read.
LIST_PARAMETERS = re.compile(r"heads|off_[a-z]+_\d+")


def _old_list_form(key: str, values: list[str]) -> list[str] | None:
    """``["1,4,9"]`` -> ``["1", "4", "9"]`` for a list parameter written the old way; None for anything else."""
    if LIST_PARAMETERS.fullmatch(key) and len(values) == 1 and "," in values[0]:
        return [part.strip() for part in values[0].split(",") if part.strip()]
    return None


def remember_link() -> None:
    """Before the page runs, on a session's first run: keep the link's parameters as they came, with old
    comma-separated lists rewritten to repeated parameters first, so every widget reads one encoding."""
    if _LINK not in st.session_state:
        for key in list(st.query_params):
            rewritten = _old_list_form(key, st.query_params.get_all(key))
            if rewritten is not None:
                st.query_params[key] = rewritten
        st.session_state[_LINK] = {key: _as_given(st.query_params.get_all(key)) for key in st.query_params}


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
        if value is None and _as_given(st.query_params.get_all(key)) == text:
            continue  # a parameter no widget on this page reads: left as it was
        rejected.append(key)
    if rejected:
        st.toast(message.format(keys=", ".join(sorted(rejected))), icon=":material/link_off:", duration="long")
    return rejected
