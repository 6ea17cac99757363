"""Checks a page shows as a verdict: computed here, so the page shows success only when it holds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attnviz.masks import causal_mask
from attnviz.result import AttentionResult

ROW_SUM_TOLERANCE = 1e-4


@dataclass(frozen=True)
class CausalCheck:
    """Did the causal mask hold in one layer: nothing above the diagonal, every row a distribution?"""

    max_above_diagonal: float  # largest weight on a future key (exactly 0 when the mask held)
    max_row_error: float  # largest |row sum - 1|

    @property
    def holds(self) -> bool:
        return self.max_above_diagonal == 0.0 and self.max_row_error <= ROW_SUM_TOLERANCE


def causal_check(maps: np.ndarray) -> CausalCheck:
    """``maps`` is ``[head, query, key]`` (or ``[query, key]``) of a decoder's self-attention."""
    future = causal_mask(*maps.shape[-2:])
    above = float(np.abs(maps[..., future]).max(initial=0.0))
    error = float(np.abs(maps.sum(-1) - 1).max(initial=0.0))
    return CausalCheck(above, error)


@dataclass(frozen=True)
class NextTokenRow:
    prefix: str  # the text the decoder has read so far
    next_token: str  # its greedy guess for what comes next


def next_token_table(result: AttentionResult) -> list[NextTokenRow]:
    """Decoder-only models: after each prefix, the token the model would write next."""
    if result.decoder_input is not None or result.output_tokens is None:
        return []
    labels = result.source.labels
    return [NextTokenRow(" ".join(labels[: i + 1]), result.output_tokens.labels[i]) for i in range(len(labels))]
