"""The routes graph drawn in the browser (static/routes.js), its position choice, threshold and exports.

The browser gets the graph at the slider's lowest threshold, each edge's heads and each node's logit-lens
row, so moving the threshold and every click are answered there. The threshold it reports a moment later
keeps the URL and the server's exports (CSV, JSON, PNG, SVG, PDF) in step.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from attnviz.contributions.decompose import decompose
from attnviz.contributions.routes import RouteContributions, RouteGraph, lens_tops, route_contributions, route_graph
from attnviz.errors import AttnvizError
from attnviz.export import safe_filename
from attnviz.figures.routes import edge_rows, edges_to_csv, route_figure, route_payload
from attnviz.models.loading import LoadedModel
from ui import panels
from ui.cached import cached
from ui.lang import chart_words, tr

_STATIC = Path(__file__).parent / "static"
_GRAPH = st.components.v2.component(
    "attnviz_routes",
    js=(_STATIC / "routes.js").read_text("utf-8"),
    css=(_STATIC / "routes.css").read_text("utf-8"),
)
FLOOR = 0.02  # the slider's lowest threshold: the browser gets every edge above it on a route (at 0.01 a
#               peaked 6-layer decoder at 512 tokens sends 12,000 edges, and drawing them takes a second)
DEFAULT_THRESHOLD = 0.04  # the LLM Transparency Tool's default
KEY = "routes_graph"


def contributions_of(loaded: LoadedModel, text: str, target: str | None) -> RouteContributions:
    """Every layer's residual sums split into their parts' shares (cached)."""
    return cached(route_contributions, loaded, text, target, busy=tr("msg.running"))


def default_position(contributions: RouteContributions) -> int:
    """The last token that is not a special one (the prediction a decoder is making, a sentence's last word)."""
    special = contributions.tokens.special
    return next((i for i in range(len(special) - 1, -1, -1) if not special[i]), len(special) - 1)


def chosen_threshold() -> float:
    """What the browser last reported, else the link's ``th``, else the default; kept in the URL."""
    state = st.session_state.get(KEY)
    value = state.get("threshold") if hasattr(state, "get") else None
    if value is None:
        value = st.query_params.get("th", DEFAULT_THRESHOLD)
    try:
        threshold = min(0.5, max(FLOOR, float(value)))
    except (TypeError, ValueError):
        threshold = DEFAULT_THRESHOLD
    threshold = round(threshold, 3)
    if threshold == DEFAULT_THRESHOLD:
        st.query_params.pop("th", None)
    elif st.query_params.get("th") != f"{threshold:g}":
        st.query_params["th"] = f"{threshold:g}"
    return threshold


def _words() -> dict:
    return {"threshold": tr("routes.threshold"), "hint": tr("routes.hint"), "share": tr("routes.share"),
            "layer": tr("routes.layer"), "residual": tr("routes.residual"), "head": tr("routes.head"),
            "carried_by": tr("routes.carried_by"), "lens": tr("routes.lens"), "no_lens": tr("routes.no_lens"),
            "mlp_node": tr("routes.mlp_node"), "embeddings": tr("routes.embeddings"), "count": tr("routes.count"),
            "node_x": tr("routes.node_x"), "node_a": tr("routes.node_a"), "node_m": tr("routes.node_m"),
            "node_i": tr("routes.node_i"),
            "kinds": {"attention": tr("routes.kind.attention"), "residual": tr("routes.kind.residual"),
                      "mlp": tr("routes.kind.mlp")}}


def graph_panel(loaded: LoadedModel, text: str, target: str | None, contributions: RouteContributions,
                position: int, threshold: float) -> None:
    """The graph in the browser, then the server's exports of what it shows at ``threshold``."""
    floor = cached(route_graph, contributions, position, FLOOR)
    lens = cached(_lens, loaded, text, target, contributions, floor)
    token = contributions.tokens.labels[position]
    payload = {**route_payload(floor, lens, threshold=threshold, n_heads=contributions.n_heads), "words": _words(),
               "title": tr("routes.graph_title", token=token, position=position)}
    _GRAPH(key=KEY, data=payload, default={"threshold": None}, on_threshold_change=lambda: None)
    if contributions.kind == "decoder" and not lens:
        st.caption(tr("routes.lens_unavailable"))
    shown = cached(route_graph, contributions, position, threshold)
    stem = safe_filename(loaded.name, "routes", position, f"t{threshold:g}", extension="x")[:-2]
    st.caption(tr("routes.exports", threshold=f"{threshold:g}"))
    columns = st.columns(2)
    columns[0].download_button("CSV", data=lambda: edges_to_csv(shown), file_name=f"{stem}.csv", mime="text/csv",
                               key="routes-csv", on_click="ignore", icon=":material/download:")
    columns[1].download_button("JSON", data=lambda: _json(shown), file_name=f"{stem}.json", mime="application/json",
                               key="routes-json", on_click="ignore", icon=":material/download:")
    panels.image_buttons(lambda: route_figure(shown, words=chart_words()), stem, key="routes-image")


def _lens(loaded: LoadedModel, text: str, target: str | None, contributions: RouteContributions,
          graph: RouteGraph) -> dict:
    """The lens rows of the graph's nodes (decoders); a model whose lens cannot be read gets none, not an error."""
    if contributions.kind != "decoder":
        return {}
    try:
        decomposition = cached(decompose, loaded, text, target)
    except AttnvizError:
        return {}
    return lens_tops(loaded, contributions, decomposition, graph.nodes, k=5)


def _json(graph: RouteGraph) -> bytes:
    import json

    return json.dumps({"model": graph.model_name, "tokens": list(graph.tokens), "position": graph.position,
                       "threshold": graph.threshold, "edges": edge_rows(graph)}, ensure_ascii=False,
                      indent=1).encode("utf-8")
