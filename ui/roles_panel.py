"""The head-roles panel: a role table with badges, a role filter, what each role means, and the probe's maps."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from attnviz.analysis.heads import HeadProfile
from attnviz.errors import AttnvizError
from attnviz.figures.matrix import matrix_figure
from attnviz.models.loading import LoadedModel
from attnviz.result import AttentionResult
from attnviz.roles import MARGIN, NO_ROLE, ORDER, PROBE_ROLES, RepeatProbe, RoleReport, head_roles, run_probe
from attnviz.roles.vocabulary import THRESHOLDS
from ui.cached import cached
from ui.lang import tr

PROBE_SPAN, PROBE_BATCH, PROBE_SEED = 24, 4, 0
BADGE_COLOURS = {"previous": "blue", "next": "blue", "self": "violet", "local": "gray", "duplicate": "orange",
                 "induction": "red", "monotonic": "green", "first": "gray", "special": "gray", "broad": "gray"}


def probe_or_reason(loaded: LoadedModel) -> RepeatProbe | str:
    """The probe of a loaded model (through the cache: shared read-only); the reason when it cannot run."""
    try:
        return run_probe(loaded, span=PROBE_SPAN, batch=PROBE_BATCH, seed=PROBE_SEED)
    except AttnvizError as error:
        return str(error)


def role_name(role: str) -> str:
    return tr(f"role.{role}")


def badges(roles: tuple[str, ...]) -> str:
    """Markdown badges of a head's roles ("no clear role" when empty)."""
    if not roles:
        return f":gray-badge[{role_name(NO_ROLE)}]"
    return " ".join(f":{BADGE_COLOURS[r]}-badge[{role_name(r)}]" for r in roles)


def verdict(profile: HeadProfile) -> None:
    """What one head does, said in the role vocabulary with the numbers behind it: every role that holds
    (a sink such as [CLS] too, so the words match a map that shows it), and the closest role's score against
    the threshold it needs."""
    st.markdown(f"**{tr('col.role')}** " + badges(profile.roles))
    role = profile.closest()
    if role != NO_ROLE:
        st.caption(tr("roles.verdict.score", role=role_name(role), score=profile.scores[role],
                      threshold=THRESHOLDS[role], baseline=profile.baselines.get(role, 0.0), margin=MARGIN),
                   help=tr("roles.verdict.help"))


def report_for(result: AttentionResult, loaded: LoadedModel) -> tuple[RoleReport, RepeatProbe | str]:
    probe = cached(probe_or_reason, loaded)
    return head_roles(result, probe=probe if isinstance(probe, RepeatProbe) else None), probe


def show(result: AttentionResult, kind: str, loaded: LoadedModel) -> RoleReport:
    """The whole panel for heads of ``kind``; returns the report so callers can badge a grid."""
    report, probe = report_for(result, loaded)
    heads = [h for h in report.heads if h.kind == kind]
    st.subheader(tr("roles.title"))
    st.caption(tr("roles.intro", margin=MARGIN))
    present = [r for r in ORDER if any(r in h.roles for h in heads)]
    options = ["all"] + present + [NO_ROLE]
    wanted = st.selectbox(tr("roles.filter"), options, key=f"roles_filter_{kind}",
                          format_func=lambda r: tr("roles.filter.all") if r == "all" else role_name(r))
    shown = [h for h in heads if wanted == "all" or (wanted in h.roles) or (wanted == NO_ROLE and not h.roles)]
    st.markdown(tr("roles.count", n=sum(1 for h in heads if h.roles), total=len(heads)))
    rows, every_score = [], []
    for h in shown:
        # the closest role: the one that holds, else the best score relative to its threshold
        main = h.roles[0] if h.roles else max(h.scores, key=lambda r: h.scores[r] / THRESHOLDS[r])
        rows.append({tr("col.layer"): h.layer, tr("col.head"): h.head,
                     tr("roles.col.roles"): ", ".join(role_name(r) for r in h.roles) or role_name(NO_ROLE),
                     tr("roles.col.closest"): role_name(main), tr("roles.col.score"): round(h.scores[main], 2),
                     tr("roles.col.threshold"): THRESHOLDS[main],
                     tr("roles.col.baseline"): round(h.baselines.get(main, 0.0) + MARGIN, 2)})
        every_score.append({"L": h.layer, "H": h.head, **{role_name(r): round(h.scores[r], 2) for r in ORDER
                                                          if r in h.scores}})
    small = {name: st.column_config.Column(width="small") for name in
             (tr("col.layer"), tr("col.head"), tr("roles.col.score"), tr("roles.col.threshold"),
              tr("roles.col.baseline"))}
    small[tr("roles.col.threshold")] = st.column_config.NumberColumn(help=tr("roles.col.threshold_help"),
                                                                     width="small", format="%.2f")
    small[tr("roles.col.baseline")] = st.column_config.NumberColumn(help=tr("roles.col.baseline_help", margin=MARGIN),
                                                                    width="small", format="%.2f")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key=f"roles_table_{kind}", column_config=small)
    with st.expander(tr("roles.every_score")):
        st.dataframe(pd.DataFrame(every_score), hide_index=True, width="stretch", key=f"roles_scores_{kind}",
                     column_config={name: st.column_config.NumberColumn(width="small", format="%.2f")
                                    for name in every_score[0] if name not in ("L", "H")} if every_score else None)
    for h in shown[:24] if wanted != "all" else []:
        st.markdown(f"L{h.layer} H{h.head} · {badges(h.roles)}")
    with st.expander(tr("roles.explain")):
        for role in ORDER:
            st.markdown(f"{badges((role,))} {tr(f'role.{role}.about')}")
    if kind != "cross":
        _probe_section(report, probe, kind)
    return report


def _probe_section(report: RoleReport, probe: RepeatProbe | str, kind: str) -> None:
    st.markdown(f"**{tr('roles.probe.title')}**")
    if not isinstance(probe, RepeatProbe):
        st.info(tr("roles.probe.unavailable", reason=probe))
        return
    words = [t for t, s in zip(probe.tokens, probe.special) if not s]
    st.caption(tr("roles.probe.caption", batch=probe.batch, span=probe.span, seed=probe.seed,
                  seconds=probe.seconds, text=f"`{' '.join(words[: probe.span])}`"))
    copying = [h for h in report.heads if h.kind == kind and any(r in h.roles for r in PROBE_ROLES)]
    if not copying or kind not in probe.maps:
        st.info(tr("roles.probe.none"))
        return
    labels = {f"L{h.layer} H{h.head} · {', '.join(role_name(r) for r in h.roles if r in PROBE_ROLES)}": h
              for h in copying}
    chosen = labels[st.selectbox(tr("roles.probe.head"), list(labels), key=f"roles_probe_{kind}")]
    maps = probe.maps[kind][probe.layers[kind].index(chosen.layer), chosen.head]
    figure = matrix_figure(maps, list(probe.tokens), list(probe.tokens), signed=False, show_values=False,
                           height=520, title=f"L{chosen.layer} H{chosen.head}")
    st.plotly_chart(figure, key=f"roles_probe_map_{kind}", theme=None)
