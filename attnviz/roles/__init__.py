"""Head roles: what each attention head does, as scores a user can check.

    from attnviz import load_model, capture
    from attnviz.roles import head_roles, run_probe
    loaded = load_model("minilm")
    report = head_roles(capture(loaded, "The cat sat on the mat"), probe=run_probe(loaded))
    [(h.layer, h.head, h.roles) for h in report.heads]

The roles themselves (names, the attention each applies to, thresholds, the order they are listed in):
:mod:`attnviz.roles.vocabulary`; formulas: :mod:`attnviz.roles.scores` (batched torch code, also what the
corpus census runs) and :mod:`attnviz.roles.entropy`; the verdict, the report types and :func:`head_roles`:
:mod:`attnviz.roles.report`; the repeated-token probe: :mod:`attnviz.roles.probe`.
"""

from attnviz.roles.probe import RepeatProbe, run_probe
from attnviz.roles.report import (
    MARGIN,
    CorpusScores,
    HeadRoles,
    RoleReport,
    assign,
    corpus_role_scores,
    cross_attention_heads,
    facts_of,
    head_roles,
    heads_from_scores,
    role_badges,
)
from attnviz.roles.scores import TokenFacts, baselines, score_cross_attention, score_self_attention
from attnviz.roles.vocabulary import (
    CROSS_ROLES,
    NO_ROLE,
    ORDER,
    PROBE_ROLES,
    ROLES,
    SELF_ROLES,
    THRESHOLDS,
    Role,
    RoleName,
    kind_roles,
)

__all__ = [
    "CROSS_ROLES", "MARGIN", "NO_ROLE", "ORDER", "PROBE_ROLES", "ROLES", "SELF_ROLES", "THRESHOLDS", "CorpusScores",
    "HeadRoles", "RepeatProbe", "Role", "RoleName", "RoleReport", "TokenFacts", "assign", "baselines",
    "corpus_role_scores", "cross_attention_heads", "facts_of", "head_roles", "heads_from_scores", "kind_roles",
    "role_badges", "run_probe", "score_cross_attention", "score_self_attention",
]
