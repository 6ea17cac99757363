"""The lessons' words and their rendering, all in this folder; the lessons' numbers come from attnviz/teach/.

Prose is Markdown per language (``<lang>/<lesson>.md``); the short labels (page names, widget labels) are
``labels.toml``, which ui/i18n loads with the other tables. A lesson file is a series of sections, each
opened by ``<!-- key -->``; ``prose("learn.self.intro")`` returns section ``self.intro`` of the
self-attention lesson in the visitor's language, with ``{placeholders}`` filled in.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import streamlit as st

from ui.lang import lang, tr

LESSONS = Path(__file__).resolve().parent
_FILES = {"self": "self_attention", "multi": "multi_head", "cross": "cross_attention", "causal": "causal_attention",
          "derive": "derivation", "play": "playground", "induction": "induction"}
_SECTION = re.compile(r"^<!-- (\S+) -->\n", re.MULTILINE)


@functools.cache
def _sections(language: str, lesson: str) -> dict[str, str]:
    text = (LESSONS / language / f"{lesson}.md").read_text(encoding="utf-8")
    pieces = _SECTION.split(text)[1:]  # [key, body, key, body, ...]
    return {key: body.strip() for key, body in zip(pieces[::2], pieces[1::2])}


def prose(key: str, /, **values: object) -> str:
    """Section ``key`` ("learn.<lesson>.<section>") in the visitor's language ("en" where a section is missing)."""
    section = key.removeprefix("learn.")
    lesson = _FILES[section.split(".", 1)[0]]
    text = _sections(lang(), lesson).get(section) or _sections("en", lesson)[section]
    return text.format(**values) if values else text


def lesson_start(lesson: str) -> None:
    """A lesson page's title and introduction (``learn.<lesson>.title`` / ``.intro``)."""
    st.title(tr(f"learn.{lesson}.title"))
    st.markdown(prose(f"learn.{lesson}.intro"))
