"""Role scores of attention heads: one formula per role, for every head of a padded batch at once.

Every self-attention role except ``broad`` is *linear* in the weights: a head's score is the attention
mass that falls on the role's keys, summed over the rows where the role is defined, divided by the mass
those rows put on the keys the role may choose from::

    score_r = sum_i sum_{j in K_r(i)} A[i, j] / sum_i sum_{j in D_r(i)} A[i, j]      (i over rows R_r)

``first`` and ``special`` (attention sinks) use all allowed keys as D, so they are plain mean masses.
All other positional and content roles use D = the allowed keys *minus the sinks* (position 0 and the
tokenizer's special tokens): they describe where a head looks once its parking spot is set aside, so a
head that parks 80 % on ``<s>`` and sends the rest to the previous word is reported as both a sink and a
previous-token head, instead of every GPT-2 head reading "first/positional". Rows whose non-sink mass is
tiny contribute little, so a pure sink head gets no spurious secondary role.

Because the scores are linear, the expected score when each row's keys are shuffled at random among the
allowed keys equals the score of the uniform map over those keys; that is the shuffled-position baseline
(:func:`baselines`), one number per role and sequence. Over a corpus the numerators and denominators
are summed over texts before dividing (the census), so one text and a corpus use the same formula.

``broad`` is the mean normalised entropy of the rows: ``H(A[i]) / log(n_i)`` with ``n_i`` the number of
keys row ``i`` may see (``i + 1`` under a causal mask); rows with one key are skipped.

Cross-attention heads get ``first``, ``special``, ``broad`` and ``monotonic``: the mean peak weight
(over non-special source tokens) times the fraction of consecutive target rows whose attention centroid
does not move backwards by more than half a token.

The batched functions take weights ``(B, H, Q, K)`` as torch tensors on any device with
:class:`BatchFacts` on the same device (right padding: a text's tokens are a prefix of its row), and
reduce each text to a few numbers per head without leaving the device; the numpy functions
(:func:`score_self_attention` ...) are the same code on a batch of one.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from attnviz.roles.entropy import relative_entropy
from attnviz.roles.vocabulary import CROSS_LINEAR, CROSS_ROLES, LINEAR_ROLES, ROLE, kind_roles

LOCAL_WINDOW = 2  # |i - j| <= 2, self included
_NEAR = tuple(range(-LOCAL_WINDOW, LOCAL_WINDOW + 1))  # the diagonals local, previous, self and next read


@dataclass(frozen=True)
class TokenFacts:
    """What the role formulas need to know about one sequence.

    token_ids: the id at each position (duplicate and induction compare them).
    special: True where the tokenizer added the token ([CLS], [SEP], <s>, </s>, <pad>).
    causal: True for decoder self-attention (row i sees keys 0..i).
    """

    token_ids: tuple[int, ...]
    special: tuple[bool, ...]
    causal: bool

    def __post_init__(self) -> None:
        if len(self.token_ids) != len(self.special):
            raise ValueError("token_ids and special must have one entry per position")

    def __len__(self) -> int:
        return len(self.token_ids)


@dataclass(frozen=True)
class BatchFacts:
    """Token facts of a right-padded batch as tensors: ``[B, Q]`` for the query side, ``[B, K]`` for keys.

    Self-attention has the same sequence on both sides; cross-attention has target rows and source keys.
    """

    query_ids: torch.Tensor  # (B, Q) long
    query_special: torch.Tensor  # (B, Q) bool
    query_length: torch.Tensor  # (B,) long: real tokens of each text
    key_ids: torch.Tensor  # (B, K)
    key_special: torch.Tensor  # (B, K)
    key_length: torch.Tensor  # (B,)
    causal: bool
    cross: bool
    query_real: torch.Tensor  # (B, Q) bool: real tokens, not padding
    key_real: torch.Tensor  # (B, K) bool

    @classmethod
    def padded(cls, query: Sequence[tuple[Sequence[int], Sequence[bool]]],
               key: Sequence[tuple[Sequence[int], Sequence[bool]]] | None = None, *, causal: bool = False,
               widths: tuple[int, int] | None = None, device: torch.device | str = "cpu") -> BatchFacts:
        """From (token ids, special flags) per text; ``key=None`` for self-attention."""
        cross = key is not None
        key = query if key is None else key

        def side(seqs, width):
            width = width or max(len(ids) for ids, _ in seqs)
            ids = torch.zeros((len(seqs), width), dtype=torch.long)
            special = torch.zeros((len(seqs), width), dtype=torch.bool)
            for row, (i, s) in enumerate(seqs):
                ids[row, : len(i)] = torch.as_tensor(list(i), dtype=torch.long)
                special[row, : len(s)] = torch.as_tensor(list(s), dtype=torch.bool)
            length = torch.tensor([len(i) for i, _ in seqs], dtype=torch.long)
            return ids.to(device), special.to(device), length.to(device)

        q_width, k_width = widths or (None, None)
        q = side(query, q_width)
        k = side(key, k_width) if cross else q
        real = [torch.arange(ids.shape[1], device=ids.device)[None] < length[:, None] for ids, _, length in (q, k)]
        return cls(*q, *k, causal=causal and not cross, cross=cross, query_real=real[0], key_real=real[1])

    @classmethod
    def of(cls, facts: TokenFacts) -> BatchFacts:
        return cls.padded([(facts.token_ids, facts.special)], causal=facts.causal)


def sink_keys(facts: BatchFacts) -> torch.Tensor:
    """Where heads park: position 0 and the tokenizer's special tokens, ``(B, K)`` bool."""
    sink = facts.key_special.clone()
    sink[:, 0] = True
    return sink & facts.key_real


def allowed_keys(facts: BatchFacts) -> torch.Tensor:
    """``(B, Q, K)`` bool: the real keys each query row may see (``j <= i`` under a causal mask)."""
    allowed = facts.key_real[:, None, :].expand(-1, facts.query_ids.shape[1], -1)
    if facts.causal:
        n_q, n_k = facts.query_ids.shape[1], facts.key_ids.shape[1]
        allowed = allowed & torch.ones((n_q, n_k), dtype=torch.bool, device=allowed.device).tril()[None]
    return allowed


@functools.lru_cache(maxsize=64)
def _diagonal_index(n_q: int, offsets: tuple[int, ...], left: int, device: torch.device) -> torch.Tensor:
    return (torch.arange(n_q, device=device)[:, None] + torch.as_tensor(offsets, device=device)[None, :] + left)


def diagonals(weights: torch.Tensor, offsets: Sequence[int]) -> torch.Tensor:
    """``(..., Q, K)`` -> ``(..., Q, len(offsets))``: the weight at key ``i + d`` of each row ``i`` (0 outside)."""
    n_q = weights.shape[-2]
    left, right = max(0, -min(offsets)), max(0, max(offsets) + n_q - weights.shape[-1])
    padded = F.pad(weights, (left, right))
    index = _diagonal_index(n_q, tuple(offsets), left, weights.device)
    return padded.gather(-1, index.expand(*weights.shape[:-2], *index.shape))


@dataclass(frozen=True)
class RoleMasks:
    """The rows and keys of every linear role for one batch, built once and used for every layer."""

    roles: tuple[str, ...]
    allowed: torch.Tensor  # (B, Q, K) bool
    sink: torch.Tensor  # (B, K) float: sink keys
    other_special: torch.Tensor  # (B, K) float: special keys other than position 0
    near: torch.Tensor | None  # (B, Q, 2w+1) float: is key i+d a plain (allowed, non-sink) key, d in -w..w
    duplicate: torch.Tensor | None  # (B, Q, K) float: earlier copies of the query's token
    induction: torch.Tensor | None  # (B, Q, K) float: tokens right after an earlier copy
    rows: torch.Tensor  # (B, Q, R) float: rows where each role is defined
    plain_den: torch.Tensor  # (R,) bool: role divides by the non-sink mass (else by all the mass)
    keys_seen: torch.Tensor  # (B, Q) long: the keys each row may see (0 for padding rows)
    entropy_rows: torch.Tensor  # (B, Q) bool: rows that see at least two keys
    log_allowed: torch.Tensor  # (B, Q): log2 of the keys each row sees (1 where it sees fewer than two)
    real_rows: torch.Tensor  # (B, Q) bool: rows of real tokens (not padding)
    source_words: torch.Tensor | None  # (B, K) bool: non-special source keys (cross-attention)


def role_masks(facts: BatchFacts) -> RoleMasks:
    allowed = allowed_keys(facts)
    sink = sink_keys(facts)
    k_index = torch.arange(facts.key_ids.shape[1], device=sink.device)
    other_special = facts.key_special & facts.key_real & (k_index != 0)[None]
    words = facts.query_real & ~facts.query_special  # rows that are words
    keys_seen = allowed.sum(-1) * facts.query_real
    entropy_rows = keys_seen >= 2
    log_allowed = torch.log2(keys_seen.clamp(min=2).to(torch.float32))
    sees_special = (allowed & other_special[:, None, :]).any(-1)
    if facts.cross:
        rows = {"first": facts.query_real, "special": facts.query_real & sees_special}
        return RoleMasks(CROSS_LINEAR, allowed, sink.float(), other_special.float(), None, None, None,
                         _by_role(rows, CROSS_LINEAR).float(), _plain_den(CROSS_LINEAR, sink.device), keys_seen,
                         entropy_rows, log_allowed, facts.query_real, facts.key_real & ~facts.key_special)
    plain = allowed & ~sink[:, None, :]  # the keys a head can use once its sinks are set aside
    near = diagonals(plain.to(torch.uint8), _NEAR).bool()  # (B, Q, 5)
    q = torch.arange(facts.query_ids.shape[1], device=sink.device)[:, None]
    k = k_index[None, :]
    not_special = ~facts.key_special & facts.key_real
    same = ((facts.query_ids[:, :, None] == facts.key_ids[:, None, :]) & not_special[:, None, :]
            & (~facts.query_special & facts.query_real)[:, :, None])
    after_same = torch.zeros_like(same)  # key j follows an earlier copy of the query's token: ids[j-1] == ids[i]
    after_same[:, :, 1:] = same[:, :, :-1] & (k[:, 1:] - 1 < q)[None]
    duplicate = plain & same & (k < q)[None]
    induction = plain & after_same & ~same & (k != q)[None]
    first_row = (q[:, 0] >= 1)[None]
    at = {d: near[..., i] for i, d in enumerate(_NEAR)}
    rows = {"first": words & first_row, "special": words & sees_special, "previous": words & at[-1],
            "next": words & at[1] & (not facts.causal), "self": words & at[0], "local": words & plain.any(-1),
            "duplicate": words & duplicate.any(-1), "induction": words & induction.any(-1)}
    return RoleMasks(LINEAR_ROLES, allowed, sink.float(), other_special.float(), near.float(), duplicate.float(),
                     induction.float(), _by_role(rows, LINEAR_ROLES).float(), _plain_den(LINEAR_ROLES, sink.device),
                     keys_seen, entropy_rows, log_allowed, facts.query_real, None)


def _by_role(values: dict[str, torch.Tensor], roles: tuple[str, ...]) -> torch.Tensor:
    """One tensor per role stacked on a last axis in the order of ``roles``, whatever order they were built in."""
    return torch.stack([values[r] for r in roles], -1)


def _plain_den(roles: tuple[str, ...], device: torch.device) -> torch.Tensor:
    """Which roles divide by the mass off the sinks: all but the sinks themselves."""
    return torch.tensor([not ROLE[r].sink for r in roles], dtype=torch.bool, device=device)


def wide(tensor: torch.Tensor) -> torch.Tensor:
    """Sums over rows and texts are kept in float64 (float32 on Apple's MPS, which has no float64)."""
    return tensor.to(torch.float32 if tensor.device.type == "mps" else torch.float64)


def _float(weights: torch.Tensor) -> torch.Tensor:
    """Half-precision weights (a GPU model in float16/bfloat16) are reduced in float32."""
    return weights.float() if weights.dtype in (torch.float16, torch.bfloat16) else weights


def allowed_weights(weights: torch.Tensor, masks: RoleMasks) -> torch.Tensor:
    """The weights on allowed keys only, NaN-free: what every formula reads. (B, H, Q, K)"""
    return torch.nan_to_num(_float(weights)) * masks.allowed[:, None]


def linear_rows(masked: torch.Tensor, masks: RoleMasks, near: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each row's numerator and denominator of every linear role, ``(B, H, Q, R)`` each (rows outside a role's
    row set included: weight them with ``masks.rows``), and each row's weight on sinks ``(B, H, Q)``.

    ``masked``: :func:`allowed_weights`; ``near``: its :func:`diagonals` at -2..2 when the caller has them.
    """
    a = masked  # (B, H, Q, K)
    mass = a.sum(-1)  # (B, H, Q)
    sinks = (a @ masks.sink[:, None, :, None])[..., 0]
    specials = (a @ masks.other_special[:, None, :, None])[..., 0]
    num = {"first": a[..., 0], "special": specials}
    if masks.near is not None:  # self-attention: the positional and content roles too
        near = (diagonals(a, _NEAR) if near is None else near) * masks.near[:, None]  # (B, H, Q, 5): plain mass
        centre = LOCAL_WINDOW
        num |= {"previous": near[..., centre - 1], "next": near[..., centre + 1], "self": near[..., centre],
                "local": near.sum(-1), "duplicate": (a * masks.duplicate[:, None]).sum(-1),
                "induction": (a * masks.induction[:, None]).sum(-1)}
    den = torch.where(masks.plain_den, (mass - sinks)[..., None], mass[..., None])
    return _by_role(num, masks.roles), den, sinks


def linear_parts(weights: torch.Tensor, masks: RoleMasks, *, masked: torch.Tensor | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Numerators and denominators of the linear roles summed over each text's rows: ``(B, H, R)`` float64 each.

    ``masked``: :func:`allowed_weights` of ``weights`` when the caller has it already.
    """
    num, den, _ = linear_rows(allowed_weights(weights, masks) if masked is None else masked, masks)
    rows = masks.rows[:, None]  # (B, 1, Q, R)
    return wide((num * rows).sum(2)), wide((den * rows).sum(2))  # rows of one text in float32, texts in float64


def role_rows(masks: RoleMasks) -> torch.Tensor:
    """Rows each role is defined on, per text: ``(B, R)`` float64."""
    return wide(masks.rows.sum(1))


def divide(num, den, n_rows):
    """num/den where the rows kept at least 5 % of one row's mass on average, else 0 (tensors or arrays)."""
    if isinstance(num, torch.Tensor):
        enough = den >= 0.05 * n_rows.clamp(min=1)
        return torch.where(enough, num / torch.where(den > 0, den, torch.ones_like(den)), torch.zeros_like(num))
    enough = den >= 0.05 * np.maximum(n_rows, 1)
    return np.where(enough, num / np.where(den > 0, den, 1.0), 0.0)


def normalised_entropy(weights: torch.Tensor, masks: RoleMasks, *, masked: torch.Tensor | None = None
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row's :func:`~attnviz.roles.entropy.relative_entropy`, ``(B, H, Q)`` (0 on rows that see one key),
    and ``broad``: its mean over the rows that see at least two keys, ``(B, H)`` in [0, 1]."""
    a = allowed_weights(weights, masks) if masked is None else masked
    relative = relative_entropy(a, masks.keys_seen[:, None])
    counts = masks.entropy_rows.sum(-1).clamp(min=1)[:, None]
    return relative, (wide(relative.sum(-1)) / counts).clamp(0.0, 1.0)


def monotonic(weights: torch.Tensor, masks: RoleMasks, *, masked: torch.Tensor | None = None) -> torch.Tensor:
    """Cross-attention ``monotonic`` per text, ``(B, H)``: mean peak weight on source words (renormalised
    over them) times the share of consecutive target rows whose centroid does not move back by > 0.5."""
    a = allowed_weights(weights, masks) if masked is None else masked
    words = masks.source_words  # (B, K)
    rows = masks.real_rows  # (B, Q): real target rows
    w = a * words[:, None, None, :]
    mass = w.sum(-1, keepdim=True)
    r = w / torch.where(mass > 0, mass, torch.ones_like(mass))
    position = ((words.cumsum(-1) - 1) * words).to(r.dtype)  # each word's number among the source words
    centroid = (r * position[:, None, None, :]).sum(-1)  # (B, H, Q)
    pairs = (rows[:, 1:] & rows[:, :-1])[:, None]  # consecutive real rows
    forward = wide(((centroid[..., 1:] - centroid[..., :-1] >= -0.5) & pairs).sum(-1))
    n_pairs = wide(pairs.sum(-1)).clamp(min=1)
    peak = wide((r.max(-1).values * rows[:, None]).sum(-1)) / wide(rows.sum(-1)).clamp(min=1)[:, None]
    defined = (words.sum(-1) >= 2) & (rows.sum(-1) >= 2)
    return torch.where(defined[:, None], peak * forward / n_pairs, torch.zeros_like(peak)).clamp(0.0, 1.0)


def uniform_weights(masks: RoleMasks) -> torch.Tensor:
    """The uniform map over each row's allowed keys, ``(B, 1, Q, K)``: the shuffled-position baseline."""
    allowed = masks.allowed.float()
    return (allowed / allowed.sum(-1, keepdim=True).clamp(min=1))[:, None]


def text_scores(weights: torch.Tensor, masks: RoleMasks) -> dict[str, torch.Tensor]:
    """Every role's score of each text and head: role -> ``(B, H)`` float64 in [0, 1]."""
    masked = allowed_weights(weights, masks)
    num, den = linear_parts(weights, masks, masked=masked)
    n_rows = role_rows(masks)[:, None]
    scores = {r: divide(num[..., i], den[..., i], n_rows[..., i]).clamp(0.0, 1.0) for i, r in enumerate(masks.roles)}
    scores["broad"] = normalised_entropy(weights, masks, masked=masked)[1]
    if masks.source_words is not None:
        scores["monotonic"] = monotonic(weights, masks, masked=masked)
    return scores


# ----------------------------------------------------------------------------------- one text, numpy
def _as_batch(maps: np.ndarray) -> torch.Tensor:
    """``[layer, head, Q, K]`` numpy -> ``(1, layer*head, Q, K)`` float32 tensor."""
    m = np.ascontiguousarray(maps, dtype=np.float32)
    return torch.from_numpy(m.reshape(1, m.shape[0] * m.shape[1], *m.shape[2:]))


def _check(maps: np.ndarray, n: int) -> None:
    if maps.ndim != 4 or maps.shape[-1] != maps.shape[-2] or maps.shape[-1] != n:
        raise ValueError(f"maps must be [layer, head, {n}, {n}], not {tuple(maps.shape)}")


def score_self_attention(maps: np.ndarray, facts: TokenFacts) -> dict[str, np.ndarray]:
    """Role scores of self-attention maps [layer, head, n, n]: role -> [layer, head] in [0, 1]."""
    _check(maps, len(facts))
    scores = text_scores(_as_batch(maps), role_masks(BatchFacts.of(facts)))
    return {r: scores[r][0].reshape(maps.shape[:2]).float().numpy()
            for r in kind_roles(False, facts.causal)}


def self_linear_parts(maps: np.ndarray, facts: TokenFacts) -> tuple[tuple[str, ...], np.ndarray, np.ndarray,
                                                                     np.ndarray]:
    """(roles, num [layer, head, R], den [layer, head, R], rows [R]) of one text, float64."""
    _check(maps, len(facts))
    masks = role_masks(BatchFacts.of(facts))
    num, den = linear_parts(_as_batch(maps), masks)
    shape = (*maps.shape[:2], len(masks.roles))
    return masks.roles, num[0].reshape(shape).numpy(), den[0].reshape(shape).numpy(), role_rows(masks)[0].numpy()


def _baselines(masks: RoleMasks, roles: tuple[str, ...]) -> dict[str, float]:
    scores = text_scores(uniform_weights(masks), masks)
    out = {r: float(scores[r][0, 0]) for r in roles}
    out["broad"] = 0.0  # entropy does not change when keys are shuffled: broad has a threshold only
    return out


def baselines(facts: TokenFacts) -> dict[str, float]:
    """Each linear role's expected score when the keys of every row are shuffled: the uniform-map score."""
    return _baselines(role_masks(BatchFacts.of(facts)), kind_roles(False, facts.causal))


def _cross_masks(n_target: int, source_special: tuple[bool, ...]) -> RoleMasks:
    target = ((0,) * n_target, (False,) * n_target)
    return role_masks(BatchFacts.padded([target], [((0,) * len(source_special), source_special)]))


def score_cross_attention(maps: np.ndarray, source_special: tuple[bool, ...]) -> dict[str, np.ndarray]:
    """Role scores of cross-attention maps [layer, head, target, source]."""
    n_target, n_source = maps.shape[-2:]
    if len(source_special) != n_source:
        raise ValueError(f"source_special needs {n_source} entries, not ({len(source_special)},)")
    scores = text_scores(_as_batch(maps), _cross_masks(n_target, tuple(source_special)))
    return {r: scores[r][0].reshape(maps.shape[:2]).float().numpy() for r in CROSS_ROLES}


def cross_baselines(n_target: int, source_special: tuple[bool, ...]) -> dict[str, float]:
    return _baselines(_cross_masks(n_target, tuple(source_special)), CROSS_ROLES)
