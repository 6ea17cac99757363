"""A small English -> Chinese parallel grammar with gold word alignments.

Three sentence frames, each with its own Chinese word order:

- vehicles:  "the train left the station on time yesterday"
             -> train, yesterday, on time, left, station       (time and manner move before the verb)
- people:    "the teacher saw a book in the park today"
             -> teacher, today, in, park, saw, book            (time and place move before the verb)
- copula:    "life is beautiful" -> life, very, beautiful

The words, English and Chinese, are data: lexicon.toml beside this file. Every pair knows which English
words each Chinese word translates, so cross-attention can be scored against a gold alignment.
"""

from __future__ import annotations

import itertools
import zlib
from dataclasses import dataclass
from pathlib import Path

import tomllib

_LEXICON = tomllib.loads((Path(__file__).parent / "lexicon.toml").read_text("utf-8"))


def _pairs(name: str) -> list[tuple[str, str]]:
    """(English words, Chinese word): a phrase of one or more English words maps to one Chinese word."""
    return [(english, chinese) for english, chinese in _LEXICON[name]]


VEHICLES = _pairs("vehicles")
VEHICLE_VERBS = _pairs("vehicle_verbs")
VEHICLE_OBJECTS = _pairs("vehicle_objects")
MANNERS = _pairs("manners")
TIMES = _pairs("times")

PEOPLE = _pairs("people")
PEOPLE_VERBS = _pairs("people_verbs")
PEOPLE_OBJECTS = _pairs("people_objects")
PLACES = _pairs("places")
# English preposition of each place ("at home" has no article).
PLACE_PREPOSITION = {"park": "in the", "school": "at", "home": "at", "library": "in the"}

COPULA_SUBJECTS = _pairs("copula_subjects")
ADJECTIVES = _pairs("adjectives")
AT, VERY = _LEXICON["function_words"]["at"], _LEXICON["function_words"]["very"]  # "in"/"at" a place; the copula

DEMO_SOURCE = "The train left the station on time"


@dataclass(frozen=True)
class SentencePair:
    """One English sentence, its Chinese translation and the gold word alignment.

    ``alignment[i]`` lists the indices of the English words that Chinese word ``i`` translates.
    """

    english: tuple[str, ...]
    chinese: tuple[str, ...]
    alignment: tuple[tuple[int, ...], ...]

    @property
    def source_text(self) -> str:
        return " ".join(self.english)

    @property
    def target_text(self) -> str:
        return " ".join(self.chinese)


class _Builder:
    """Collects English words and Chinese words with their alignment while a sentence is built."""

    def __init__(self) -> None:
        self.english: list[str] = []
        self.chinese: list[tuple[str, tuple[int, ...]]] = []  # in English order first; reordered later

    def english_only(self, phrase: str) -> None:
        self.english.extend(phrase.split())

    def phrase(self, english: str, chinese: str, prefix: str = "") -> tuple[str, tuple[int, ...]]:
        """Append ``prefix english`` to the English side; return the Chinese word aligned to ``english``."""
        self.english_only(prefix)
        start = len(self.english)
        self.english.extend(english.split())
        return chinese, tuple(range(start, len(self.english)))

    def pair(self, chinese_in_order: list[tuple[str, tuple[int, ...]]]) -> SentencePair:
        return SentencePair(
            english=tuple(self.english),
            chinese=tuple(word for word, _ in chinese_in_order),
            alignment=tuple(aligned for _, aligned in chinese_in_order),
        )


def _vehicle_pairs() -> list[SentencePair]:
    pairs = []
    for subject, verb, obj, manner, time in itertools.product(
        VEHICLES, VEHICLE_VERBS, VEHICLE_OBJECTS, [None, *MANNERS], [None, *TIMES]
    ):
        b = _Builder()
        zh_subject = b.phrase(subject[0], subject[1], prefix="the")
        zh_verb = b.phrase(verb[0], verb[1])
        zh_object = b.phrase(obj[0], obj[1], prefix="the")
        zh_manner = b.phrase(*manner) if manner else None
        zh_time = b.phrase(*time) if time else None
        order = [zh_subject, zh_time, zh_manner, zh_verb, zh_object]
        pairs.append(b.pair([w for w in order if w]))
    return pairs


def _people_pairs() -> list[SentencePair]:
    pairs = []
    for subject, verb, obj, article, place, time in itertools.product(
        PEOPLE, PEOPLE_VERBS, PEOPLE_OBJECTS, ["a", "the"], [None, *PLACES], [None, *TIMES]
    ):
        if article == "a" and obj[0][0] in "aeiou":
            article = "an"
        b = _Builder()
        zh_subject = b.phrase(subject[0], subject[1], prefix="the")
        zh_verb = b.phrase(verb[0], verb[1])
        zh_object = b.phrase(obj[0], obj[1], prefix=article)
        zh_place_words: list[tuple[str, tuple[int, ...]]] = []
        if place:
            preposition = PLACE_PREPOSITION[place[0]]
            zh_at = b.phrase(preposition.split()[0], AT)
            if len(preposition.split()) > 1:
                b.english_only(" ".join(preposition.split()[1:]))
            zh_place_words = [zh_at, b.phrase(*place)]
        zh_time = b.phrase(*time) if time else None
        order = [zh_subject, zh_time, *zh_place_words, zh_verb, zh_object]
        pairs.append(b.pair([w for w in order if w]))
    return pairs


def _copula_pairs() -> list[SentencePair]:
    pairs = []
    for subject, adjective in itertools.product(COPULA_SUBJECTS, ADJECTIVES):
        b = _Builder()
        words = subject[0].split()
        zh_subject = b.phrase(words[-1], subject[1], prefix=" ".join(words[:-1]))
        zh_very = b.phrase("is", VERY)
        zh_adjective = b.phrase(*adjective)
        pairs.append(b.pair([zh_subject, zh_very, zh_adjective]))
    return pairs


def all_pairs() -> list[SentencePair]:
    """Every sentence the grammar generates (about 10,000 pairs), in a fixed order."""
    return _vehicle_pairs() + _people_pairs() + _copula_pairs()


def is_held_out(pair: SentencePair, fraction: float = 0.1) -> bool:
    """A fixed, hash-based train/test split; the demo sentence always trains."""
    if pair.source_text == DEMO_SOURCE.lower():
        return False
    return zlib.crc32(pair.source_text.encode()) % 1000 < fraction * 1000


def split_pairs() -> tuple[list[SentencePair], list[SentencePair]]:
    """(train, held_out) pairs."""
    pairs = all_pairs()
    return [p for p in pairs if not is_held_out(p)], [p for p in pairs if is_held_out(p)]


def english_vocabulary() -> list[str]:
    return sorted({w for p in all_pairs() for w in p.english})


def chinese_vocabulary() -> list[str]:
    return sorted({w for p in all_pairs() for w in p.chinese})
