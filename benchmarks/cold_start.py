"""A just-started server's first visitor: from the moment the server accepts connections to the first drawn map,
and the first image export after a start.

    python benchmarks/cold_start.py [--servers 3]

Each round starts ``streamlit run app.py`` on a free loopback port, waits until it answers its health check
(the server accepts connections), opens the self-attention page in a fresh headless Chromium context at once,
and times the map's canvas until it holds a drawn map. Then it times a fresh process's first PNG export, with
and without the warm-up's browser start (ui/warm_up.py).
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

from scripts.app_server import free_port, start, stop, wait_healthy  # noqa: E402
from scripts.browser import CANVAS_JS, CHROMIUM, FLAGS  # noqa: E402

FIRST_EXPORT = """
import time, plotly.graph_objects as go
from attnviz.export.images import figure_to_image, warm_up_image_export
if {warm}:
    warm_up_image_export()
figure = go.Figure(go.Heatmap(z=[[1, 2], [3, 4]]))
t = time.perf_counter(); figure_to_image(figure, "png"); print(time.perf_counter() - t)
"""


def first_map(browser, port: int) -> tuple[float, float]:
    """(seconds from health to the first drawn map, seconds from process start to health)."""
    started = time.perf_counter()
    process = start(port)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", process=process)
        healthy = time.perf_counter()
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_function(f"() => {{ const c = ({CANVAS_JS})(); return c && c.dataset.drawn; }}",
                               timeout=120_000, polling=20)
        drawn = time.perf_counter()
        context.close()
        return drawn - healthy, healthy - started
    finally:
        stop(process)


def first_export(warm: bool) -> float:
    out = subprocess.run([sys.executable, "-c", FIRST_EXPORT.format(warm=warm)], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser()
    parser.add_argument("--servers", type=int, default=3)
    args = parser.parse_args()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        rounds = [first_map(browser, free_port()) for _ in range(args.servers)]
        browser.close()
    maps = [m for m, _ in rounds]
    print(f"first map after the server accepts connections: median {statistics.median(maps):.2f} s, "
          f"max {max(maps):.2f} s over {len(maps)} fresh servers (start to healthy: "
          f"{statistics.median([h for _, h in rounds]):.2f} s)")
    cold, warmed = first_export(False), first_export(True)
    print(f"first PNG export of a fresh process: {cold:.2f} s cold, {warmed:.2f} s after the warm-up")


if __name__ == "__main__":
    main()
