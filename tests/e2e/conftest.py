"""A real `streamlit run app.py` on a free port, driven by headless Chromium through playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from scripts.browser import CHROMIUM, FLAGS

ROOT = Path(__file__).resolve().parents[2]

# Without a browser these tests skip on a developer's machine, but under CI=true they fail: a CI run that
# skipped every browser test would claim what it never checked. Checked per test (not at import), so
# `pytest tests/e2e` reports it too.
def _missing() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"browser tests need Chromium at {CHROMIUM} (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "browser tests need the playwright package"
    return None


@pytest.fixture(scope="session", autouse=True)
def _browser_available():
    missing = _missing()
    if missing and os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true: {missing}", pytrace=False)
    if missing:
        pytest.skip(missing)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    yield from _serve(tmp_path_factory)


@pytest.fixture()
def fresh_app_url(tmp_path_factory):
    """A server nobody has visited yet: its first visitor is the test."""
    yield from _serve(tmp_path_factory)


SERVERS: dict[str, subprocess.Popen] = {}  # url -> its server process (a test may measure it)


def _serve(tmp_path_factory):
    port = _free_port()
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "BROWSER_PATH": CHROMIUM}
    with open(log, "w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    SERVERS[url] = server
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail(f"streamlit did not start: {log.read_text()[-2000:]}")
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1500, "height": 1100}, accept_downloads=True)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def shots_dir(tmp_path_factory) -> Path:
    """Screenshots go to $ATTNVIZ_SHOTS if set (to look at them), else a temp folder."""
    target = os.environ.get("ATTNVIZ_SHOTS")
    folder = Path(target) if target else tmp_path_factory.mktemp("shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
