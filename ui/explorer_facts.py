"""The facts beside an explorer's map: what the shown layer and heads do, in the column the map leaves free.

Each is computed once per capture and choice (through the cache): a head or layer switch reruns the page, and
the facts should follow the map at once.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from attnviz import AttentionResult
from attnviz.analysis.checks import CausalCheck, causal_check, next_token_table
from attnviz.analysis.heads import profile_shown_head, strongest_links
from attnviz.analysis.tables import alignment_rows
from attnviz.analysis.tokens import visible_positions
from attnviz.analysis.view import AttentionView
from ui import panels, roles_panel
from ui.cached import cached
from ui.controls import ViewControls
from ui.lang import tr


def links_of(view: AttentionView, top: int = 6) -> list[tuple[str, str, float]]:
    """The view's strongest links (query, key, weight)."""
    return strongest_links(view.matrix, view.row_labels, view.col_labels, top=top)


def self_attention(result: AttentionResult, kind: str, controls: ViewControls, view: AttentionView) -> None:
    """The strongest links of the map and, for one head, what it does in the role vocabulary."""
    st.subheader(tr("self.links"))
    panels.links_table(cached(links_of, view))
    if len(view.heads) == 1:
        shown = visible_positions(result.query_tokens(kind), controls.options.hide_special)
        profile = cached(profile_shown_head, result, kind, controls.layer, view.heads[0], shown)
        st.subheader(tr("self.profile"))
        roles_panel.verdict(profile)
        st.caption(f"{tr('col.entropy')}: {profile.entropy:.2f} · "
                   f"{tr('col.previous')}: {profile.previous_weight:.2f} · "
                   f"{tr('col.self')}: {profile.self_weight:.2f} · {tr('col.special')}: {profile.special_weight:.2f}")
    panels.result_downloads(result, key="self-all")


def layer_check(result: AttentionResult, layer: int) -> CausalCheck:
    """Whether ``layer``'s decoder maps are causal: nothing above the diagonal, every row summing to one."""
    return causal_check(result.attention("decoder", layer))


def causal(result: AttentionResult, layer: int) -> None:
    """The causal check of the shown layer and the model's next token after each prefix."""
    check = cached(layer_check, result, layer)
    if check.holds:
        st.success(tr("causal.check", value=check.max_above_diagonal, err=max(check.max_row_error, 1e-7)))
    else:
        st.warning(tr("causal.check_failed", value=check.max_above_diagonal, err=check.max_row_error))
    predictions = cached(next_token_table, result)
    if predictions:
        st.subheader(tr("causal.predictions"))
        prefix, following = tr("causal.col.prefix"), tr("causal.col.next")
        rows = [{prefix: row.prefix, following: row.next_token} for row in predictions]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", column_config={
            prefix: st.column_config.TextColumn(prefix, width="medium"),
            following: st.column_config.TextColumn(following, help=tr("causal.col.next_help"), width="small")})
    panels.result_downloads(result, key="causal-all")


def cross(result: AttentionResult, view: AttentionView) -> None:
    """The source word each target word attends to most."""
    st.subheader(tr("cross.best"))
    rows = [{tr("col.target"): row.target, tr("col.source"): row.source, tr("hover.weight"): round(row.weight, 3)}
            for row in alignment_rows(view)]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    panels.result_downloads(result, key="cross-all")
