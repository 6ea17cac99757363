"""Load: N concurrent browser sessions on this machine's loopback, each with its own sentence, toggling layers.

    python benchmarks/load_test.py [--sessions 1 10 30] [--steps 5] [--tokens 512]

Starts `streamlit run app.py` on a free port of 127.0.0.1 (nothing else is ever contacted), opens N headless
Chromium contexts at once, and in each: loads the self-attention page with a distinct text, then moves the
map's layer and head ``--steps`` times in turn, timing each from the input event until the canvas drew the
new choice (a layer at 512 tokens comes from the server, a head is switched in the page). Prints
p50/p95 of first view and of a toggle, errors, and the server's memory (RSS of its process tree) sampled
every second. Every loop is bounded in steps and time.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import psutil
from playwright.async_api import async_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from scripts.app_server import serve_app  # noqa: E402
from scripts.browser import CHROMIUM, FLAGS, SWITCH_JS  # noqa: E402

BUSY = ("() => !!document.querySelector('[data-testid=\"stStatusWidget\"]') ||"
        " !!document.querySelector('[data-testid=\"stSpinner\"]')")
WORDS = ("train station time left city river teacher book park morning evening music window garden letter "
         "road bridge market winter summer child friend doctor village mountain ocean story lamp clock").split()


def text_of(session: int, n_words: int) -> str:
    rng = random.Random(session)
    return " ".join(rng.choice(WORDS) for _ in range(n_words))


class MemorySampler(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.samples: list[tuple[float, int]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        started = time.perf_counter()
        while not self.stop.is_set():
            try:
                rss = sum(p.memory_info().rss for p in [self.process, *self.process.children(recursive=True)])
            except psutil.Error:
                break
            self.samples.append((time.perf_counter() - started, rss))
            self.stop.wait(1.0)


async def idle(page, timeout: float = 120.0) -> None:
    deadline, quiet = time.perf_counter() + timeout, 0
    while quiet < 2 and time.perf_counter() < deadline:
        quiet = 0 if await page.evaluate(BUSY) else quiet + 1
        await page.wait_for_timeout(100)


async def session(browser, url: str, index: int, steps: int, n_words: int, results: dict) -> None:
    """One visitor: opens the self-attention page with their own text, then steps through layers and heads
    on the browser map (a layer at 512 tokens is fetched from the server; a head switches in the page)."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    try:
        started = time.perf_counter()
        await page.goto(f"{url}/?text={urllib.parse.quote(text_of(index, n_words))}", timeout=180_000)
        await page.wait_for_selector("[data-testid='avz-live'] canvas[data-drawn]", timeout=180_000)
        await idle(page)
        results["first"].append(time.perf_counter() - started)
        for step in range(steps):
            layer = step % 5 + 1 if step % 2 == 0 else 0
            action, wanted = ((f"layer:{layer}", {"layer": str(layer)}) if step % 2 == 0
                              else (f"head:{step % 12}", {"head": str(step % 12)}))
            milliseconds = await asyncio.wait_for(page.evaluate(SWITCH_JS, [action, wanted]), timeout=120)
            results["toggle"].append(milliseconds / 1000)
        if await page.locator("[data-testid='stException']").count():
            results["errors"].append(f"session {index}: exception shown")
    except Exception as error:  # counted, never raised: the run goes on
        results["errors"].append(f"session {index}: {type(error).__name__}: {str(error)[:120]}")
    finally:
        await context.close()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def run(n_sessions: int, url: str, steps: int, n_words: int) -> dict:
    results: dict = {"first": [], "toggle": [], "errors": []}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        await asyncio.gather(*(session(browser, url, i, steps, n_words, results) for i in range(n_sessions)))
        await browser.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 10, 30])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=512, help="about this many tokens per session's text")
    args = parser.parse_args()
    with serve_app() as app:
        url = app.url
        asyncio.run(run(1, url, 1, 8))  # warm: the model is loaded once, before anything is timed
        sampler = MemorySampler(app.process.pid)
        sampler.start()
        print(f"app on {url}; {args.steps} layer/head switches per session; ~{args.tokens}-token texts "
              f"(minilm cuts at 512)\n")
        print("| sessions | first view p50 / p95 (s) | toggle p50 / p95 (s) | toggles | errors | peak RSS (MB) |")
        print("|---|---|---|---|---|---|")
        for n in args.sessions:
            mark = len(sampler.samples)
            results = asyncio.run(run(n, url, args.steps, int(args.tokens * 0.8)))
            peak = max((rss for _, rss in sampler.samples[mark:]), default=0) / 2**20
            print(f"| {n} | {percentile(results['first'], .5):.2f} / {percentile(results['first'], .95):.2f} | "
                  f"{percentile(results['toggle'], .5):.2f} / {percentile(results['toggle'], .95):.2f} | "
                  f"{len(results['toggle'])} | {len(results['errors'])} | {peak:.0f} |", flush=True)
            for error in results["errors"][:5]:
                print("   ", error)
        sampler.stop.set()
        series = sampler.samples[:: max(1, len(sampler.samples) // 12)]
        print("\nserver RSS over time (s: MB): " + ", ".join(f"{t:.0f}: {rss / 2**20:.0f}" for t, rss in series))
        if sampler.samples:
            print(f"median RSS {statistics.median(r for _, r in sampler.samples) / 2**20:.0f} MB")


if __name__ == "__main__":
    main()
