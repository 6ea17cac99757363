"""The causal mask, defined once: capture, views, lessons and checks all import it from here (the capture core
imports nothing from analysis, so it lives beside result.py)."""

from __future__ import annotations

import numpy as np


def causal_mask(n_query: int, n_key: int | None = None) -> np.ndarray:
    """True where attention is forbidden: keys in the query's future.

    Bottom-right aligned, so with fewer queries than keys (a decoder continuing a cached prefix)
    query i sits at absolute position ``n_key - n_query + i``.
    """
    n_key = n_query if n_key is None else n_key
    return ~np.tril(np.ones((n_query, n_key), dtype=bool), k=n_key - n_query)
