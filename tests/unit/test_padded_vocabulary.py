"""Models whose configured vocabulary is larger than their tokenizer's: every guess is an id the tokenizer
knows, and nothing crashes, in every family kind (see the padded_vocab_dirs fixture)."""

from __future__ import annotations

import numpy as np
import pytest

from attnviz import capture, load_model
from attnviz.analysis.checks import next_token_table
from attnviz.capturing.tokenizing import sequence_from_ids
from attnviz.explain.ablation import ablation_effect, top_chances
from attnviz.explain.generation_steps import generation_steps
from attnviz.models.generation import continue_prompt

TEXT = "the teacher saw a book in the park"


@pytest.fixture(scope="module")
def padded(padded_vocab_dirs):
    return {family: load_model(str(folder)) for family, folder in padded_vocab_dirs.items()}


def _known(loaded, ids):
    assert all(0 <= i < len(loaded.tokenizer) for i in ids), ids


def test_the_fixture_really_prefers_unknown_ids(padded):
    import torch

    loaded = padded["decoder"]
    assert loaded.model.config.vocab_size > len(loaded.tokenizer)
    ids = torch.tensor([loaded.tokenizer(TEXT)["input_ids"]])
    with torch.inference_mode():
        logits = loaded.model(input_ids=ids).logits[0]
    assert (logits.argmax(-1) >= len(loaded.tokenizer)).all()  # unmasked, every guess would be unknown


def test_decoder_guesses_are_known_tokens(padded):
    loaded = padded["decoder"]
    result = capture(loaded, TEXT)
    _known(loaded, result.output_tokens.token_ids)
    assert all(label and label != "None" for label in result.output_tokens.labels)
    assert len(next_token_table(result)) == len(result.source)
    ids = continue_prompt(loaded, TEXT, 4)
    _known(loaded, ids)
    steps = generation_steps(loaded, TEXT, max_new_tokens=3)
    assert steps.steps and all(step.token == step.top[0].label for step in steps.steps)
    effect = ablation_effect(loaded, TEXT, [("decoder", 0, 0)])
    assert len(effect.top_before) == 5 and len(effect.top_after) == 5


def test_encoder_decoder_generates_known_tokens(padded):
    loaded = padded["encoder-decoder"]
    result = capture(loaded, TEXT)  # no target: the model writes one, greedily
    assert result.target_generated
    _known(loaded, result.decoder_input.token_ids)
    _known(loaded, result.output_tokens.token_ids)
    steps = generation_steps(loaded, TEXT, max_new_tokens=3)
    assert all(chance.label for step in steps.steps for chance in step.top)
    effect = ablation_effect(loaded, TEXT, [("cross", 0, 0)], max_new_tokens=4)
    assert effect.text_before and effect.text_after


def test_encoder_captures(padded):
    loaded = padded["encoder"]
    result = capture(loaded, TEXT)
    assert result.output_tokens is None  # an encoder guesses nothing
    np.testing.assert_allclose(result.arrays["encoder"].sum(-1), 1.0, atol=1e-5)


def test_top_chances_skip_unknown_ids(padded):
    loaded = padded["decoder"]
    n = len(loaded.tokenizer)
    logits = np.zeros(n + 10)
    logits[n:] = 100.0  # the likeliest ids have no token
    logits[3] = 5.0
    top = top_chances(logits, loaded.tokenizer, 2)
    assert top[0].label == sequence_from_ids(loaded.tokenizer, [3]).labels[0]
    assert top[0].probability < 1e-30  # probabilities stay the model's own, not renormalised


def test_ids_without_a_token_get_a_label_instead_of_a_crash(padded):
    loaded = padded["decoder"]
    n = len(loaded.tokenizer)
    sequence = sequence_from_ids(loaded.tokenizer, [5, n + 3])
    assert sequence.labels[1] == f"<id {n + 3}>" and sequence.tokens[1] == f"<id {n + 3}>"
