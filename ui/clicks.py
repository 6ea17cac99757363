"""Clicks on the cells of a clickable plotly map (``st.plotly_chart(..., on_select="rerun")``).

The maps put a marker on each cell to take the click (attnviz/figures/cells.py; the corpus grid is markers
alone), so a click is a selected point at x = column, y = row. A selection stays in the chart's state over
reruns: acting on it again at every rerun would undo a toggle or override a picker moved since, so a click is
handed out once, on the run after it changed.
"""

from __future__ import annotations

import streamlit as st


def selected_cells(chart_key: str, curve: int = 1) -> list[tuple[int, int]]:
    """The (row, column) cells selected on chart ``chart_key``'s trace ``curve`` (the cell markers: 1 behind a
    heatmap trace, 0 on a map of markers alone)."""
    state = st.session_state.get(chart_key)
    points = state.get("selection", {}).get("points", []) if hasattr(state, "get") else []
    return [(int(p["y"]), int(p["x"])) for p in points if p.get("curve_number") == curve]


def new_click(chart_key: str, curve: int = 1) -> list[tuple[int, int]]:
    """The cells of chart ``chart_key``'s selection when it changed since the last run that asked, else []."""
    cells = selected_cells(chart_key, curve)
    seen = f"_clicked_{chart_key}"
    if cells == st.session_state.get(seen, []):
        return []
    st.session_state[seen] = cells
    return cells
