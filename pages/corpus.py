"""Heads across a corpus: open a census file, see a statistic for every head, click a head for its
strongest texts (captured again and drawn) and its query/key map."""

import pandas as pd
import streamlit as st

from attnviz.census.report import examples_stat
from attnviz.census.stats import EXAMPLE_STATS
from attnviz.roles import MARGIN, ORDER, kind_roles
from ui import corpus_panel, roles_panel
from ui.lang import tr
from ui.url_state import url_choice


def stat_name(stat: str) -> str:
    if stat in ORDER:  # a role: said as the All heads page says it
        return roles_panel.role_name(stat)
    if stat.startswith("offset_"):
        return tr("corpus.stat.offset", d=stat.removeprefix("offset_"))
    return tr(f"corpus.stat.{stat}")


st.title(tr("corpus.title"))
st.markdown(tr("corpus.intro"))
result = corpus_panel.choose_census()
if result is None:
    st.stop()
corpus_panel.meta_caption(result, example=st.session_state.get("corpus_source", "example") == "example")

kind = url_choice(st.sidebar.radio, tr("corpus.kind"), list(result.kinds), "corpus_kind", result.kinds[0],
                  lambda k: tr(f"kind.{k}"))
stats = result.stats(kind)
stat = url_choice(st.selectbox, tr("corpus.stat"), list(stats), "corpus_stat", stats[0], stat_name,
                  help=tr("corpus.stat.help"))
layer, head = corpus_panel.chosen_head(result, kind, stat, stat_name)

st.subheader(tr("corpus.head_title", layer=layer, head=head))
row = result.head(kind, layer, head)
roles = tuple(r for r in (row.roles or "").split(",") if r)
st.markdown(tr("corpus.head_roles", badges=roles_panel.badges(roles)))
st.caption(tr("corpus.role_scores", margin=MARGIN))
shown = [r for r in ORDER if r in kind_roles(kind == "cross", kind == "decoder") and r in stats]
# one role a line (three columns fit a phone; ten roles side by side did not)
st.dataframe(pd.DataFrame({tr("corpus.col.role"): [stat_name(r) for r in shown],
                           tr("roles.col.score"): [round(float(row[r]), 2) for r in shown],
                           tr("corpus.col.baseline"): [round(float(row[f"baseline_{r}"]), 2) for r in shown]}),
             hide_index=True, width="stretch", key="corpus-role-scores")
corpus_panel.head_shape(result, kind, layer, head, stats, stat_name)

by = examples_stat(stat)
choices = [s for s in EXAMPLE_STATS if s in stats]
st.subheader(tr("corpus.examples", stat=stat_name(by or choices[0])))
by = st.selectbox(tr("corpus.examples_by"), choices, index=choices.index(by) if by in choices else 0,
                  format_func=stat_name, key=f"corpus_examples_by_{stat}")
corpus_panel.examples(result, kind, layer, head, by, stat_name)

st.subheader(tr("corpus.qk"))
corpus_panel.query_key_map(result, kind, layer, head)
corpus_panel.tables(result, kind)
