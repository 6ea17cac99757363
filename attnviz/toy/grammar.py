"""A small English -> Chinese parallel grammar with gold word alignments.

Three sentence frames, each with its own Chinese word order:

- vehicles:  "the train left the station on time yesterday"
             -> "火车 昨天 准时 驶出 车站"         (time and manner move before the verb)
- people:    "the teacher saw a book in the park today"
             -> "老师 今天 在 公园 看见 书"        (time and place move before the verb)
- copula:    "life is beautiful" -> "生活 很 美丽"

Every pair knows which English words each Chinese word translates, so
cross-attention can be scored against a gold alignment.
"""

from __future__ import annotations

import itertools
import zlib
from dataclasses import dataclass

# (English words, Chinese word): a phrase of one or more English words maps to one Chinese word.
VEHICLES = [("train", "火车"), ("bus", "公共汽车"), ("ship", "轮船"), ("plane", "飞机")]
VEHICLE_VERBS = [("left", "驶出"), ("reached", "到达"), ("passed", "经过")]
VEHICLE_OBJECTS = [("station", "车站"), ("city", "城市"), ("bridge", "大桥"), ("port", "港口"), ("village", "村庄")]
MANNERS = [("on time", "准时"), ("slowly", "慢慢地"), ("quickly", "很快地"), ("late", "晚点")]
TIMES = [("yesterday", "昨天"), ("today", "今天"), ("this morning", "今天早上"), ("at night", "晚上"),
         ("last week", "上周")]

PEOPLE = [("teacher", "老师"), ("student", "学生"), ("doctor", "医生"), ("farmer", "农民"),
          ("girl", "女孩"), ("boy", "男孩"), ("man", "男人")]
PEOPLE_VERBS = [("saw", "看见"), ("bought", "买了"), ("found", "找到"), ("read", "读了"), ("wrote", "写了"),
                ("cleaned", "打扫了")]
PEOPLE_OBJECTS = [("book", "书"), ("letter", "信"), ("apple", "苹果"), ("house", "房子"), ("car", "汽车"),
                  ("room", "房间")]
PLACES = [("park", "公园"), ("school", "学校"), ("home", "家"), ("library", "图书馆")]
# English preposition of each place ("at home" has no article).
PLACE_PREPOSITION = {"park": "in the", "school": "at", "home": "at", "library": "in the"}

COPULA_SUBJECTS = [("life", "生活"), ("the weather", "天气"), ("the city", "城市"), ("the music", "音乐"),
                   ("the food", "食物")]
ADJECTIVES = [("beautiful", "美丽"), ("short", "短暂"), ("good", "好"), ("hard", "艰难"), ("quiet", "安静"),
              ("strange", "奇怪")]

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
            zh_at = b.phrase(preposition.split()[0], "在")
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
        zh_very = b.phrase("is", "很")
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
