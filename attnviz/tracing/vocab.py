"""Guesses only from ids the tokenizer knows.

A model's embedding table is often padded past its tokenizer (Qwen2.5 and Phi-3 round it up for speed,
and a freshly initialised model gives those rows weights like any other), so the likeliest id can be
one no token belongs to. Every greedy guess and top-k list goes through here: such ids are never chosen,
and the probabilities shown stay the model's own (not renormalised over the known ids).
"""

from __future__ import annotations

import numpy as np
import torch
from transformers import LogitsProcessor, LogitsProcessorList, PreTrainedTokenizerBase


def known_ids(tokenizer: PreTrainedTokenizerBase) -> int:
    """Ids ``0 .. known_ids - 1`` have a token (added tokens included)."""
    return len(tokenizer)


def without_unknown(scores: torch.Tensor | np.ndarray, tokenizer: PreTrainedTokenizerBase, fill: float = -np.inf):
    """``scores`` [..., vocabulary] with the ids past the tokenizer's set to ``fill`` (a copy only if needed)."""
    n = known_ids(tokenizer)
    if scores.shape[-1] <= n:
        return scores
    if isinstance(scores, np.ndarray):
        scores = scores.copy()
        scores[..., n:] = fill
        return scores
    return torch.cat([scores[..., :n], torch.full_like(scores[..., n:], fill)], dim=-1)


class _KnownIdsOnly(LogitsProcessor):
    def __init__(self, tokenizer: PreTrainedTokenizerBase):
        self.tokenizer = tokenizer

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        return without_unknown(scores, self.tokenizer)


def known_ids_only(tokenizer: PreTrainedTokenizerBase) -> dict:
    """Keyword arguments for ``model.generate`` that keep it to ids the tokenizer knows."""
    return {"logits_processor": LogitsProcessorList([_KnownIdsOnly(tokenizer)])}
