"""Information-flow routes drawn: one column per token, rows from the embeddings up through each layer's
attention (A) and output (I), MLP nodes (M) beside them; an edge's width and opacity follow its share.

:func:`route_payload` is what the browser draws from (ui/static/routes.js): every edge above the lowest
threshold the visitor can pick, with its heads' shares and each node's logit-lens row, so the slider and
every click are answered in the browser. :func:`route_figure` is the same drawing as a plotly figure
(notebooks, PNG/SVG/PDF exports); :func:`edge_rows` the table behind CSV/JSON exports.
"""

from __future__ import annotations

import plotly.graph_objects as go

from attnviz.contributions.routes import Node, RouteGraph, edge_rows, parse_node
from attnviz.figures.words import FigureWords

COLOURS = {"attention": "#1f77b4", "residual": "#9e9e9e", "mlp": "#ff7f0e"}
MLP_OFFSET = 0.35  # an MLP node sits this far right of its token's column, between A and I


def node_xy(node: Node) -> tuple[float, float]:
    """Where a node is drawn: x its token's position, y its depth (embeddings 0, layer l's A 2l+1, I 2l+2)."""
    stage, layer, position = parse_node(node)
    if stage == "X":
        return float(position), 0.0
    if stage == "M":
        return position + MLP_OFFSET, 2 * layer + 1.5
    return float(position), 2 * layer + (1.0 if stage == "A" else 2.0)


def edges_to_csv(graph: RouteGraph) -> bytes:
    """The edges as CSV; heads as ``h:share`` pairs separated by spaces."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["source", "target", "kind", "layer", "source_token", "target_token", "weight", "residual",
                     "heads"])
    for row in edge_rows(graph):
        writer.writerow([row["source"], row["target"], row["kind"], row["layer"], row["source_token"],
                         row["target_token"], row["weight"], row["residual"],
                         " ".join(f"{h['head']}:{h['share']}" for h in row["heads"])])
    return out.getvalue().encode("utf-8")


def route_payload(graph: RouteGraph, lens: dict[Node, list[tuple[str, float]]], *, threshold: float,
                  n_heads: int) -> dict:
    """What the browser draws: ``graph`` (built at the slider's lowest threshold) and the shown ``threshold``.
    Edges are ``[source, target, kind, layer, weight, residual, [[head, share], ...]]``; weights keep 6 places so
    the browser prunes at the floor as the server did, shares 4. The page adds its title and words."""
    edges = [[e.source, e.target, e.kind, e.layer, round(e.weight, 6), round(e.residual, 4),
              [[h, round(s, 4)] for h, s in enumerate(e.heads) if s >= 5e-4]] for e in graph.edges]
    return {"tokens": list(graph.tokens), "position": graph.position, "n_layers": graph.n_layers,
            "n_heads": n_heads, "floor": graph.threshold, "threshold": threshold, "edges": edges,
            "lens": {node: [[word, round(p, 4)] for word, p in top] for node, top in lens.items()},
            "colours": COLOURS, "mlp_offset": MLP_OFFSET}


def route_figure(graph: RouteGraph, *, words: FigureWords, max_labels: int = 64) -> go.Figure:
    """The routes as a plotly figure: edges grouped by kind (width and opacity by share), nodes as dots."""
    figure = go.Figure()
    kinds = {kind: words[f"routes.kind.{kind}"] for kind in COLOURS}
    for kind, colour in COLOURS.items():
        for low, high, width in ((0.0, 0.1, 1.0), (0.1, 0.3, 2.5), (0.3, 0.6, 4.0), (0.6, 1.01, 6.0)):
            xs, ys = [], []
            for e in graph.edges:
                if e.kind == kind and low <= e.weight < high:
                    (x0, y0), (x1, y1) = node_xy(e.source), node_xy(e.target)
                    xs += [x0, x1, None]
                    ys += [y0, y1, None]
            if xs:
                figure.add_trace(go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip", name=kinds[kind],
                                            legendgroup=kind, showlegend=low == 0.0 or not any(
                                                t.legendgroup == kind for t in figure.data),
                                            line={"color": colour, "width": width},
                                            opacity=0.35 + 0.6 * min(1.0, high)))
    nodes = graph.nodes
    xy = [node_xy(n) for n in nodes]
    figure.add_trace(go.Scatter(
        x=[p[0] for p in xy], y=[p[1] for p in xy], mode="markers", showlegend=False, text=list(nodes),
        hovertemplate="%{text}<extra></extra>",
        marker={"size": [6 if n[0] == "M" else 8 for n in nodes],
                "symbol": ["square" if n[0] == "M" else "circle" for n in nodes],
                "color": ["#ff7f0e" if n[0] == "M" else "#262730" for n in nodes]}))
    n_tokens = len(graph.tokens)
    shown = sorted({parse_node(n)[2] for n in nodes} | {graph.position})
    step = max(1, len(shown) // max_labels)
    ticks = shown[::step]
    figure.update_layout(
        title=words.format("routes.figure_title", token=graph.tokens[graph.position],
                           threshold=f"{graph.threshold:g}"),
        plot_bgcolor="white", height=max(360, 70 * graph.n_layers + 160),
        width=max(640, min(2400, 40 * min(n_tokens, len(shown) * 2) + 200)),
        xaxis={"tickvals": ticks, "ticktext": [graph.tokens[p] for p in ticks], "tickangle": -45 if len(ticks) > 8
               else 0, "showgrid": False, "zeroline": False},
        yaxis={"tickvals": [0] + [2 * layer + 2 for layer in range(graph.n_layers)],
               "ticktext": [words["routes.embeddings"]] + [f"{words['routes.layer']} {layer}"
                                                          for layer in range(graph.n_layers)],
               "showgrid": True, "gridcolor": "#eee", "zeroline": False},
        legend={"orientation": "h", "y": -0.25}, margin={"l": 90, "r": 20, "t": 60, "b": 90},
    )
    return figure
