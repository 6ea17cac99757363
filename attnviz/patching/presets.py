"""Example clean/corrupted pairs: the two circuits activation patching is best known for."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    model: str
    clean: str
    corrupt: str
    answer: str
    wrong: str
    component: str = "head_out"
    target: str = ""


PRESETS: dict[str, Preset] = {
    # induction: the second "doctor found a" is continued by whatever followed the first one
    "induction": Preset("toy-induction", "the doctor found a letter in the park the doctor found a",
                        "the doctor found a book in the park the doctor found a", "letter", "book"),
    # indirect object identification (Wang et al. 2022): the name that is not repeated is the answer
    "ioi": Preset("gpt2", "When Mary and John went to the store, John gave a drink to",
                  "When Mary and John went to the store, Mary gave a drink to", " Mary", " John"),
}
