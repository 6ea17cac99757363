"""A model's own generation, one token at a time: which row of attention wrote each new token.

A decoder writes position ``p + 1`` from row ``p`` of its causal attention; an encoder-decoder writes
target token ``i`` from decoder row ``i``, whose cross-attention row says where in the source it
looked. Greedy decoding, then one captured forward pass over the whole sequence: causal masking makes
each row equal to the row of the step that wrote it (tested against step-by-step prefixes).
"""

from __future__ import annotations

from dataclasses import dataclass

from attnviz.capturing.run import capture_token_ids, model_inputs
from attnviz.errors import InputTextError
from attnviz.explain.ablation import TokenChance, top_chances
from attnviz.models.generation import continue_prompt
from attnviz.models.loading import LoadedModel
from attnviz.result import AttentionKind, AttentionResult


@dataclass(frozen=True)
class GenerationStep:
    row: int  # the decoder row (query position) that chose this token
    token: str  # what the model wrote (greedy: the most likely token)
    top: tuple[TokenChance, ...]  # the most likely tokens at that row


@dataclass(frozen=True)
class GenerationSteps:
    result: AttentionResult  # the whole sequence, captured once
    kinds: tuple[AttentionKind, ...]  # "decoder" (causal) and, for encoder-decoders, "cross"
    prompt_tokens: int  # decoder rows given, not generated (decoder-only models)
    steps: tuple[GenerationStep, ...]


def generation_steps(loaded: LoadedModel, text: str, max_new_tokens: int = 8, top_k: int = 5) -> GenerationSteps:
    """Greedy generation from ``text`` (a prompt, or an encoder-decoder's source) with every step's row."""
    if loaded.family == "encoder":
        raise InputTextError(code="not_a_generator", model=loaded.name)
    if loaded.family == "decoder":
        prompt = len(model_inputs(loaded, text)[0]["input_ids"][0])
        ids = continue_prompt(loaded, text, max_new_tokens)
        result, logits = capture_token_ids(loaded, ids)
        # row p read token p and chose token p + 1 (the last row chose the end of text, or what would come next)
        steps = []
        for row in range(prompt - 1, len(ids)):
            top = top_chances(logits[row], loaded.tokenizer, top_k)
            steps.append(GenerationStep(row, top[0].label, top))
        steps = tuple(steps)
        return GenerationSteps(result, ("decoder",), prompt, steps)
    _, source, reads = model_inputs(loaded, text, None, max_new_tokens=max_new_tokens)
    result, logits = capture_token_ids(loaded, source.token_ids, reads.token_ids)
    steps = []
    for row in range(len(reads)):  # row i reads target token i and writes token i + 1 (the last writes </s>)
        top = top_chances(logits[row], loaded.tokenizer, top_k)
        steps.append(GenerationStep(row, top[0].label, top))
    return GenerationSteps(result, ("decoder", "cross"), 1, tuple(steps))
