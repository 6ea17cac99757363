"""Scaled dot-product attention from scratch, keeping every intermediate step."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attnviz.masks import causal_mask


@dataclass(frozen=True)
class AttentionSteps:
    """Every matrix on the way from X to the output, for one head.

    Shapes: ``x`` [n, d_model]; ``q``/``k`` [n, d_k]; ``v`` [n, d_v]; ``scores``, ``scaled``,
    ``masked``, ``weights`` [n, n]; ``output`` [n, d_v]. ``mask`` is True where attention is
    forbidden (the future, for causal attention).
    """

    x: np.ndarray
    w_q: np.ndarray
    w_k: np.ndarray
    w_v: np.ndarray
    q: np.ndarray
    k: np.ndarray
    v: np.ndarray
    scores: np.ndarray  # Q K^T
    scale: float  # 1/sqrt(d_k), or 1.0 when scaling is off
    scaled: np.ndarray  # Q K^T * scale
    mask: np.ndarray
    masked: np.ndarray  # scaled with -inf where masked
    weights: np.ndarray  # row-wise softmax
    output: np.ndarray  # weights V


def softmax_rows(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax that accepts -inf (exp(-inf) = 0); subtracting the row max keeps exp finite."""
    shifted = scores - scores.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def attention_steps(
    x: np.ndarray,
    w_q: np.ndarray | None = None,
    w_k: np.ndarray | None = None,
    w_v: np.ndarray | None = None,
    *,
    scale: bool = True,
    causal: bool = False,
) -> AttentionSteps:
    """softmax(mask(X W_q (X W_k)^T / sqrt(d_k))) X W_v, keeping each step.

    Missing projection matrices are the identity (Q = K = V = X), which is how attention is often
    first explained. ``x`` rows are tokens.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or min(x.shape) == 0:
        raise ValueError("x must be a non-empty [tokens, dims] matrix")
    identity = np.eye(x.shape[1])
    w_q = identity if w_q is None else np.asarray(w_q, dtype=np.float64)
    w_k = identity if w_k is None else np.asarray(w_k, dtype=np.float64)
    w_v = identity if w_v is None else np.asarray(w_v, dtype=np.float64)
    if w_q.shape != w_k.shape or w_q.shape[0] != x.shape[1] or w_v.shape[0] != x.shape[1]:
        raise ValueError("W_q and W_k must be [d_model, d_k] and W_v [d_model, d_v]")
    q, k, v = x @ w_q, x @ w_k, x @ w_v
    scores = q @ k.T
    factor = 1.0 / np.sqrt(q.shape[1]) if scale else 1.0
    scaled = scores * factor
    mask = causal_mask(len(x)) if causal else np.zeros((len(x), len(x)), dtype=bool)
    masked = np.where(mask, -np.inf, scaled)
    weights = softmax_rows(masked)
    return AttentionSteps(x=x, w_q=w_q, w_k=w_k, w_v=w_v, q=q, k=k, v=v, scores=scores, scale=factor,
                          scaled=scaled, mask=mask, masked=masked, weights=weights, output=weights @ v)
