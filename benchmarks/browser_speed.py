"""Interaction speed in a real browser: first map, head/layer/mode switches, and bytes sent, at 9, 128, 512 tokens.

    flock /tmp/attnviz-cpu.lock python benchmarks/browser_speed.py [--repeats 10]

Starts ``streamlit run app.py`` on a free port, opens the self-attention page of MiniLM in headless Chromium
with texts of about 9, 128 and 512 tokens, and prints medians measured in this one run:

- first map: a fresh browser context's navigation until the canvas holds a drawn map;
- head / mode switch: from the click until the canvas says it drew the new choice (measured in the page);
- layer switch: the same for a slider step (at 512 tokens the payload holds the shown head of every layer);
- look: a colour scale, "rescale rows" or "hide special tokens" toggle on the map's bar (drawn in the page);
- merge: the sidebar's "merge sub-words" toggle, the one display option left on the server: from the click
  until the map the rerun sent is drawn;
- payload: bytes of the websocket messages that carried the page's first map;
- grid: the all-heads payload's build time and size for all 72 heads (in process), and a fresh browser's
  wait on the all-heads page until its grid is drawn.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.app_server import serve_app  # noqa: E402
from scripts.browser import CHROMIUM, FLAGS, SWITCH_JS, drawn_after, wait_idle  # noqa: E402

WORDS = ("the train left the station on time and the farmer crossed a bridge near the old city while "
         "children read books").split()


def text_of(tokens: int) -> str:
    """About ``tokens`` MiniLM tokens (these words are one token each; two special tokens are added)."""
    return " ".join(WORDS[i % len(WORDS)] for i in range(tokens - 2))


def _switch(page, action: str, wanted: dict[str, str]) -> float:
    """Milliseconds from an input event to the canvas showing ``wanted``, measured inside the page."""
    return page.evaluate(SWITCH_JS, [action, wanted])


def measure(browser, url: str, tokens: int, repeats: int) -> dict[str, float]:
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    page = context.new_page()
    received = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: received.append(len(f))))
    started = time.perf_counter()
    page.goto(f"{url}/?text={text_of(tokens).replace(' ', '+')}")
    page.wait_for_selector("[data-testid='avz-live'] canvas[data-drawn]", timeout=180_000)
    first = (time.perf_counter() - started) * 1000
    wait_idle(page)
    first_bytes = sum(received)
    page.wait_for_timeout(500)
    heads, layers, modes, looks, merges = [], [], [], [], []
    for i in range(repeats):
        heads.append(_switch(page, f"head:{(i + 1) % 12}", {"head": str((i + 1) % 12)}))
        modes.append(_switch(page, "mode:mean", {"mode": "mean"}))  # mean of every head, then back
        modes.append(_switch(page, "mode:single", {"mode": "single"}))
        # a hand pausing on the new head lets its report reach the server (at 512 tokens the next payload
        # then holds that head on every layer); a layer step within ~0.5 s of a head switch waits for it
        page.wait_for_timeout(400)
        wait_idle(page)
        layer = (i + 1) % 6
        layers.append(_switch(page, f"layer:{layer}", {"layer": str(layer)}))
        scale = ("Magma", "Viridis")[i % 2]
        looks.append(_switch(page, f"colorscale:{scale}", {"look": f"{scale},auto,0,0"}))
        looks.append(_switch(page, "renorm:1", {"look": f"{scale},auto,0,1"}))
        looks.append(_switch(page, "renorm:0", {"look": f"{scale},auto,0,0"}))
        looks.append(_switch(page, "hide:0", {"hide": "0", "shape": f"{tokens}x{tokens}"}))
        looks.append(_switch(page, "hide:1", {"hide": "1", "shape": f"{tokens - 2}x{tokens - 2}"}))
        page.wait_for_timeout(400)  # let the report reach the server, as a hand pausing would
        wait_idle(page)
        merges.append(_merge_toggle(page))  # merged ...
        wait_idle(page)
        merges.append(_merge_toggle(page))  # ... and back
        wait_idle(page)
    context.close()
    return {"first": first, "bytes": first_bytes, "head": statistics.median(heads),
            "layer": statistics.median(layers), "mode": statistics.median(modes),
            "look": statistics.median(looks), "merge": statistics.median(merges)}


def _merge_toggle(page) -> float:
    """Milliseconds from a click on "merge sub-words" until the map the rerun sent is drawn."""
    box = page.locator("[data-testid='stSidebar'] [data-testid='stCheckbox']").filter(has_text="sub-words")
    if not box.is_visible():
        page.locator("[data-testid='stSidebar'] [data-testid='stExpander'] summary").first.click()
    return drawn_after(page, lambda: box.locator("label").click(), timeout_ms=60_000)


def grid_build(tokens: int) -> tuple[float, int]:
    """The all-heads payload for every head of every layer, built in process: milliseconds and bytes."""
    from attnviz import capture, load_model
    from attnviz.analysis.view import stack_views
    from attnviz.figures.live import grid_payload

    result = capture(load_model("minilm"), text_of(tokens))
    started = time.perf_counter()
    stack = stack_views(result, "encoder", list(range(6)))
    payload = grid_payload(stack.matrix, stack.masked, stack.row_labels, stack.col_labels,
                           {"title": "", "layers": list(range(6)), "heads": list(range(12))})
    return (time.perf_counter() - started) * 1000, len(payload)


def grid_page_ms(browser, url: str, tokens: int) -> float:
    """A fresh browser on the all-heads page: navigation until the grid of 72 panels is drawn."""
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    page = context.new_page()
    started = time.perf_counter()
    page.goto(f"{url}/all_heads?text={text_of(tokens).replace(' ', '+')}")
    page.wait_for_selector("[data-testid='avz-grid'] canvas[data-drawn]", state="attached", timeout=180_000)
    elapsed = (time.perf_counter() - started) * 1000
    context.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--tokens", type=int, nargs="+", default=[9, 128, 512])
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with serve_app() as app, sync_playwright() as p:
        url = app.url
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        warm = browser.new_page()
        warm.goto(url)
        wait_idle(warm)  # a warm server: model loaded, first session done
        warm.close()
        print(f"{'tokens':>6} {'first map':>10} {'sent':>9} {'head':>8} {'mode':>8} {'layer':>8} {'look':>8} "
              f"{'merge':>8} {'grid build':>11} {'grid sent':>10} {'grid page':>10}")
        for tokens in args.tokens:
            m = measure(browser, url, tokens, args.repeats)
            build, size = grid_build(tokens)
            page = grid_page_ms(browser, url, tokens)
            print(f"{tokens:>6} {m['first']:>8.0f}ms {m['bytes'] / 1e6:>7.2f}MB {m['head']:>6.1f}ms "
                  f"{m['mode']:>6.1f}ms {m['layer']:>6.1f}ms {m['look']:>6.1f}ms {m['merge']:>6.0f}ms "
                  f"{build:>9.0f}ms {size / 1e6:>8.2f}MB "
                  f"{page:>8.0f}ms", flush=True)
        browser.close()


if __name__ == "__main__":
    main()
