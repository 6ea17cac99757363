"""English and Simplified Chinese words of the interface, kept as TOML tables beside this file (the lessons'
labels beside the lessons, ui/lessons/labels.toml).

``t("key", lang, **values)`` returns one, formatted. These tables are the one source of every sentence attnviz
shows: the engine, which imports no Streamlit and nothing of ui/, reads the same files (attnviz/words.py) for its
figures' words (``FigureWords``), its errors' English messages and its models' descriptions. Read here too so
that app.py draws the navigation without importing the engine (and torch).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import tomllib

Lang = Literal["en", "zh"]
LANGUAGES: dict[Lang, str] = {"en": "English", "zh": "简体中文"}
STRINGS: dict[str, dict[str, str]] = {}
for table in [*sorted(Path(__file__).parent.glob("*.toml")), Path(__file__).parents[1] / "lessons" / "labels.toml"]:
    STRINGS.update(tomllib.loads(table.read_text("utf-8")))


def t(key: str, lang: str = "en", /, **values: object) -> str:
    entry = STRINGS[key]
    text = entry.get(lang) or entry["en"]
    return text.format(**values) if values else text
