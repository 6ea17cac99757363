"""One visitor alone on the server types a new ~510-token text: key press to redrawn map in Chromium, with the
threads following the load (every core for a lone run, the default) and pinned to one thread (the old default).

    python benchmarks/long_text_alone.py [--repeats 5] [--tokens 510]

Each setting starts its own ``streamlit run app.py`` (``ATTNVIZ_TORCH_THREADS`` = 0 or 1), opens the
self-attention page of MiniLM, and submits ``--repeats`` new texts (each new, so no cache answers), timing from
Ctrl+Enter in the sidebar's text box until the map's canvas has drawn the new text (its shape changed). Where the
time goes: until the last websocket message before the redraw (the server's run, the payload on the wire), and
from then to the drawn map (the browser decoding and drawing it).
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
from scripts.browser import CHROMIUM, FLAGS, drawn_after, wait_idle  # noqa: E402

WORDS = ("the train left the station on time and the farmer crossed a bridge near the old city while "
         "children read books about rivers mountains stars and quiet gardens").split()


def text_of(tokens: int, shift: int) -> str:
    """About ``tokens`` MiniLM tokens (one per word, two special tokens added), different for each ``shift``."""
    return " ".join(WORDS[(i * (shift + 3) + shift) % len(WORDS)] for i in range(tokens - 2))


def measure(browser, threads: str, tokens: int, repeats: int) -> tuple[list[float], list[float]]:
    """Milliseconds from key press to redrawn map, and to the last message the server sent before it."""
    with serve_app(env={"ATTNVIZ_TORCH_THREADS": threads}) as app:
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        frames: list[float] = []
        page.on("websocket", lambda ws: ws.on("framereceived", lambda _: frames.append(time.perf_counter())))
        page.goto(app.url)
        page.wait_for_selector("[data-testid='avz-live'] canvas[data-drawn]", timeout=120_000)
        wait_idle(page)
        box = page.locator("[data-testid='stSidebar'] textarea").first
        times, served = [], []
        for step in range(repeats + 1):  # the first is a warm-up at that length
            box.fill(text_of(tokens - step % 2, step))  # alternate lengths: the shape changes every time
            pressed = time.perf_counter()
            times.append(drawn_after(page, lambda: box.press("Control+Enter"), attribute="shape"))
            drawn = pressed + times[-1] / 1000
            served.append(1000 * (max((t for t in frames if pressed < t <= drawn), default=drawn) - pressed))
            wait_idle(page)
        page.close()
        return times[1:], served[1:]


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=510)
    args = parser.parse_args()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for threads, name in (("0", "threads follow the load"), ("1", "one thread per run")):
            times, served = measure(browser, threads, args.tokens, args.repeats)
            print(f"{name}: new {args.tokens}-token text -> redrawn map median {statistics.median(times):.0f} ms "
                  f"(min {min(times):.0f}, max {max(times):.0f}) over {len(times)} texts; last server message "
                  f"median {statistics.median(served):.0f} ms, then the browser's decoding and drawing", flush=True)
        browser.close()


if __name__ == "__main__":
    main()
