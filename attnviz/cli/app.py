"""``attnviz app [streamlit options]``: the Streamlit app that ships with attnviz."""

from __future__ import annotations

import argparse
import subprocess
import sys


def add_parser(commands) -> None:
    cmd = commands.add_parser("app", help="start the Streamlit app (extra arguments go to streamlit run)",
                              add_help=False)
    cmd.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return run_unparsed([])


def run_unparsed(streamlit_args: list[str]) -> int:
    """``streamlit run`` the app (the repository's app.py, or its installed copy) with these arguments."""
    from attnviz.paths import app_script

    script = app_script()
    command = [sys.executable, "-m", "streamlit", "run", str(script), *streamlit_args]
    try:
        return subprocess.call(command, cwd=script.parent)
    except KeyboardInterrupt:
        return 0
