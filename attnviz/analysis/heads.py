"""Combining heads and describing what each head attends to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from attnviz.analysis.tokens import renormalise_rows
from attnviz.masks import causal_mask
from attnviz.result import AttentionKind, AttentionResult
from attnviz.roles.entropy import relative_entropy, row_entropy
from attnviz.roles.report import assign
from attnviz.roles.scores import TokenFacts, baselines, score_self_attention
from attnviz.roles.vocabulary import NO_ROLE, ORDER, THRESHOLDS, PrimaryRole

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


@dataclass(frozen=True)
class HeadProfile:
    """Summary statistics of one head's map, averaged over query rows.

    ``entropy`` is in bits; ``relative_entropy`` divides each row's entropy by the most that row
    could have (log2 of the keys it may see), so a uniform causal head scores 1 although its
    first rows see only one or two keys.
    """

    layer: int
    head: int
    entropy: float
    relative_entropy: float
    previous_weight: float  # mean weight on the key right before the query
    self_weight: float  # ... on the query's own position
    next_weight: float  # ... on the key right after
    first_weight: float  # ... on the first key
    special_weight: float  # ... on special tokens ([CLS], [SEP], </s> ...)
    role: PrimaryRole  # the primary role (:func:`attnviz.roles.report.assign` of the role scores of this map)
    scores: dict[str, float] = field(default_factory=dict)  # role -> score on this map
    roles: tuple[str, ...] = ()  # every role that holds on this map (the primary first; sinks such as [CLS] last)
    baselines: dict[str, float] = field(default_factory=dict)  # role -> score on shuffled key positions

    def closest(self) -> str:
        """The role the head comes nearest to holding: its primary role, else the best score over its threshold."""
        if self.roles:
            return self.roles[0]
        return max(self.scores, key=lambda r: self.scores[r] / THRESHOLDS[r]) if self.scores else NO_ROLE


def _diagonal_mean(matrix: np.ndarray, offset: int) -> float:
    values = np.diagonal(matrix, offset=offset)
    return float(values.mean()) if values.size else 0.0


def head_profile(matrix: np.ndarray, special: Sequence[bool], layer: int, head: int, *,
                 causal: bool = False, token_ids: Sequence[int] | None = None) -> HeadProfile:
    """Describe one square self-attention map ``[query, key]`` (``causal``: a decoder's masked map).

    ``role`` is the head's primary role on this map; ``token_ids`` let the duplicate and induction
    roles see repeated tokens (without them every token counts as distinct).
    """
    special_mask = np.asarray(special, dtype=bool)
    keys_seen = (~causal_mask(*matrix.shape)).sum(-1) if causal else np.full(len(matrix), matrix.shape[-1])
    relative, spread = relative_entropy(matrix, keys_seen), keys_seen >= 2  # rows with one key have no spread
    relative_mean = float(relative.sum() / spread.sum()) if spread.any() else 0.0
    stats = {
        "previous_weight": _diagonal_mean(matrix, -1),
        "self_weight": _diagonal_mean(matrix, 0),
        "next_weight": _diagonal_mean(matrix, 1),
        "first_weight": float(matrix[:, 0].mean()),
        "special_weight": float(matrix[:, special_mask].sum(-1).mean()) if special_mask.any() else 0.0,
    }
    if causal:  # row 0 of a causal map can only look at itself: it says nothing about the head
        rows = slice(1, None) if len(matrix) > 1 else slice(None)
        stats["self_weight"] = float(np.diagonal(matrix)[rows].mean())
        stats["first_weight"] = float(matrix[rows, 0].mean())
        if special_mask.any():
            stats["special_weight"] = float(matrix[rows][:, special_mask].sum(-1).mean())
    facts = TokenFacts(tuple(token_ids) if token_ids is not None else tuple(range(len(matrix))),
                       tuple(bool(x) for x in special_mask), causal)
    scores = {r: float(v[0, 0]) for r, v in score_self_attention(np.asarray(matrix)[None, None], facts).items()}
    base = baselines(facts)
    roles = assign(scores, base)
    return HeadProfile(layer=layer, head=head, entropy=float(row_entropy(matrix).mean()),
                       relative_entropy=relative_mean, role=roles[0] if roles else NO_ROLE, scores=scores,
                       roles=roles, baselines={r: float(v) for r, v in base.items()}, **stats)


def visible_map(result: AttentionResult, kind: AttentionKind, layer: int, head: int,
                positions: Sequence[int]) -> np.ndarray:
    """One head's map restricted to the shown tokens, rows renormalised: what a heatmap that hides
    special tokens shows, so statistics beside it describe the same picture."""
    matrix = result.attention(kind, layer, head)[np.ix_(list(positions), list(positions))]
    return renormalise_rows(matrix)


def profile_shown_head(result: AttentionResult, kind: AttentionKind, layer: int, head: int,
                       positions: Sequence[int]) -> HeadProfile:
    """The profile of a self-attention head over exactly the tokens a heatmap shows."""
    seq = result.query_tokens(kind)
    special = [seq.special[p] for p in positions]
    return head_profile(visible_map(result, kind, layer, head, positions), special, layer, head,
                        causal=kind == "decoder", token_ids=[seq.token_ids[p] for p in positions])


def strongest_links(matrix: np.ndarray, row_labels: Sequence[str], col_labels: Sequence[str], top: int = 5
                    ) -> list[tuple[str, str, float]]:
    """The ``top`` largest off-diagonal weights as (query, key, weight)."""
    scores = np.array(matrix, dtype=np.float32)  # a copy: the diagonal is set aside
    if scores.shape[0] == scores.shape[1]:
        np.fill_diagonal(scores, -1.0)
    scores = np.nan_to_num(scores, nan=-1.0, copy=False)
    top = min(top, scores.size)
    if top <= 0:
        return []
    # The top cells lie in rows whose largest weight reaches the top-th largest row maximum (those rows alone
    # hold top cells at least that large): search only them, not 16 M cells of a 4,096-token map.
    row_best = scores.max(axis=1)
    enough = min(top, row_best.size)
    in_rows = np.flatnonzero(row_best >= np.partition(row_best, -enough)[-enough])
    candidates = scores[in_rows]
    flat = candidates.ravel()
    best = np.argpartition(flat, -top)[-top:] if top < flat.size else np.arange(flat.size)
    order = best[np.argsort(flat[best], kind="stable")[::-1]]
    rows, cols = np.unravel_index(order, candidates.shape)
    rows = in_rows[rows]
    return [(row_labels[r], col_labels[c], float(matrix[r, c])) for r, c in zip(rows, cols) if scores[r, c] >= 0]


@dataclass(frozen=True)
class BestHead:
    layer: int  # the model's layer number
    head: int
    weight: float


def best_head_for_link(result: AttentionResult, kind: AttentionKind, query: int, key: int,
                       visible: Sequence[int] | None = None) -> BestHead:
    """The captured head where ``query`` puts the most weight on ``key``, by the model's layer number.

    With ``visible`` the row is first restricted to those key positions and renormalised (so weight
    parked on [CLS]/[SEP] does not count).
    """
    rows = result.arrays[kind][:, :, query, :]  # [captured layer, head, key]
    if visible is not None:
        rows = rows[..., list(visible)]
        rows = renormalise_rows(rows)
        key = list(visible).index(key)
    index, head = np.unravel_index(np.nanargmax(rows[..., key]), rows.shape[:2])
    return BestHead(result.layers[kind][int(index)], int(head), float(rows[index, head, key]))


def distinct_heads(profiles: Sequence[HeadProfile], count: int = 3) -> list[HeadProfile]:
    """Up to ``count`` heads with different primary roles, each the clearest example of its role."""
    best: dict[str, HeadProfile] = {}
    for profile in profiles:
        current = best.get(profile.role)
        if current is None or _strength(profile) > _strength(current):
            best[profile.role] = profile
    return [best[r] for r in (*ORDER, NO_ROLE) if r in best][:count]


def _strength(profile: HeadProfile) -> float:
    """How clearly a head shows its primary role (for "none": how sharp it is)."""
    return profile.scores.get(profile.role, -profile.relative_entropy)
