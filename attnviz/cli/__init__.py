"""The command line: ``attnviz <command> ...`` (also ``python -m attnviz <command> ...``).

One module per command in this package, each with ``add_parser(commands)``, which registers its argparse
subcommand(s) and sets ``run`` (a function of the parsed arguments returning the exit code) as their default.
A command that hands its arguments to another program unparsed (``attnviz app`` -> ``streamlit run``) also
defines ``run_unparsed(argv)``. Adding a command is a new module here and its name in ``COMMANDS``.

The engine never imports this package; these modules import the engine, most of it only inside ``run`` so
that ``attnviz --help`` stays quick.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

# the order of ``attnviz --help``
COMMANDS = ("capture", "models", "roles", "census", "contributions", "faithfulness", "routes", "patch", "serve",
            "app")


def command_modules() -> dict[str, ModuleType]:
    """Every command module by name (``attnviz.cli.<name>``)."""
    return {name: importlib.import_module(f"{__name__}.{name}") for name in COMMANDS}


def build_parser(modules: dict[str, ModuleType] | None = None) -> argparse.ArgumentParser:
    """The ``attnviz`` parser with every command's subparser."""
    parser = argparse.ArgumentParser(prog="attnviz", description="Capture and explain transformer attention.")
    commands = parser.add_subparsers(dest="command", required=True)
    for module in (modules or command_modules()).values():
        module.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns its exit code (0 done, 2 a usage or input error with a one-line message)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    modules = command_modules()
    unparsed = getattr(modules.get(argv[0]) if argv else None, "run_unparsed", None)
    if unparsed is not None:
        return unparsed(argv[1:])
    args = build_parser(modules).parse_args(argv)
    return args.run(args)
