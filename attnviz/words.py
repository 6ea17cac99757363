"""The words attnviz shows people, read from the interface's tables (ui/i18n/*.toml) without Streamlit.

The engine writes no sentence of its own: an error's English message, a figure's labels and a built-in model's
one-line description are looked up here by the key the interface uses, so each has one source in each language.
"""

from __future__ import annotations

import functools

import tomllib

from attnviz.paths import word_tables

LANGUAGES = ("en", "zh")


@functools.cache
def tables() -> dict[str, dict[str, str]]:
    """Every entry of the tables: key -> {language: text}."""
    entries: dict[str, dict[str, str]] = {}
    for table in word_tables():
        entries.update(tomllib.loads(table.read_text("utf-8")))
    return entries


def word(key: str, lang: str = "en", /, **values: object) -> str:
    """The entry ``key`` in ``lang`` (English where the language has none), formatted with ``values``."""
    entry = tables()[key]
    text = entry.get(lang) or entry["en"]
    return text.format(**values) if values else text
