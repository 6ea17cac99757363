"""``attnviz patch --model M --clean TEXT --corrupt TEXT --answer W --wrong W --component head_out [--json]``.

Prints the normalised scores (1 = the clean answer back, 0 = no change): layers × heads for head components
over all positions, layers × positions for the residual stream, attention and MLP outputs, and TransformerLens'
three axes for components by head and position. ``--attribution`` prints attribution patching's estimate in the
same shape; ``--json`` prints ``{"metric", "clean", "corrupt", "component", "values", ...}``.
"""

from __future__ import annotations

import argparse
import json
import sys

from attnviz.patching.components import COMPONENTS


def add_parser(commands) -> None:
    cmd = commands.add_parser("patch", help="activation patching: how much of a clean answer each component brings "
                                            "back into a corrupted run")
    cmd.add_argument("--model", default="toy-induction", help="built-in, hub id or local folder")
    cmd.add_argument("--clean", required=True, help="the clean text (source text for encoder-decoders)")
    cmd.add_argument("--corrupt", required=True, help="the corrupted text: as many tokens as the clean one")
    cmd.add_argument("--answer", help="the clean run's answer token (decoders and encoder-decoders)")
    cmd.add_argument("--wrong", help="the corrupted run's answer token")
    cmd.add_argument("--target", help="encoder-decoders: the target text both decoders read (the metric is read at "
                                      "its end; default: the clean text's translation)")
    cmd.add_argument("--component", default="head_out", choices=list(COMPONENTS), help="what to patch")
    cmd.add_argument("--kind", choices=["encoder", "decoder", "cross"],
                     help="which attention's layers (default: the model's first kind)")
    cmd.add_argument("--attribution", action="store_true",
                     help="attribution patching's estimate (two forward passes, one backward) instead of exact")
    cmd.add_argument("--json", action="store_true", help="print JSON instead of a table")
    cmd.set_defaults(run=run)


def table(result) -> str:
    matrix, rows, cols, _ = result.matrix()
    row_axis = "layer" if len(result.axes) == 2 else "layer.head"
    col_axis = result.axes[-1] if len(result.axes) == 2 else ("pos" if "pos" in result.axes else "dest_pos")
    what = (f"logit('{result.answer}') - logit('{result.wrong}')" if result.metric == "logit_diff"
            else "sentence embedding along the clean run's direction")
    lines = [f"{result.method} patching of {result.component} ({result.kind}): {what}",
             f"clean {result.clean:.4f}, corrupted {result.corrupt:.4f}; 1 = clean answer back, 0 = no change",
             "", f"{row_axis + ' / ' + col_axis:>12s} " + " ".join(f"{c[:7]:>7s}" for c in cols)]
    lines += [f"{r:>12s} " + " ".join(f"{v:7.3f}" for v in row) for r, row in zip(rows, matrix)]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from attnviz.errors import AttnvizError
    from attnviz.models.loading import load_model
    from attnviz.patching.compute import attribute, patch, prepare

    try:
        loaded = load_model(args.model)
        pair = prepare(loaded, args.clean, args.corrupt, args.answer, args.wrong, args.target)
        result = (attribute if args.attribution else patch)(loaded, pair, args.component, args.kind)
    except AttnvizError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(result.to_json(), ensure_ascii=False) if args.json else table(result))
    return 0


main = run
