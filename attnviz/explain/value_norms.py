"""Value-norm-weighted attention (Kobayashi et al., 2020): ``‖α_ij · v_j W_O^h‖`` per head.

A weight says how much a query looks at a key; what reaches the output is the weight times the
key's value vector, mapped by the head's slice of the output projection W_O. A large weight on a
key whose transformed value is tiny (often [CLS], [SEP] or a full stop) moves almost nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attnviz.capturing.run import capture
from attnviz.errors import NoAttentionError
from attnviz.models.loading import LoadedModel
from attnviz.models.weights import exposes_weights, output_projection
from attnviz.result import AttentionKind, AttentionResult


@dataclass(frozen=True)
class ValueWeighted:
    """One layer: ``maps[h, i, j] = α_ij · ‖v_j W_O^h‖`` and ``norms[h, j] = ‖v_j W_O^h‖``."""

    kind: AttentionKind
    layer: int
    result: AttentionResult  # the capture the maps come from (tokens, weights)
    weights: np.ndarray  # [head, query, key]
    norms: np.ndarray  # [head, key]
    maps: np.ndarray  # [head, query, key]

    def combined(self, heads: tuple[int, ...]) -> np.ndarray:
        """Heads together: the norm of the sum of their vectors needs the vectors; this is the sum of norms."""
        return self.maps[list(heads)].sum(axis=0)


def transformed_value_norms(values: np.ndarray, w_o: np.ndarray, heads: int) -> np.ndarray:
    """``‖v_j W_O^h‖`` [head, key]: ``values`` [kv_heads, key, head_dim], ``w_o`` [heads·head_dim, d_model]."""
    kv_heads, _, head_dim = values.shape
    group = heads // kv_heads
    norms = [np.linalg.norm(values[h // group].astype(np.float64) @ w_o[h * head_dim:(h + 1) * head_dim], axis=-1)
             for h in range(heads)]
    return np.stack(norms)


def value_weighted(loaded: LoadedModel, text: str, kind: AttentionKind, layer: int,
                   target: str | None = None, **options) -> ValueWeighted:
    """Capture ``layer`` of ``kind`` attention with its value vectors and weight each map by ‖v W_O‖."""
    if not exposes_weights(loaded, kind):
        raise NoAttentionError(code="no_value_norms", model=loaded.name, kind=kind)
    result = capture(loaded, text, target=target, layers={kind: [layer]}, record_vectors=True, **options)
    vectors = result.vectors[kind][layer]
    w_o, _ = output_projection(loaded, kind, layer)
    weights = result.attention(kind, layer).astype(np.float64)
    norms = transformed_value_norms(vectors.value, w_o, weights.shape[0])
    return ValueWeighted(kind, layer, result, weights, norms, weights * norms[:, None, :])
