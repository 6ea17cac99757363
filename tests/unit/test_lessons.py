"""Lesson prose lives in Markdown per language; both languages say the same things with the same numbers."""

from __future__ import annotations

import re
import string

import pytest

from ui.lessons import LESSONS, _sections


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("lesson", sorted(p.stem for p in (LESSONS / "en").glob("*.md")))
def test_every_lesson_section_exists_in_both_languages_with_the_same_placeholders(lesson):
    english, chinese = _sections("en", lesson), _sections("zh", lesson)
    assert english and english.keys() == chinese.keys()
    for key, text in english.items():
        assert _placeholders(text) == _placeholders(chinese[key]), key
        assert re.search(r"[\u4e00-\u9fff]", chinese[key]), f"{key} is not translated"
