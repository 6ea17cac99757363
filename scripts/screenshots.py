"""Take full-page screenshots of a running attnviz app with headless Chromium.

    python scripts/screenshots.py http://localhost:8501 out_dir self-attention all-heads ...
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]


def wait_until_idle(page, timeout_ms: int = 90_000) -> None:
    """Wait until the script has finished: a page title, then no 'running' indicator or spinner for a moment."""
    page.wait_for_selector("[data-testid='stMain'] h1", timeout=timeout_ms)
    idle_checks = 0
    waited = 0
    while idle_checks < 3 and waited < timeout_ms:
        busy = page.evaluate(
            "() => !!document.querySelector('[data-testid=\"stStatusWidget\"]') ||"
            " !!document.querySelector('[data-testid=\"stSpinner\"]') ||"
            " !!document.querySelector('[data-testid=\"stSkeleton\"]')"
        )
        idle_checks = 0 if busy else idle_checks + 1
        page.wait_for_timeout(500)
        waited += 500
    page.wait_for_timeout(800)


def main() -> None:
    base, out, *paths = sys.argv[1:]
    Path(out).mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1500, "height": int(os.environ.get("SHOT_HEIGHT", "1000"))})
        for path in paths or [""]:
            page.goto(f"{base}/{path}")
            page.wait_for_selector("[data-testid='stApp']")
            wait_until_idle(page)
            name = (path.split("?")[0] or "home").replace("/", "_")
            page.screenshot(path=f"{out}/{name}.png", full_page=True)
            print("saved", f"{out}/{name}.png")
        browser.close()


if __name__ == "__main__":
    main()
