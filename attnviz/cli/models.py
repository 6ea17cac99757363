"""``attnviz models``: the built-in models, one a line."""

from __future__ import annotations

import argparse

from attnviz.models.registry import BUILTIN_MODELS
from attnviz.words import word


def add_parser(commands) -> None:
    commands.add_parser("models", help="list the built-in models").set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    for model in BUILTIN_MODELS.values():
        print(f"{model.name:16s} {model.family:16s} {word(f'model.about.{model.name}')}")
    return 0
