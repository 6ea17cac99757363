"""First view behind the proxy: a fresh browser's first map, and a new sentence's new map, on a warm server.

    flock /tmp/attnviz-heavy.lock python benchmarks/first_view.py [--repeats 5] [--workers 2]

Starts ``attnviz serve --workers N`` on a free loopback port (nginx in front: gzip, year-long caching of the
front end) and, for comparison, one plain ``streamlit run`` (the Python server sends the front end itself),
warms both (models loaded, one visit), then in headless Chromium:

- first map: a fresh browser context (empty cache) opens the self-attention page of MiniLM with its own
  9-token text, until the map's canvas holds a drawn map;
- new sentence: in that page, a new text of 20-32 tokens typed into the sidebar and submitted (Ctrl+Enter),
  until the canvas has drawn the new text's map (its shape changed);
- front end: bytes the browser received over HTTP for the first view (compressed, as on the wire);
- where the first map's time goes: the front end loaded and parsed (``DOMContentLoaded``), the websocket to the
  server opened, its first and last message before the map was drawn, the map drawn (each from the start of
  navigation).

Prints medians and maxima of ``--repeats`` fresh contexts for each server.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.app_server import free_port, wait_healthy  # noqa: E402
from scripts.browser import CHROMIUM, FLAGS, drawn_after, wait_idle  # noqa: E402

WORDS = ("the train left the station on time and the farmer crossed a bridge near the old city while "
         "children read books").split()


def text_of(tokens: int, shift: int = 0) -> str:
    """About ``tokens`` MiniLM tokens (one token per word, two special tokens added)."""
    return " ".join(WORDS[(i + shift) % len(WORDS)] for i in range(tokens - 2))


def visit(browser, url: str, index: int) -> tuple[float, float, int, dict[str, float]]:
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    page = context.new_page()
    marks: dict[str, float] = {}
    frames: list[float] = []

    def opened(ws) -> None:
        marks.setdefault("websocket open", time.perf_counter() - started)
        ws.on("framereceived", lambda _: frames.append(time.perf_counter() - started))

    page.on("websocket", opened)
    started = time.perf_counter()
    page.goto(f"{url}/?text={text_of(9, index).replace(' ', '+')}")
    page.wait_for_selector("[data-testid='avz-live'] canvas[data-drawn]", timeout=120_000)
    first = time.perf_counter() - started
    marks["front end parsed"] = page.evaluate(
        "() => performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd") / 1000
    marks["first server message"] = min(frames, default=first)
    marks["last server message"] = max((t for t in frames if t <= first), default=first)
    marks["map drawn"] = first
    wait_idle(page)
    # bytes on the wire (compressed) of the document and every file it loaded
    received = page.evaluate("() => performance.getEntriesByType('navigation')"
                             ".concat(performance.getEntriesByType('resource'))"
                             ".reduce((sum, e) => sum + (e.transferSize || 0), 0)")
    box = page.locator("[data-testid='stSidebar'] textarea").first
    new = []
    for step, tokens in enumerate((20, 24, 28, 32)):
        box.fill(text_of(tokens, index + step))
        new.append(drawn_after(page, lambda: box.press("Control+Enter"), attribute="shape", timeout_ms=60_000))
        wait_idle(page)
    context.close()
    return first, statistics.median(new), received, marks


def measure(browser, url: str, repeats: int) -> str:
    warm = browser.new_page()
    warm.goto(url)
    wait_idle(warm)
    warm.close()
    firsts, news, sizes, marks = [], [], [], []
    for i in range(repeats):
        first, new, size, mark = visit(browser, url, i)
        firsts.append(first)
        news.append(new)
        sizes.append(size)
        marks.append(mark)
    steps = ", ".join(f"{name} {statistics.median(m[name] for m in marks if name in m):.2f} s"
                      for name in ("front end parsed", "websocket open", "first server message",
                                   "last server message", "map drawn"))
    return (f"first map median {statistics.median(firsts):.2f} s (max {max(firsts):.2f} s) [{steps}]; "
            f"new sentence -> new map median {statistics.median(news):.0f} ms (max {max(news):.0f} ms); "
            f"front end received {statistics.median(sizes) / 1e6:.2f} MB over HTTP")


def start(command: list[str], url: str) -> subprocess.Popen:
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_healthy(url, 120)
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    proxy_port, direct_port = free_port(), free_port()
    servers = {
        f"nginx + {args.workers} processes": (
            [sys.executable, "-m", "attnviz", "serve", "--workers", str(args.workers), "--port", str(proxy_port),
             "--address", "127.0.0.1"], f"http://127.0.0.1:{proxy_port}"),
        "streamlit run (no proxy)": (
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(direct_port),
             "--server.address", "127.0.0.1", "--server.headless", "true"], f"http://127.0.0.1:{direct_port}"),
    }
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for name, (command, url) in servers.items():
            server = start(command, url)
            try:
                print(f"{name}: {measure(browser, url, args.repeats)}", flush=True)
            finally:
                server.terminate()
                server.wait(timeout=30)
        browser.close()


if __name__ == "__main__":
    main()
