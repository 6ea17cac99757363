"""Faults seen from the browser: a visitor who leaves mid-request, a server restarted under an open page."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

import pytest

from scripts.browser import wait_idle
from tests.e2e.conftest import ROOT, _free_port

pytestmark = pytest.mark.e2e


def _start(port: int, log) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.address",
         "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"}, stdout=log, stderr=subprocess.STDOUT)


def _healthy(url: str, seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                return
        except OSError:
            time.sleep(0.3)
    pytest.fail("streamlit did not start")


def _stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()


def test_a_visitor_leaving_mid_request_does_not_hurt_others(browser, app_url):
    leaving = browser.new_context().new_page()
    long_text = " ".join(["the train left the station on time"] * 60)
    leaving.goto(f"{app_url}/all_heads?text={long_text.replace(' ', '+')}")
    leaving.wait_for_timeout(400)  # the capture is under way
    leaving.context.close()  # gone, mid-request
    staying = browser.new_context().new_page()
    staying.goto(app_url)
    wait_idle(staying)
    staying.wait_for_selector("[data-testid='avz-live'] canvas[data-drawn]", state="attached", timeout=60_000)
    assert staying.locator("[data-testid='stException']").count() == 0
    staying.context.close()


def test_a_server_restart_under_an_open_page(browser, tmp_path):
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with open(tmp_path / "server.log", "w") as log:
        server = _start(port, log)
        try:
            _healthy(url)
            page = browser.new_context().new_page()
            page.goto(url)
            wait_idle(page)
            _stop(server)
            page.wait_for_timeout(1500)  # the page notices the connection is gone
            server = _start(port, log)
            _healthy(url)
            page.wait_for_timeout(3000)  # Streamlit reconnects by itself
            page.reload()
            wait_idle(page)
            page.wait_for_selector("[data-testid='avz-live'] canvas[data-drawn]", state="attached", timeout=60_000)
            assert page.locator("[data-testid='stException']").count() == 0
            body = page.inner_text("body")
            assert "Traceback" not in body and str(ROOT) not in body
            page.context.close()
        finally:
            _stop(server)


@pytest.mark.parametrize("path", ["all_heads", "causal_attention", "cross_attention", "learn_multi_head"])
def test_a_garbage_link_to_any_page_opens_with_defaults_and_a_notice(browser, app_url, path):
    """AppTest cannot open a page other than the default with a link, so this is checked in a browser."""
    page = browser.new_context().new_page()
    page.goto(f"{app_url}/{path}?layer=banana&head=-7&mode=zzz&heads=9,x&kind=qq&cs=nope&lang=zz")
    # the notice comes at the end of the first run and stays ten seconds: look for it while the page settles
    page.wait_for_selector("[data-testid='stToast']", timeout=60_000)
    assert "reset to defaults" in page.locator("[data-testid='stToast']").first.inner_text()
    wait_idle(page)
    drawn = ("[data-testid='stPlotlyChart'], [data-testid='avz-live'] canvas[data-drawn], "
             "[data-testid='avz-grid'] canvas[data-drawn]")
    page.wait_for_selector(drawn, state="attached", timeout=60_000)
    assert page.locator("[data-testid='stException']").count() == 0
    page.context.close()
