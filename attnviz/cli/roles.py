"""``attnviz roles --model toy-induction [--text ...]``: print every head's roles and scores.

``attnviz heads``, the command's first name, is kept as another name for it.
"""

from __future__ import annotations

import argparse
import json
import sys

from attnviz.roles.probe import run_probe
from attnviz.roles.report import RoleReport, head_roles
from attnviz.roles.vocabulary import NO_ROLE, ORDER

DEFAULT_TEXT = "The boy found a good book in the city and the girl bought an apple at the bridge"


def add_parser(commands) -> None:
    roles = commands.add_parser("roles", aliases=["heads"],
                                help="say what each attention head does: its roles; heads is another name for it",
                                description="Say what each attention head does: its roles and their scores. "
                                            "attnviz heads is another name for this command.")
    roles.add_argument("--model", default="minilm", help="built-in, hub id or local folder")
    roles.add_argument("--text", default=DEFAULT_TEXT, help="text for the positional and sink roles")
    roles.add_argument("--target", help="target text for encoder-decoders")
    roles.add_argument("--no-probe", action="store_true", help="skip the repeated-token probe")
    roles.add_argument("--seed", type=int, default=0, help="seed of the repeated-token probe")
    roles.add_argument("--all", action="store_true", help="list heads without a clear role too")
    roles.add_argument("--json", action="store_true", help="print JSON instead of a table")
    roles.set_defaults(run=run)


def format_report(report: RoleReport, show_all: bool) -> str:
    lines = [f"{'kind':8s} {'layer':>5s} {'head':>4s}  {'roles':28s} scores (role: score/baseline)"]
    for h in report.heads:
        if not h.roles and not show_all:
            continue
        shown = h.roles or (NO_ROLE,)
        detail = ", ".join(f"{r} {h.scores[r]:.2f}/{h.baselines.get(r, 0):.2f}" for r in h.roles) or (
            "best " + max((r for r in ORDER if r in h.scores), key=lambda r: h.scores[r] - h.baselines.get(r, 0))
        )
        lines.append(f"{h.kind:8s} {h.layer:5d} {h.head:4d}  {','.join(shown):28s} {detail}")
    counts = ", ".join(f"{k} {v}" for k, v in sorted(report.counts().items(), key=lambda kv: -kv[1]))
    lines.append(f"{len(report.heads)} heads; primary roles: {counts}")
    lines.append("evidence: " + ", ".join(f"{r} from {src}" for r, src in report.evidence.items() if src == "probe"))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from attnviz import AttnvizError, capture, load_model

    try:
        loaded = load_model(args.model)
        result = capture(loaded, args.text, target=args.target)
        probe = None if args.no_probe else run_probe(loaded, seed=args.seed)
    except AttnvizError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    report = head_roles(result, probe=probe)
    if args.json:
        print(json.dumps([{"kind": h.kind, "layer": h.layer, "head": h.head, "roles": list(h.roles),
                           "scores": {r: round(v, 4) for r, v in h.scores.items()},
                           "baselines": {r: round(v, 4) for r, v in h.baselines.items()}} for h in report.heads]))
        return 0
    print(format_report(report, args.all))
    if probe is not None:
        print(f"probe: {probe.batch} x ({probe.span} random tokens twice), seed {probe.seed}, {probe.seconds:.2f} s")
    return 0
