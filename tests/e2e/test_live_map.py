"""In a real browser: the first visitor of a fresh server, and maps that switch heads without the server."""

from __future__ import annotations

import pytest

from scripts.browser import CANVAS_JS, wait_idle

DEEP_LINKS = [("", "Self-attention"), ("learn_induction", "Induction heads")]


@pytest.mark.parametrize(("path", "title"), DEEP_LINKS)
def test_the_first_visitor_of_a_fresh_server_sees_the_page_and_its_navigation(browser, fresh_app_url, path, title):
    page = browser.new_page()
    page.goto(f"{fresh_app_url}/{path}")
    wait_idle(page)
    assert title in page.locator("[data-testid='stMain'] h1").first.inner_text()
    assert page.get_by_text("Page not found").count() == 0
    nav = page.locator("[data-testid='stSidebarNav']").inner_text()
    assert "Causal attention" in nav and "Learn step by step" in nav  # app.py's navigation, not the file list
    assert page.get_by_text("English").count()  # and its language switch
    page.close()


def test_the_default_page_answers_to_its_file_name_too(browser, app_url):
    warm = browser.new_page()
    warm.goto(app_url)
    wait_idle(warm)
    page = browser.new_page()
    page.goto(f"{app_url}/self_attention")
    wait_idle(page)
    page.wait_for_timeout(1000)  # the notice, when there is one, comes after the page
    assert "Self-attention" in page.locator("[data-testid='stMain'] h1").first.inner_text()
    assert page.get_by_text("Page not found").count() == 0
    warm.close()
    page.close()


def test_an_idle_visitor_costs_the_server_no_cpu(browser, fresh_app_url):
    # a file watcher over a project holding its venv once kept a core busy for as long as a page was open
    import psutil

    from tests.e2e.conftest import SERVERS

    page = browser.new_page()
    page.goto(fresh_app_url)
    wait_idle(page)
    server = psutil.Process(SERVERS[fresh_app_url].process.pid)
    before = sum(server.cpu_times()[:2])
    page.wait_for_timeout(5000)
    assert sum(server.cpu_times()[:2]) - before < 1.0
    page.close()


def test_a_head_switch_redraws_in_the_browser_without_the_server(page, app_url):
    page.goto(f"{app_url}/?layer=1&head=0")  # head 0 (the page opens on another)
    wait_idle(page)
    canvas = page.locator("[data-testid='avz-live'] canvas[data-drawn]")
    assert canvas.get_attribute("data-layer") == "1" and canvas.get_attribute("data-head") == "0"
    # Click and read the canvas back in one task of the page's event loop: no websocket message can be sent or
    # handled in between, so a redraw seen here had no round trip; the choice is sent only after the click.
    drawn = page.evaluate(f"""() => {{
        const c = ({CANVAS_JS})();
        const root = c.closest('[data-testid="avz-live"]');
        const before = c.dataset.drawn;
        root.querySelector('[data-testid="avz-head-5"]').click();
        return [c.dataset.head, c.dataset.drawn !== before];
    }}""")
    assert drawn == ["5", True]
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.55)
    tip = page.locator("[data-testid='avz-live'] .avz-tip")
    assert float(tip.get_attribute("data-value")) >= 0
    wait_idle(page)  # the choice reaches the server a moment later: URL and facts follow
    page.wait_for_function("() => location.search.includes('head=5')")
    assert "L1_H5" in page.locator("[data-testid='stMain']").inner_text()


def test_the_maps_look_switches_in_the_browser_and_reaches_the_link(page, app_url):
    page.goto(f"{app_url}/?layer=2&head=0")
    wait_idle(page)
    canvas = page.locator("[data-testid='avz-live'] canvas[data-drawn]")
    drawn = canvas.get_attribute("data-drawn")
    page.locator("[data-testid='avz-colorscale']").select_option("Magma")
    assert canvas.get_attribute("data-look").startswith("Magma,auto,0")  # drawn by the change itself
    assert canvas.get_attribute("data-drawn") != drawn
    page.locator("[data-testid='avz-renorm']").check()
    assert canvas.get_attribute("data-look") == "Magma,auto,0,1"
    wait_idle(page)
    page.wait_for_function("() => location.search.includes('cs=Magma') && location.search.includes('renorm=true')")
    assert "rows add up" not in page.locator("[data-testid='stMain']").inner_text()  # rows now sum to 1
    assert canvas.get_attribute("data-shape") == "7x7"
    page.locator("[data-testid='avz-hide']").uncheck()
    assert canvas.get_attribute("data-shape") == "9x9"  # [CLS] and [SEP] back, drawn by the click itself
    assert canvas.get_attribute("data-look") == "Magma,auto,0,0"  # nothing hidden: no rows to rescale
    wait_idle(page)
    page.wait_for_function("() => location.search.includes('hide=false')")  # the page's own view follows


def test_at_512_tokens_a_layer_step_of_one_head_stays_in_the_browser(page, app_url):
    text = "+".join(["the", "train", "left", "the", "station", "on", "time"] * 80)
    page.goto(f"{app_url}/?text={text}&head=0")
    wait_idle(page)
    canvas = page.locator("[data-testid='avz-live'] canvas[data-drawn]")
    sent = canvas.get_attribute("data-sent").split()
    assert len(sent) == 17 and "L0H11" in sent and "L5H0" in sent and "L5H1" not in sent
    layer = page.locator("[data-testid='avz-layer']")
    layer.evaluate("(s) => { s.value = '4'; s.dispatchEvent(new Event('input')); }")
    assert canvas.get_attribute("data-layer") == "4"  # drawn from the payload, no round trip
    assert page.locator("[data-testid='avz-live'].avz-waiting").count() == 0
