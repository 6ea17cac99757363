"""Head roles: what each attention head does, as scores a user can check.

    from attnviz import load_model, capture
    from attnviz.roles import head_roles, run_probe
    loaded = load_model("minilm")
    report = head_roles(capture(loaded, "The cat sat on the mat"), probe=run_probe(loaded))
    [(h.layer, h.head, h.roles) for h in report.heads]

Formulas and thresholds: see :mod:`attnviz.roles.scores` and :mod:`attnviz.roles.report` (and the README).
The corpus census calls :func:`corpus_role_scores` with stacked maps and :class:`TokenFacts`.
"""

from __future__ import annotations

from attnviz.roles.probe import RepeatProbe, run_probe
from attnviz.roles.report import (
    MARGIN,
    NO_ROLE,
    ORDER,
    THRESHOLDS,
    CorpusScores,
    HeadRoles,
    RoleReport,
    assign,
    corpus_role_scores,
    cross_attention_heads,
    facts_of,
    heads_from_scores,
)
from attnviz.roles.scores import (
    CROSS_ROLES,
    SELF_ROLES,
    TokenFacts,
    baselines,
    score_cross_attention,
    score_self_attention,
)

PROBE_ROLES = ("duplicate", "induction")


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


__all__ = [
    "CROSS_ROLES", "MARGIN", "NO_ROLE", "ORDER", "PROBE_ROLES", "SELF_ROLES", "THRESHOLDS", "CorpusScores",
    "HeadRoles", "RepeatProbe", "RoleReport", "TokenFacts", "assign", "baselines", "corpus_role_scores",
    "facts_of", "head_roles", "role_badges", "run_probe", "score_cross_attention", "score_self_attention",
]
