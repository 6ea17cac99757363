"""The routes graph in a real browser: the threshold and every click answered there, the URL following."""

from __future__ import annotations

from scripts.browser import wait_idle


def test_threshold_and_clicks_are_answered_in_the_browser(browser, app_url):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{app_url}/routes?routes=minilm&pos=3")
    wait_idle(page)
    page.wait_for_selector("[data-testid=avz-routes] .avz-edge", timeout=60000)
    before = page.locator(".avz-edge").count()
    runs = []
    page.on("request", lambda r: runs.append(r.url) if "_stcore" in r.url else None)
    page.locator("[data-testid=avz-routes-threshold]").evaluate(
        "(e) => { e.value = 0.2; e.dispatchEvent(new Event('input')); }")
    after = page.locator(".avz-edge").count()
    assert 0 < after < before  # pruned at once, in the browser
    attention = page.locator(".avz-edge[data-target^='A']").first
    attention.dispatch_event("click")
    info = page.locator("[data-testid=avz-routes-info]").inner_text()
    assert "head" in info and "share" in info
    page.locator(".avz-node[data-node^='I']").first.dispatch_event("click")
    assert "after layer" in page.locator("[data-testid=avz-routes-info]").inner_text()
    page.wait_for_function("() => location.search.includes('th=0.2')", timeout=10000)  # the URL follows
    page.close()


def test_a_decoder_node_shows_its_logit_lens_row_in_chinese(browser, app_url):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{app_url}/routes?routes=toy-lm&lang=zh")
    wait_idle(page)
    page.wait_for_selector("[data-testid=avz-routes] .avz-node", timeout=60000)
    page.locator(".avz-node[data-node^='I1_']").first.dispatch_event("click")
    assert page.locator("[data-testid=avz-routes-lens] tr").count() == 5
    assert "阈值" in page.locator("[data-testid=avz-routes]").inner_text()
    with page.expect_download() as download:
        page.locator("[data-testid=avz-routes-csv]").click()
    assert download.value.suggested_filename.endswith(".csv")
    page.close()


LONG = ("the teacher saw a book in the park and the farmer crossed a bridge near the old city while children read "
        "books about rivers and mountains in the evening")


def test_the_chosen_token_is_in_view_on_the_first_draw(browser, app_url):
    """A long text's graph is wider than its box: at every laptop width the red node starts inside the box."""
    for width in (1280, 1600, 1920):
        page = browser.new_page(viewport={"width": width, "height": 1000})
        page.goto(f"{app_url}/routes?routes=toy-lm&text={LONG.replace(' ', '+')}")
        wait_idle(page)
        chosen = page.locator("[data-testid=avz-routes] .avz-node[data-node^='I1_']").last
        chosen.wait_for(timeout=60000)
        page.wait_for_timeout(300)  # the scroll lands on the next animation frame
        box = page.locator(".avz-rplot").bounding_box()
        dot = page.locator("circle.avz-node[r='7']").bounding_box()
        assert box["x"] <= dot["x"] and dot["x"] + dot["width"] <= box["x"] + box["width"], (width, box, dot)
        page.close()
