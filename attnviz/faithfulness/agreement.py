"""Spearman rank agreement between two methods' scores over the same input tokens."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's ρ: Pearson correlation of the ranks (ties share their mean rank). NaN when either side is
    constant or fewer than three tokens are compared (a rank order of two says almost nothing)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.size < 3:
        return float("nan")
    ra, rb = rankdata(a) - (a.size + 1) / 2, rankdata(b) - (b.size + 1) / 2
    scale = np.sqrt((ra * ra).sum() * (rb * rb).sum())
    return float((ra * rb).sum() / scale) if scale > 0 else float("nan")


def magnitude(scores: np.ndarray) -> np.ndarray:
    """What is ranked: how much a token matters, whichever way it pushes (attention rows are ≥ 0 already)."""
    return np.abs(np.asarray(scores, dtype=np.float64))
