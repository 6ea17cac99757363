"""English and Simplified Chinese words of the interface, kept as TOML tables beside this file (the lessons'
labels beside the lessons, ui/lessons/labels.toml).

``t("key", lang, **values)`` returns one, formatted. The engine (attnviz/) has no words of its own: it
returns data and error codes, and figures take their few words (``FigureWords``) from here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

import tomllib

if TYPE_CHECKING:  # imported when a figure needs words, not with the strings (app.py's navigation needs no torch)
    from attnviz.figures.words import FigureWords

Lang = Literal["en", "zh"]
LANGUAGES: dict[Lang, str] = {"en": "English", "zh": "简体中文"}
STRINGS: dict[str, dict[str, str]] = {}
for table in [*sorted(Path(__file__).parent.glob("*.toml")), Path(__file__).parents[1] / "lessons" / "labels.toml"]:
    STRINGS.update(tomllib.loads(table.read_text("utf-8")))


def t(key: str, lang: str = "en", /, **values: object) -> str:
    entry = STRINGS[key]
    text = entry.get(lang) or entry["en"]
    return text.format(**values) if values else text


def figure_words(lang: str) -> FigureWords:
    """The words a figure shows, in ``lang``."""
    from attnviz.figures.words import FigureWords

    return FigureWords(query=t("axis.query", lang), key=t("axis.key", lang), target=t("axis.target", lang),
                       source=t("axis.source", lang), weight=t("hover.weight", lang), masked=t("hover.masked", lang),
                       layer=t("layer", lang), head=t("head", lang),
                       combined={mode: t(f"figure.combined.{mode}", lang) for mode in ("mean", "max")},
                       kinds={kind: t(f"kind.{kind}", lang) for kind in ("encoder", "decoder", "cross")})
