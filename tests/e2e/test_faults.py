"""Faults seen from the browser: a visitor who leaves mid-request, a server restarted under an open page."""

from __future__ import annotations

import pytest

from scripts.app_server import ROOT, free_port, start, stop, wait_healthy
from scripts.browser import wait_idle

pytestmark = pytest.mark.e2e


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
    """The page stays open (no reload) while its server stops and comes back on the same port: it reconnects
    by itself over a new websocket and works again, navigation included."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(tmp_path / "server.log", "w") as log:
        server = start(port, log=log)
        try:
            wait_healthy(url, process=server)
            page = browser.new_context().new_page()
            sockets, loads = [], []
            page.on("websocket", lambda ws: sockets.append(ws))
            page.on("load", lambda _: loads.append(1))
            page.goto(url)
            wait_idle(page)
            page.wait_for_selector("[data-testid='avz-live'] canvas[data-drawn]", state="attached", timeout=60_000)
            assert len(sockets) == 1 and len(loads) == 1
            stop(server)
            page.wait_for_selector("[data-testid='stDialog']:has-text('Connection error')", timeout=30_000)
            server = start(port, log=log)
            wait_healthy(url, process=server)
            # no reload: Streamlit's client opens a new websocket to the new server by itself
            page.wait_for_selector("[data-testid='stDialog']", state="detached", timeout=60_000)
            assert len(sockets) >= 2 and not sockets[-1].is_closed() and len(loads) == 1
            # the reconnected page works: its own navigation reaches the new server and draws the next page
            page.locator("[data-testid='stSidebarNav'] a", has_text="All heads").click()
            page.wait_for_function("() => location.pathname.endsWith('/all_heads')")
            wait_idle(page)
            page.wait_for_selector("[data-testid='avz-grid'] canvas[data-drawn]", state="attached", timeout=60_000)
            assert page.locator("[data-testid='stMain'] h1").first.inner_text() == "All heads"
            assert len(loads) == 1  # still the page first opened
            assert page.locator("[data-testid='stException']").count() == 0
            body = page.inner_text("body")
            assert "Traceback" not in body and str(ROOT) not in body
            page.context.close()
        finally:
            stop(server)


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
