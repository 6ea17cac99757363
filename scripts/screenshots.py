"""Take full-page screenshots of a running attnviz app with headless Chromium.

    python -m scripts.screenshots http://localhost:8501 out_dir self_attention all_heads ...
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

from scripts.browser import CHROMIUM, FLAGS, wait_idle


def main() -> None:
    base, out, *paths = sys.argv[1:]
    Path(out).mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1500, "height": int(os.environ.get("SHOT_HEIGHT", "1000"))})
        for path in paths or [""]:
            page.goto(f"{base}/{path}")
            page.wait_for_selector("[data-testid='stApp']")
            wait_idle(page)
            page.wait_for_timeout(800)
            name = (path.split("?")[0] or "home").replace("/", "_")
            page.screenshot(path=f"{out}/{name}.png", full_page=True)
            print("saved", f"{out}/{name}.png")
        browser.close()


if __name__ == "__main__":
    main()
