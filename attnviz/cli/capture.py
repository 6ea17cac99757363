"""``attnviz capture --model minilm --text "..." --out result.npz``: tokens and attention arrays to a file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from attnviz.models.registry import BUILTIN_MODELS, DEFAULT_MODEL


def parse_layers(text: str | None) -> list[int] | None:
    """``"0,5"`` -> ``[0, 5]``; nothing -> every layer."""
    if not text:
        return None
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--layers takes numbers separated by commas, not '{text}'") from None


def add_parser(commands) -> None:
    cmd = commands.add_parser("capture", help="run a model on text and save tokens and attention arrays")
    cmd.add_argument("--model", default=DEFAULT_MODEL,
                     help=f"built-in ({', '.join(BUILTIN_MODELS)}), hub id or local folder")
    cmd.add_argument("--text", required=True, help="input text (source text for encoder-decoders)")
    cmd.add_argument("--target", help="target text for encoder-decoders (default: the model generates it)")
    cmd.add_argument("--layers", help="comma-separated layer indices to capture (default: all)")
    cmd.add_argument("--max-tokens", type=int, help="cut the text to this many tokens")
    cmd.add_argument("--out", type=Path, required=True, help="output file: .npz or .json")
    cmd.set_defaults(run=run, parser=cmd)


def run(args: argparse.Namespace) -> int:
    from attnviz import AttnvizError, capture, load_model
    from attnviz.export import result_to_json, result_to_npz

    if args.out.suffix not in (".npz", ".json"):
        args.parser.error("--out must end in .npz or .json")
    try:
        layers = parse_layers(args.layers)
        result = capture(load_model(args.model), args.text, target=args.target, layers=layers,
                         max_tokens=args.max_tokens)
    except (AttnvizError, argparse.ArgumentTypeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    args.out.write_bytes(result_to_npz(result) if args.out.suffix == ".npz" else result_to_json(result))
    shapes = ", ".join(f"{kind} {list(array.shape)}" for kind, array in result.arrays.items())
    print(f"{len(result.source)} source tokens; {shapes} -> {args.out}")
    for note in result.notes:
        print(f"note: {note}")
    return 0
