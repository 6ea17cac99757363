"""English and Simplified Chinese strings. ``t("key", lang, **values)`` returns one, formatted."""

from __future__ import annotations

from typing import Literal

from attnviz.i18n.errors import ERROR_STRINGS
from attnviz.i18n.learn import LEARN_STRINGS
from attnviz.i18n.strings import STRINGS

STRINGS.update(LEARN_STRINGS)
STRINGS.update(ERROR_STRINGS)

Lang = Literal["en", "zh"]
LANGUAGES: dict[Lang, str] = {"en": "English", "zh": "简体中文"}


def t(key: str, lang: str = "en", /, **values: object) -> str:
    entry = STRINGS[key]
    text = entry.get(lang) or entry["en"]
    return text.format(**values) if values else text
