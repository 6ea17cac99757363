"""``attnviz routes --model toy-lm --text "..." [--position N] [--threshold 0.04] [--json]``."""

from __future__ import annotations

import argparse
import json
import sys


def add_parser(commands) -> None:
    cmd = commands.add_parser("routes", help="information-flow routes into one token (edges above a threshold)")
    cmd.add_argument("--model", default="toy-lm", help="built-in, hub id or local folder")
    cmd.add_argument("--text", required=True, help="input text (source text for encoder-decoders)")
    cmd.add_argument("--target", help="target text for encoder-decoders (default: the model generates it)")
    cmd.add_argument("--position", type=int, help="token whose routes are traced (default: the last)")
    cmd.add_argument("--threshold", type=float, default=0.04, help="edges at or below this share are pruned")
    cmd.add_argument("--json", action="store_true", help="print the edges as JSON")
    cmd.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from attnviz import load_model
    from attnviz.contributions.routes import edge_rows, route_contributions, route_graph
    from attnviz.errors import AttnvizError

    try:
        loaded = load_model(args.model)
        contributions = route_contributions(loaded, args.text, args.target)
        position = contributions.n_tokens - 1 if args.position is None else args.position
        graph = route_graph(contributions, position, args.threshold)
    except AttnvizError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    rows = edge_rows(graph)
    if args.json:
        print(json.dumps({"model": graph.model_name, "tokens": list(graph.tokens), "position": position,
                          "threshold": graph.threshold, "edges": rows}, ensure_ascii=False))
        return 0
    print(f"routes into {graph.tokens[position]!r} ({position}) of {graph.model_name}, threshold {graph.threshold:g}: "
          f"{len(rows)} edges")
    for row in rows:
        heads = ", ".join(f"h{h['head']} {h['share']:.3f}" for h in sorted(row["heads"], key=lambda h: -h["share"])[:3])
        print(f"  {row['source']:>8s} -> {row['target']:<8s} {row['kind']:9s} {row['weight']:.3f}"
              + (f"  ({heads})" if heads else ""))
    return 0
