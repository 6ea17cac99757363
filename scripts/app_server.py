"""The app on a free port of 127.0.0.1, for the browser tests and the benchmarks: one way to start and stop it.

    with serve_app() as app:           # streamlit run app.py, healthy when the block starts
        page.goto(app.url)
    with serve_app(env={"ATTNVIZ_MAX_TOKENS": "4096"}, port=p) as app: ...

It imports nothing from the tests, so a benchmark can use it where pytest is not running.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]


class AppDidNotStart(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class RunningApp:
    url: str
    port: int
    process: subprocess.Popen


def wait_healthy(url: str, seconds: float = 60, process: subprocess.Popen | None = None) -> None:
    """Until the app at ``url`` answers its health check; an error if it does not in time (or its process ends)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process is not None and process.poll() is not None:
            raise AppDidNotStart(f"streamlit exited with code {process.returncode}")
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise AppDidNotStart(f"{url} did not answer its health check within {seconds:.0f} s")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start(port: int, *, env: dict[str, str] | None = None, log: IO | None = None, root: Path = ROOT,
          options: tuple[str, ...] = ()) -> subprocess.Popen:
    """``streamlit run app.py`` on ``127.0.0.1:port``, not yet healthy. ``env`` is added to this environment."""
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
               "--server.address", "127.0.0.1", "--server.headless", "true", *options]
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    output = log if log is not None else subprocess.DEVNULL
    return subprocess.Popen(command, cwd=root, env=environment, stdout=output, stderr=subprocess.STDOUT)


@contextmanager
def serve_app(*, env: dict[str, str] | None = None, log: IO | None = None, port: int | None = None,
              root: Path = ROOT, seconds: float = 60, options: tuple[str, ...] = ()) -> Iterator[RunningApp]:
    """A healthy app for the block; stopped after it. ``log`` takes the server's output (else it is dropped)."""
    port = port or free_port()
    process = start(port, env=env, log=log, root=root, options=options)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, seconds, process)
        yield RunningApp(url, port, process)
    finally:
        stop(process)
