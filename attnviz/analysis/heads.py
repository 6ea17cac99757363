"""Combining heads and describing what each head attends to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

HeadMode = Literal["single", "mean", "max"]


def combine_heads(maps: np.ndarray, heads: Sequence[int], mode: HeadMode) -> np.ndarray:
    """``maps[head, query, key]`` -> one ``[query, key]`` map.

    "single" takes the first selected head; "mean" averages the selected heads (still a
    distribution per row); "max" takes the strongest weight of any selected head per cell
    (rows no longer sum to 1, it shows where any head looks).
    """
    if not heads:
        raise ValueError("select at least one head")
    chosen = maps[list(heads)]
    if mode == "single":
        return chosen[0]
    if mode == "mean":
        return chosen.mean(axis=0)
    if mode == "max":
        return chosen.max(axis=0)
    raise ValueError(f"unknown head mode {mode!r}")


Pattern = Literal["previous", "self", "next", "first", "special", "broad", "focused"]


@dataclass(frozen=True)
class HeadProfile:
    """Summary statistics of one head's map (weights averaged over query rows)."""

    layer: int
    head: int
    entropy: float  # mean row entropy in bits (0 = each row looks at one key)
    previous: float  # mean weight on the key right before the query
    self: float  # mean weight on the query's own position
    next: float  # mean weight on the key right after
    first: float  # mean weight on the first key
    special: float  # mean weight on special tokens ([CLS], [SEP], </s> ...)
    pattern: Pattern


def _diagonal_mean(matrix: np.ndarray, offset: int) -> float:
    values = np.diagonal(matrix, offset=offset)
    return float(values.mean()) if values.size else 0.0


def head_profile(matrix: np.ndarray, special: Sequence[bool], layer: int, head: int) -> HeadProfile:
    """Describe one square self-attention map ``[query, key]``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = float(-(np.where(matrix > 0, matrix * np.log2(matrix), 0.0)).sum(-1).mean())
    special_mask = np.asarray(special, dtype=bool)
    stats = {
        "previous": _diagonal_mean(matrix, -1),
        "self": _diagonal_mean(matrix, 0),
        "next": _diagonal_mean(matrix, 1),
        "first": float(matrix[:, 0].mean()),
        "special": float(matrix[:, special_mask].sum(-1).mean()) if special_mask.any() else 0.0,
    }
    name, value = max(stats.items(), key=lambda kv: kv[1])
    if value >= 0.5:
        pattern: Pattern = "first" if name == "first" and not special_mask[:1].any() else name  # type: ignore[assignment]
        if name == "first" and special_mask[:1].any():
            pattern = "special"
    else:
        pattern = "broad" if entropy > 0.6 * np.log2(max(2, matrix.shape[-1])) else "focused"
    return HeadProfile(layer=layer, head=head, entropy=entropy, pattern=pattern, **stats)


def strongest_links(matrix: np.ndarray, row_labels: Sequence[str], col_labels: Sequence[str], top: int = 5
                    ) -> list[tuple[str, str, float]]:
    """The ``top`` largest off-diagonal weights as (query, key, weight)."""
    scores = matrix.copy().astype(float)
    if scores.shape[0] == scores.shape[1]:
        np.fill_diagonal(scores, -1.0)
    order = np.argsort(scores, axis=None)[::-1][:top]
    rows, cols = np.unravel_index(order, scores.shape)
    return [(row_labels[r], col_labels[c], float(matrix[r, c])) for r, c in zip(rows, cols) if scores[r, c] >= 0]


def best_head_for_link(maps: np.ndarray, query: int, key: int, visible: Sequence[int] | None = None
                       ) -> tuple[int, int, float]:
    """(layer, head, weight) where ``query`` puts the most weight on ``key``.

    ``maps`` is ``[layer, head, query, key]``; with ``visible`` the row is first restricted to those
    key positions and renormalised (so weight parked on [CLS]/[SEP] does not count).
    """
    rows = maps[:, :, query, :]
    if visible is not None:
        rows = rows[..., list(visible)]
        rows = rows / np.clip(rows.sum(-1, keepdims=True), 1e-12, None)
        key = list(visible).index(key)
    layer, head = np.unravel_index(np.argmax(rows[..., key]), rows.shape[:2])
    return int(layer), int(head), float(rows[layer, head, key])


def distinct_heads(profiles: Sequence[HeadProfile], count: int = 3) -> list[HeadProfile]:
    """Up to ``count`` heads with different patterns, each the clearest example of its pattern."""
    strength = {"previous": lambda p: p.previous, "self": lambda p: p.self, "next": lambda p: p.next,
                "special": lambda p: p.special, "first": lambda p: p.first, "broad": lambda p: p.entropy,
                "focused": lambda p: -p.entropy}
    best: dict[str, HeadProfile] = {}
    for profile in profiles:
        current = best.get(profile.pattern)
        if current is None or strength[profile.pattern](profile) > strength[profile.pattern](current):
            best[profile.pattern] = profile
    order = ["previous", "next", "self", "focused", "broad", "special", "first"]
    return [best[p] for p in order if p in best][:count]
