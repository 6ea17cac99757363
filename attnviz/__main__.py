"""Command line: ``python -m attnviz capture --model minilm --text "..." --out result.npz``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from attnviz import serve_cli
from attnviz.census import cli as census_cli
from attnviz.contributions import cli as contributions_cli
from attnviz.contributions import routes_cli
from attnviz.faithfulness import cli as faithfulness_cli
from attnviz.models.registry import BUILTIN_MODELS, DEFAULT_MODEL
from attnviz.patching import cli as patching_cli
from attnviz.roles import cli as roles_cli


def _parse_layers(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--layers takes numbers separated by commas, not '{text}'") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="attnviz", description="Capture transformer attention.")
    commands = parser.add_subparsers(dest="command", required=True)
    cap = commands.add_parser("capture", help="run a model on text and save tokens and attention arrays")
    cap.add_argument("--model", default=DEFAULT_MODEL,
                     help=f"built-in ({', '.join(BUILTIN_MODELS)}), hub id or local folder")
    cap.add_argument("--text", required=True, help="input text (source text for encoder-decoders)")
    cap.add_argument("--target", help="target text for encoder-decoders (default: the model generates it)")
    cap.add_argument("--layers", help="comma-separated layer indices to capture (default: all)")
    cap.add_argument("--max-tokens", type=int, help="cut the text to this many tokens")
    cap.add_argument("--out", type=Path, required=True, help="output file: .npz or .json")
    commands.add_parser("models", help="list the built-in models")
    roles_cli.add_parser(commands)
    census_cli.add_parser(commands)
    contributions_cli.add_parser(commands)
    faithfulness_cli.add_parser(commands)
    serve_cli.add_parser(commands)
    routes_cli.add_parser(commands)
    patching_cli.add_parser(commands)
    commands.add_parser("app", help="start the Streamlit app (extra arguments go to streamlit run)",
                        add_help=False)
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["app"]:
        return run_app(argv[1:])
    args = parser.parse_args(argv)
    if args.command == "heads":
        return roles_cli.run(args)
    if args.command == "census":
        return census_cli.run(args)
    if args.command in ("contributions", "lens"):
        return contributions_cli.run(args)
    if args.command == "faithfulness":
        return faithfulness_cli.run(args)
    if args.command == "serve":
        return serve_cli.run(args)
    if args.command == "routes":
        return routes_cli.run(args)
    if args.command == "patch":
        return patching_cli.run(args)

    if args.command == "models":
        for model in BUILTIN_MODELS.values():
            print(f"{model.name:16s} {model.family:16s} {model.description['en']}")
        return 0

    from attnviz import AttnvizError, capture, load_model
    from attnviz.export import result_to_json, result_to_npz

    if args.out.suffix not in (".npz", ".json"):
        parser.error("--out must end in .npz or .json")
    try:
        layers = _parse_layers(args.layers)
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


def run_app(streamlit_args: list[str]) -> int:
    """``streamlit run`` the app that ships with attnviz (the repository's app.py, or its installed copy)."""
    import subprocess

    from attnviz.paths import app_script

    script = app_script()
    command = [sys.executable, "-m", "streamlit", "run", str(script), *streamlit_args]
    try:
        return subprocess.call(command, cwd=script.parent)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
