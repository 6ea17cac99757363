"""The one way a figure gets its words: :func:`figure_words` for a language, read from the interface's tables.

Every figure function takes ``words: FigureWords`` and looks its labels up by the tables' own keys
(``words["hover.weight"]``), so a label has one English and one Chinese text, in ui/i18n, and none here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from attnviz.words import LANGUAGES, tables, word


@dataclass(frozen=True)
class FigureWords(Mapping[str, str]):
    """The tables' texts in one language, keyed by the tables' keys (English where the language has none)."""

    lang: str

    def __getitem__(self, key: str) -> str:
        return word(key, self.lang)

    def __iter__(self) -> Iterator[str]:
        return iter(tables())

    def __len__(self) -> int:
        return len(tables())

    def format(self, key: str, /, **values: object) -> str:
        return word(key, self.lang, **values)


def figure_words(lang: str = "en") -> FigureWords:
    """The words figures show in ``lang`` ("en" or "zh"; another falls back to English)."""
    return FigureWords(lang if lang in LANGUAGES else "en")


ENGLISH = figure_words("en")  # the notebook's default: read from the same tables when a figure first asks
