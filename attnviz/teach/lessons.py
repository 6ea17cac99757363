"""The numbers the lesson pages show, computed here so the pages only wire widgets to them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attnviz.errors import InputTextError
from attnviz.result import AttentionResult
from attnviz.teach.derivation import Derivation
from attnviz.teach.scratch import AttentionSteps, attention_steps


def tiny_causal_demo(seed: int = 7, n_tokens: int = 4, dims: int = 3) -> AttentionSteps:
    """Causal attention on a small random X (one decimal), the lesson's first picture."""
    return attention_steps(np.random.default_rng(seed).normal(size=(n_tokens, dims)).round(1), causal=True)


def prefix_change(full: AttentionResult, prefix: AttentionResult, layer: int) -> float:
    """Largest change of a decoder's weights on the first tokens when later tokens are added (0 under a causal mask)."""
    n = len(prefix.source)
    return float(np.abs(full.attention("decoder", layer)[:, :n, :n] - prefix.attention("decoder", layer)).max())


def playground_steps(x, *, use_projections: bool, seed: int, scale: bool, causal: bool) -> AttentionSteps:
    """Every step for an edited embedding matrix; random projections (seeded) when asked for."""
    x = np.asarray(x, dtype=float)
    if not np.isfinite(x).all():
        raise InputTextError(code="bad_matrix")
    projections = [None, None, None]
    if use_projections:
        rng = np.random.default_rng(int(seed))
        projections = [rng.normal(scale=0.8, size=(x.shape[1], x.shape[1])).round(2) for _ in range(3)]
    return attention_steps(x, *projections, scale=scale, causal=causal)


@dataclass(frozen=True)
class Contribution:
    key: int  # position of the key token
    weight: float
    weighted_value: np.ndarray  # weight × v_key, first dimensions


def value_contributions(derivation: Derivation, query: int, top: int = 4, dims: int = 8
                        ) -> tuple[list[Contribution], np.ndarray]:
    """The ``top`` keys that add most to ``query``'s output, and the output itself (first ``dims`` dimensions)."""
    row = derivation.weights[query]
    keys = np.argsort(row)[::-1][:top]
    parts = [Contribution(int(j), float(row[j]), row[j] * derivation.v[j][:dims]) for j in keys]
    return parts, derivation.head_output[query][:dims]
