"""Role scores of attention heads: one formula per role, computed for all heads at once.

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
(:func:`baselines`), one number per role and sequence.

``broad`` is the mean normalised entropy of the rows: ``H(A[i]) / log(n_i)`` with ``n_i`` the number of
keys row ``i`` may see (``i + 1`` under a causal mask); rows with one key are skipped.

Cross-attention heads get ``first``, ``special``, ``broad`` and ``monotonic``: the mean peak weight
(over non-special source tokens) times the fraction of consecutive target rows whose attention centroid
does not move backwards by more than half a token.

Shapes: maps ``[layer, head, query, key]`` (float), token facts per position.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SELF_ROLES: tuple[str, ...] = (
    "first", "special", "previous", "next", "self", "local", "duplicate", "induction", "broad",
)
CROSS_ROLES: tuple[str, ...] = ("first", "special", "monotonic", "broad")
LOCAL_WINDOW = 2  # |i - j| <= 2, self included
_LINEAR = ("first", "special", "previous", "next", "self", "local", "duplicate", "induction")


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


def _allowed(n: int, causal: bool) -> np.ndarray:
    return np.tril(np.ones((n, n), bool)) if causal else np.ones((n, n), bool)


def role_masks(facts: TokenFacts) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Numerator and denominator masks of the linear roles: (roles, num [R, Q, K], den [R, Q, K]).

    Rows outside a role's row set R_r are all-zero in both masks.
    """
    n = len(facts)
    ids = np.asarray(facts.token_ids)
    special = np.asarray(facts.special, bool)
    sink = special.copy()
    sink[0] = True  # position 0 is where heads park, whether or not it is a special token
    allowed = _allowed(n, facts.causal)
    plain = allowed & ~sink[None, :]  # the keys a head can use once its sinks are set aside
    rows = ~special  # queries that are words
    q = np.arange(n)[:, None]
    k = np.arange(n)[None, :]
    same = (ids[:, None] == ids[None, :]) & ~special[None, :] & ~special[:, None]
    after_same = np.zeros((n, n), bool)  # key j follows an earlier copy of the query's token: ids[j-1] == ids[i]
    after_same[:, 1:] = same[:, :-1] & (k[:, 1:] - 1 < q)
    other_special = allowed & special[None, :] & (k != 0)
    masks = {
        "first": (allowed & (k == 0), allowed, rows & (np.arange(n) >= 1)),
        "special": (other_special, allowed, rows & other_special.any(1)),
        "previous": (plain & (k == q - 1), plain, rows & (plain & (k == q - 1)).any(1)),
        "next": (plain & (k == q + 1), plain, rows & (plain & (k == q + 1)).any(1)),
        "self": (plain & (k == q), plain, rows & (plain & (k == q)).any(1)),
        "local": (plain & (np.abs(k - q) <= LOCAL_WINDOW), plain, rows & plain.any(1)),
        "duplicate": (plain & same & (k < q), plain, rows & (plain & same & (k < q)).any(1)),
        "induction": (plain & after_same & ~same & (k != q), plain,
                      rows & (plain & after_same & ~same & (k != q)).any(1)),
    }
    roles = tuple(r for r in _LINEAR if not (r == "next" and facts.causal))
    num = np.stack([masks[r][0] & masks[r][2][:, None] for r in roles]).astype(np.float32)
    den = np.stack([masks[r][1] & masks[r][2][:, None] for r in roles]).astype(np.float32)
    return roles, num, den


def _normalised_entropy(maps: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Mean over rows with >= 2 allowed keys of H(row) / log(#allowed keys): [layer, head]."""
    counts = allowed.sum(1)
    keep = counts >= 2
    if not keep.any():
        return np.zeros(maps.shape[:2], np.float32)
    p = maps[:, :, keep, :].astype(np.float32, copy=False)
    plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    h = -plogp.sum(-1) / np.log(counts[keep])[None, None, :]
    return np.clip(h.mean(-1), 0.0, 1.0)


def linear_parts(maps: np.ndarray, facts: TokenFacts) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Numerators and denominators of the linear roles: (roles, num [layer, head, R], den [layer, head, R]).

    Kept apart so a corpus can sum them over many texts before dividing (a mass-weighted mean).
    """
    if maps.ndim != 4 or maps.shape[-1] != maps.shape[-2] or maps.shape[-1] != len(facts):
        raise ValueError(f"maps must be [layer, head, {len(facts)}, {len(facts)}], not {tuple(maps.shape)}")
    roles, num_mask, den_mask = role_masks(facts)
    flat = np.nan_to_num(maps.reshape(maps.shape[0] * maps.shape[1], -1).astype(np.float32, copy=False))
    both = np.concatenate([num_mask, den_mask]).reshape(2 * len(roles), -1)  # [2R, Q*K]
    product = flat @ both.T  # [layer*head, 2R]
    num = product[:, : len(roles)].reshape(*maps.shape[:2], len(roles))
    den = product[:, len(roles):].reshape(*maps.shape[:2], len(roles))
    return roles, num, den


def _divide(num: np.ndarray, den: np.ndarray, n_rows: np.ndarray) -> np.ndarray:
    """num/den where the rows kept at least 5 % of one row's mass on average, else 0."""
    enough = den >= 0.05 * np.maximum(n_rows, 1)
    return np.where(enough, num / np.where(den > 0, den, 1.0), 0.0)


def score_self_attention(maps: np.ndarray, facts: TokenFacts) -> dict[str, np.ndarray]:
    """Role scores of self-attention maps [layer, head, n, n]: role -> [layer, head] in [0, 1]."""
    roles, num, den = linear_parts(maps, facts)
    _, _, den_mask = role_masks(facts)
    n_rows = den_mask.any(-1).sum(-1)  # rows per role
    scores = {r: np.clip(_divide(num[..., i], den[..., i], n_rows[i]), 0.0, 1.0) for i, r in enumerate(roles)}
    scores["broad"] = _normalised_entropy(maps, _allowed(len(facts), facts.causal))
    return scores


def baselines(facts: TokenFacts) -> dict[str, float]:
    """Each linear role's expected score when the keys of every row are shuffled: the uniform-map score."""
    n = len(facts)
    allowed = _allowed(n, facts.causal)
    uniform = (allowed / allowed.sum(1, keepdims=True))[None, None].astype(np.float32)
    scores = score_self_attention(uniform, facts)
    out = {r: float(v[0, 0]) for r, v in scores.items()}
    out["broad"] = 0.0  # entropy does not change when keys are shuffled: broad has a threshold only
    return out


def score_cross_attention(maps: np.ndarray, source_special: tuple[bool, ...]) -> dict[str, np.ndarray]:
    """Role scores of cross-attention maps [layer, head, target, source]."""
    n_target, n_source = maps.shape[-2:]
    special = np.asarray(source_special, bool)
    if special.shape != (n_source,):
        raise ValueError(f"source_special needs {n_source} entries, not {special.shape}")
    m = np.nan_to_num(maps.astype(np.float32, copy=False))
    allowed = np.ones((n_target, n_source), bool)
    scores = {
        "first": m[..., 0].mean(-1),
        "special": m[..., special & (np.arange(n_source) != 0)].sum(-1).mean(-1) if special[1:].any()
        else np.zeros(m.shape[:2], np.float32),
        "broad": _normalised_entropy(m, allowed),
    }
    words = ~special
    if words.sum() >= 2 and n_target >= 2:
        w = m[..., words]
        mass = w.sum(-1, keepdims=True)
        r = w / np.where(mass > 0, mass, 1.0)
        centroid = (r * np.arange(words.sum())).sum(-1)  # [layer, head, target]
        forward = (np.diff(centroid, axis=-1) >= -0.5).mean(-1)
        scores["monotonic"] = r.max(-1).mean(-1) * forward
    else:
        scores["monotonic"] = np.zeros(m.shape[:2], np.float32)
    return {k: np.clip(v, 0.0, 1.0) for k, v in scores.items()}


def cross_baselines(n_target: int, source_special: tuple[bool, ...]) -> dict[str, float]:
    n_source = len(source_special)
    uniform = np.full((1, 1, n_target, n_source), 1.0 / n_source, np.float32)
    out = {k: float(v[0, 0]) for k, v in score_cross_attention(uniform, source_special).items()}
    out["broad"] = 0.0
    return out
