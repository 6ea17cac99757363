"""From role scores to role names: thresholds, the shuffled-position baseline, and the report types."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from attnviz.roles.probe import RepeatProbe
from attnviz.roles.scores import (
    TokenFacts,
    baselines,
    cross_baselines,
    divide,
    score_cross_attention,
    score_self_attention,
    self_linear_parts,
)
from attnviz.roles.vocabulary import CROSS_ROLES, NO_ROLE, ORDER, PROBE_ROLES, ROLE, SELF_ROLES, THRESHOLDS

# A head has a role when score >= THRESHOLDS[role] and score >= baseline + MARGIN.
MARGIN = 0.2


@dataclass(frozen=True)
class HeadRoles:
    """The roles of one head. ``scores``/``baselines``: role -> value in [0, 1]; ``roles``: those that hold."""

    kind: str
    layer: int  # the model's own layer number
    head: int
    scores: dict[str, float]
    baselines: dict[str, float]
    roles: tuple[str, ...]

    @property
    def primary(self) -> str:
        """The first non-sink role, else the sink role, else "none" (no clear role)."""
        return self.roles[0] if self.roles else NO_ROLE


@dataclass(frozen=True)
class RoleReport:
    """Roles of every captured head. ``evidence``: role -> where its scores came from ("text", "probe", "corpus")."""

    model_name: str
    heads: tuple[HeadRoles, ...]
    evidence: dict[str, str] = field(default_factory=dict)

    def of(self, kind: str, layer: int, head: int) -> HeadRoles:
        for h in self.heads:
            if (h.kind, h.layer, h.head) == (kind, layer, head):
                return h
        raise KeyError((kind, layer, head))

    def with_role(self, role: str) -> tuple[HeadRoles, ...]:
        return tuple(h for h in self.heads if role in h.roles)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for h in self.heads:
            out[h.primary] = out.get(h.primary, 0) + 1
        return out


def assign(scores: dict[str, float], base: dict[str, float]) -> tuple[str, ...]:
    """The roles that clear their threshold and beat the shuffled baseline, in ORDER (sinks last), without
    a role that gives way to another one that holds (``local`` to a sharper position, ``broad`` to any)."""
    held = [r for r in ORDER if r in scores and scores[r] >= THRESHOLDS[r] and scores[r] >= base.get(r, 0.0) + MARGIN]
    return tuple(r for r in held if not _gives_way(r, held))


def _gives_way(role: str, held: list[str]) -> bool:
    others = [ROLE[r] for r in held if r != role]
    if ROLE[role].gives_way == "all":
        return bool(others)
    return ROLE[role].gives_way == "family" and any(o.family == ROLE[role].family for o in others)


def heads_from_scores(kind: str, layers: Iterable[int], scores: dict[str, np.ndarray],
                      base: dict[str, float | np.ndarray]) -> list[HeadRoles]:
    """HeadRoles for every (layer index, head) of score arrays [layer, head]; NaN heads are skipped."""
    out = []
    layers = tuple(layers)
    any_role = next(iter(scores.values()))
    for li, layer in enumerate(layers):
        for head in range(any_role.shape[1]):
            s = {r: float(v[li, head]) for r, v in scores.items()}
            if any(np.isnan(x) for x in s.values()):
                continue
            b = {r: float(np.asarray(v)[li, head]) if np.ndim(v) else float(v) for r, v in base.items()}
            out.append(HeadRoles(kind, layer, head, s, b, assign(s, b)))
    return out


def facts_of(sequence, causal: bool) -> TokenFacts:
    """TokenFacts of an attnviz TokenSequence."""
    return TokenFacts(tuple(int(i) for i in sequence.token_ids), tuple(bool(s) for s in sequence.special), causal)


@dataclass(frozen=True)
class CorpusScores:
    """Role scores summed over many texts of one kind: the census's statistics.

    For linear roles the score is sum(num) / sum(den) over all texts (a mass-weighted mean); ``broad``
    and the baselines are means over texts. ``n_texts`` texts contributed.
    """

    kind: str
    layers: tuple[int, ...]
    scores: dict[str, np.ndarray]  # role -> [layer, head]
    baselines: dict[str, float]
    n_texts: int

    def heads(self) -> list[HeadRoles]:
        return heads_from_scores(self.kind, self.layers, self.scores, self.baselines)


def corpus_role_scores(items: Iterable[tuple[np.ndarray, TokenFacts]], kind: str = "encoder",
                       layers: Iterable[int] | None = None) -> CorpusScores:
    """Role scores of a corpus from stacked maps: ``items`` yields (maps [layer, head, n, n], facts) per text.

    Texts may have different lengths. Call it with each text's ``result.arrays[kind]`` and
    ``facts_of(result.source, causal=kind == "decoder")``. The census computes the same sums batch by batch.
    """
    num = den = n_rows = None
    broad = []
    base_sum: dict[str, float] = {}
    n = 0
    for maps, facts in items:
        roles, nu, de, rows = self_linear_parts(maps, facts)
        num, den = (nu, de) if num is None else (num + nu, den + de)
        n_rows = rows if n_rows is None else n_rows + rows
        broad.append(score_self_attention(maps, facts)["broad"])
        for r, v in baselines(facts).items():
            base_sum[r] = base_sum.get(r, 0.0) + v
        n += 1
    if n == 0:
        raise ValueError("corpus_role_scores needs at least one text")
    kept = [i for i, r in enumerate(roles) if r in base_sum]  # a decoder has no "next"
    scores = {roles[i]: np.clip(divide(num[..., i], den[..., i], n_rows[i]), 0, 1).astype(np.float32) for i in kept}
    scores["broad"] = np.mean(broad, axis=0).astype(np.float32)
    layer_ids = tuple(layers) if layers is not None else tuple(range(num.shape[0]))
    return CorpusScores(kind, layer_ids, scores, {r: v / n for r, v in base_sum.items()}, n)


def cross_attention_heads(layers: Iterable[int], maps: np.ndarray, source_special: tuple[bool, ...]) -> list[HeadRoles]:
    base = cross_baselines(maps.shape[-2], source_special)
    return heads_from_scores("cross", layers, score_cross_attention(maps, source_special), base)


def _facts_for(result, kind: str) -> TokenFacts:
    if kind == "decoder" and result.decoder_input is not None:
        return facts_of(result.decoder_input, causal=True)
    return facts_of(result.source, causal=kind == "decoder")


def head_roles(result, probe: RepeatProbe | None = None) -> RoleReport:
    """Roles of every captured head of ``result`` (an AttentionResult).

    Positional and sink roles come from the captured text; duplicate and induction come from ``probe``
    when given (the text rarely repeats), else from the text.
    """
    heads: list[HeadRoles] = []
    evidence = {r: "text" for r in SELF_ROLES + CROSS_ROLES}
    for kind, maps in result.arrays.items():
        layers = result.layers[kind]
        if kind == "cross":
            found = cross_attention_heads(layers, maps, tuple(result.source.special))
        else:
            facts = _facts_for(result, kind)
            scores = score_self_attention(maps, facts)
            base = baselines(facts)
            if probe is not None and kind in probe.scores:
                rows = [probe.layers[kind].index(layer) for layer in layers]
                for role in PROBE_ROLES:
                    scores[role] = probe.scores[kind][role][rows]
                    base[role] = probe.baselines[kind][role]
                    evidence[role] = "probe"
            found = heads_from_scores(kind, layers, scores, base)
        heads += [h for h in found if h.head < result.shape.heads_of(kind, h.layer)]
    return RoleReport(result.model_name, tuple(heads), evidence)


def role_badges(report: RoleReport, kind: str) -> dict[tuple[int, int], str]:
    """``{(layer, head): primary role}`` of one kind, for badges on a grid ("none" = no clear role)."""
    return {(h.layer, h.head): h.primary for h in report.heads if h.kind == kind}
