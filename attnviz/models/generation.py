"""Greedy continuation of a prompt, for lessons that show a decoder writing one token at a time."""

from __future__ import annotations

from attnviz.errors import InputTextError
from attnviz.models.loading import LoadedModel
from attnviz.tracing.generate import greedy


def continue_prompt(loaded: LoadedModel, prompt: str, max_new_tokens: int = 8) -> list[int]:
    """Token ids of ``prompt`` followed by the model's greedy continuation (stops at end of text)."""
    if loaded.family != "decoder":
        raise InputTextError(code="not_a_decoder", model=loaded.name)
    if not prompt or not prompt.strip():
        raise InputTextError(code="empty_prompt")
    ids = loaded.tokenizer(prompt.strip(), return_tensors="pt")
    limit = max(1, min(max_new_tokens, loaded.shape.max_tokens - ids["input_ids"].shape[1]))
    sequence = greedy(loaded, ids, limit, pad_token_id=loaded.tokenizer.pad_token_id)
    eos, start = loaded.tokenizer.eos_token_id, ids["input_ids"].shape[1]
    # only a written end of text stops it: a tokenizer may end the prompt itself with one
    written = sequence[start:]
    return sequence[: start + written.index(eos)] if eos in written else sequence
