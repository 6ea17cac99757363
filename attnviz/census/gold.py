"""Gold alignments and small built-in corpora from the toy grammar (attnviz/toy/grammar.py).

The toy translator was trained on that grammar, and every English sentence of it knows which English
words each Chinese word translates: a census of the translator over grammar sentences can score its
cross-attention heads against that gold alignment.
"""

from __future__ import annotations

import functools

from attnviz.census.sources import Corpus
from attnviz.toy.grammar import SentencePair, all_pairs

GOLD_MODELS = ("toy-translator",)  # built-in models trained on the grammar


def _key(text: str) -> str:
    return " ".join(text.lower().split())


@functools.cache
def grammar_pairs() -> dict[str, SentencePair]:
    """Every grammar sentence by its normalised English text."""
    return {_key(p.source_text): p for p in all_pairs()}


def with_gold(corpus: Corpus, model_name: str) -> Corpus:
    """For a model trained on the grammar: fill missing targets and alignments of grammar sentences.

    Texts that are not grammar sentences keep no target (the model writes one) and no alignment.
    Other models get the corpus unchanged.
    """
    if model_name not in GOLD_MODELS:
        return corpus
    pairs = grammar_pairs()
    targets, alignments, found = [], [], 0
    for text, target, alignment in zip(corpus.texts, corpus.targets, corpus.alignments):
        pair = pairs.get(_key(text))
        if target is None and alignment is None and pair is not None:
            target, alignment = pair.target_text, pair.alignment
            found += 1
        targets.append(target)
        alignments.append(alignment)
    if not found:
        return corpus
    notes = (*corpus.notes, f"{found} of {len(corpus)} texts matched the toy grammar: gold targets and alignments.")
    return Corpus(corpus.texts, tuple(targets), tuple(alignments), corpus.description, notes)


def grammar_sentences(n: int, *, sentence_case: bool = False) -> list[str]:
    """``n`` varied English sentences of the grammar, spread evenly over all of it (deterministic).

    ``sentence_case``: capitalised with a full stop, for models trained on ordinary English.
    """
    pairs = all_pairs()
    if n > len(pairs):
        raise ValueError(f"the grammar has {len(pairs)} sentences; asked for {n}")
    step = len(pairs) / n
    texts = [pairs[int(i * step)].source_text for i in range(n)]
    return [t[0].upper() + t[1:] + "." for t in texts] if sentence_case else texts


def sample_corpus(model_name: str, n: int = 48) -> Corpus:
    """A small built-in corpus for ``model_name``: grammar sentences, with gold for the toy translator."""
    toy = model_name.startswith("toy-")
    corpus = Corpus(tuple(grammar_sentences(n, sentence_case=not toy)),
                    description=f"{n} sentences of the toy grammar (attnviz.toy.grammar)")
    return with_gold(corpus, model_name)
