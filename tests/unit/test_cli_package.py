"""The command line is one package: a module per command, one dispatcher, and an engine free of argparse."""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
from pathlib import Path

import attnviz
from attnviz.cli import COMMANDS, build_parser, command_modules, main

PACKAGE = Path(attnviz.__file__).parent
# the toy models' training and evaluation are scripts of their own (python -m attnviz.toy.train ...)
SCRIPTS = {"toy/train.py", "toy/train_induction.py", "toy/evaluate.py"}

EXPECTED = {"capture", "models", "roles", "heads", "census", "contributions", "lens", "faithfulness", "routes", "patch",
            "serve", "app"}  # "heads": the first name of "roles"


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_command_is_registered_by_its_module_and_runs_through_the_dispatcher():
    modules = command_modules()
    assert tuple(modules) == COMMANDS
    subcommands = _subcommands(build_parser(modules))
    assert set(subcommands) == EXPECTED
    for name, sub in subcommands.items():
        assert callable(sub.get_default("run")), name
        assert sub.get_default("run").__module__.startswith("attnviz.cli."), name


def test_models_runs_and_unknown_commands_are_usage_errors(capsys):
    assert main(["models"]) == 0
    assert "toy-translator" in capsys.readouterr().out
    try:
        main(["no-such-command"])
    except SystemExit as stop:
        assert stop.code == 2
    else:
        raise AssertionError("an unknown command must stop with a usage error")


def test_the_engine_has_no_argparse_and_never_imports_the_cli():
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith(("cli/", "_bundle/")) or relative in SCRIPTS or relative == "__main__.py":
            continue
        imports = _imports(path)
        assert "argparse" not in imports, relative
        assert not any(name == "attnviz.cli" or name.startswith("attnviz.cli.") for name in imports), relative


def test_python_dash_m_attnviz_is_the_same_command_line():
    done = subprocess.run([sys.executable, "-m", "attnviz", "models"], capture_output=True, text=True, timeout=120,
                          cwd=PACKAGE.parent)
    assert done.returncode == 0, done.stderr
    assert "minilm" in done.stdout
