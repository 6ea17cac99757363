"""A real `streamlit run app.py` on a free port, driven by headless Chromium through playwright."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scripts.app_server import AppDidNotStart, RunningApp, serve_app
from scripts.browser import CHROMIUM, FLAGS, KEEP_SCROLLBARS


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


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    yield from _serve(tmp_path_factory)


@pytest.fixture()
def fresh_app_url(tmp_path_factory):
    """A server nobody has visited yet: its first visitor is the test."""
    yield from _serve(tmp_path_factory)


SERVERS: dict[str, RunningApp] = {}  # url -> its server (a test may measure its process)


def _serve(tmp_path_factory):
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    with open(log, "w") as out:
        try:
            with serve_app(env={"BROWSER_PATH": CHROMIUM}, log=out) as app:
                SERVERS[app.url] = app
                yield app.url
        except AppDidNotStart as error:
            pytest.fail(f"{error}: {log.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, ignore_default_args=KEEP_SCROLLBARS)
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
