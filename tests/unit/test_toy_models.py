"""The shipped toy models really learned the grammar (figures measured on held-out sentences)."""

from __future__ import annotations

from attnviz import capture
from attnviz.toy import evaluate
from attnviz.toy.grammar import DEMO_SOURCE, all_pairs, is_held_out, split_pairs

N_TEST = 200


def test_grammar_has_the_demo_pair_and_consistent_alignments():
    pairs = all_pairs()
    demo = [p for p in pairs if p.source_text == DEMO_SOURCE.lower()]
    assert demo and demo[0].chinese == ("火车", "准时", "驶出", "车站")
    assert demo[0].alignment == ((1,), (5, 6), (2,), (4,))
    for pair in pairs:
        assert len(pair.alignment) == len(pair.chinese)
        assert all(0 <= i < len(pair.english) for aligned in pair.alignment for i in aligned)
    train, held_out = split_pairs()
    assert not {p.source_text for p in train} & {p.source_text for p in held_out}
    assert not is_held_out(demo[0]) and len(held_out) > 1000


def test_translation_exact_match_on_held_out(toy_translator):
    _, held_out = split_pairs()
    assert evaluate.exact_match(toy_translator, evaluate.sample(held_out, N_TEST)) >= 0.95


def test_demo_sentence_translates(toy_translator):
    assert evaluate.translate(toy_translator, DEMO_SOURCE) == ["火车", "准时", "驶出", "车站"]


def test_cross_attention_matches_gold_alignment(toy_translator):
    train, held_out = split_pairs()
    best = evaluate.alignment_scores(toy_translator, evaluate.sample(train, 100))[0]  # chosen on training pairs
    on_test = {(s.layer, s.head): s.accuracy for s in
               evaluate.alignment_scores(toy_translator, evaluate.sample(held_out, N_TEST))}
    assert on_test[(best.layer, best.head)] >= 0.80


def test_language_model_beats_unigram(toy_lm):
    train, held_out = split_pairs()
    texts = [t for p in evaluate.sample(held_out, N_TEST) for t in (p.source_text, p.target_text)]
    train_texts = [t for p in evaluate.sample(train, 2000) for t in (p.source_text, p.target_text)]
    accuracy = evaluate.next_word_accuracy(toy_lm, texts)
    baseline = evaluate.unigram_accuracy(train_texts, texts, toy_lm.tokenizer)
    assert accuracy > baseline + 0.2


def test_toy_models_in_registry_have_expected_families(toy_translator, toy_lm):
    assert toy_translator.family == "encoder-decoder" and toy_lm.family == "decoder"
    assert toy_lm.shape.n_kv_heads < toy_lm.shape.n_heads  # grouped-query attention


def test_unknown_words_become_unk(toy_translator):
    result = capture(toy_translator, "the zebra left the station", target="火车驶出车站")
    assert "<unk>" in result.source.tokens
