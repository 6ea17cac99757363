"""The head roles, each defined once: its name, the attention it applies to, how its score adds up over a
corpus, and the threshold it must clear.

Every list of roles in attnviz is derived here — the verdict's order, the roles of each kind of attention,
the census's columns, the UI's tables — so a role added or renamed here is added or renamed everywhere
(``tests/unit/test_roles_vocabulary.py`` fails on a list spelled out anywhere else). The formulas are in
:mod:`attnviz.roles.scores`, the verdict in :func:`attnviz.roles.report.assign`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, get_args

from attnviz.result import AttentionKind

# What a head does: one of these, or NO_ROLE. In ORDER (below); a test keeps the two the same.
RoleName = Literal["previous", "next", "self", "duplicate", "induction", "monotonic", "local", "first", "special",
                   "broad"]
NO_ROLE = "none"
PrimaryRole = Literal[RoleName, "none"]  # a head's primary role, "none" when no role holds

# What a role reads, which also fixes where its score sits among the others (the score and census order):
# sinks (where a head parks), positions, repeated content, a source-target alignment, the spread of a row.
Family = Literal["sink", "position", "content", "alignment", "spread"]
FAMILIES: tuple[Family, ...] = get_args(Family)

_SELF: frozenset[AttentionKind] = frozenset({"encoder", "decoder"})  # "decoder" is causal self-attention
_ANY: frozenset[AttentionKind] = frozenset({"encoder", "decoder", "cross"})


@dataclass(frozen=True)
class Role:
    """One head role.

    kinds: the attention it is scored on ("encoder": bidirectional self-attention, "decoder": causal
        self-attention, "cross"); a decoder row cannot see the next token, so it has no ``next``.
    linear: the score is attention mass on the role's keys over the mass it could choose from, summed over
        rows, so over a corpus the numerators and denominators are summed per text (the census).
    threshold: the score at which the role holds (it must also beat its shuffled baseline by a margin).
    gives_way: "family": dropped from a verdict when a sharper role of its family holds; "all": holds
        only alone.
    """

    name: RoleName
    family: Family
    kinds: frozenset[AttentionKind]
    linear: bool
    threshold: float
    gives_way: Literal["family", "all"] | None = None

    @property
    def sink(self) -> bool:
        return self.family == "sink"


# The verdict's order (a head's roles are listed in it): the sharpest claims first, then "local", which gives
# way to them, then the sinks, then "broad", which holds only alone.
ROLES: tuple[Role, ...] = (
    Role("previous", "position", _SELF, linear=True, threshold=0.5),
    Role("next", "position", frozenset({"encoder"}), linear=True, threshold=0.5),
    Role("self", "position", _SELF, linear=True, threshold=0.5),
    Role("duplicate", "content", _SELF, linear=True, threshold=0.3),
    Role("induction", "content", _SELF, linear=True, threshold=0.3),
    Role("monotonic", "alignment", frozenset({"cross"}), linear=False, threshold=0.5),
    Role("local", "position", _SELF, linear=True, threshold=0.8, gives_way="family"),
    Role("first", "sink", _ANY, linear=True, threshold=0.5),
    Role("special", "sink", _ANY, linear=True, threshold=0.5),
    Role("broad", "spread", _ANY, linear=False, threshold=0.9, gives_way="all"),
)
ROLE: dict[str, Role] = {r.name: r for r in ROLES}
ORDER: tuple[str, ...] = tuple(r.name for r in ROLES)
THRESHOLDS: dict[str, float] = {r.name: r.threshold for r in ROLES}

# The score order: grouped by family, in ORDER within one. Score dicts, the linear roles' numerators and
# the census's columns follow it (a census part records its column names, so this order is part of its format).
BY_FAMILY: tuple[str, ...] = tuple(r.name for f in FAMILIES for r in ROLES if r.family == f)


def _names(keep: Callable[[Role], bool]) -> tuple[str, ...]:
    return tuple(name for name in BY_FAMILY if keep(ROLE[name]))


def kind_roles(cross: bool, causal: bool) -> tuple[str, ...]:
    """The roles cross-attention, causal or bidirectional self-attention is scored on, in the score order
    (a causal decoder has no ``next``)."""
    kind: AttentionKind = "cross" if cross else "decoder" if causal else "encoder"
    return _names(lambda r: kind in r.kinds)


SELF_ROLES = kind_roles(cross=False, causal=False)
CROSS_ROLES = kind_roles(cross=True, causal=False)
LINEAR_ROLES = _names(lambda r: r.linear)  # their scores are mass ratios: the census sums their parts
CROSS_LINEAR = tuple(name for name in LINEAR_ROLES if name in CROSS_ROLES)
SINK_ROLES = tuple(name for name in ORDER if ROLE[name].sink)
# A text rarely repeats a token, so the content roles are measured on a probe of repeated random tokens.
PROBE_ROLES = tuple(name for name in ORDER if ROLE[name].family == "content")
