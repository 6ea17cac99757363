"""What the first visitor of a fresh server sees in the sidebar's navigation, sampled every 50 ms from page open.

    python -m scripts.first_visit [servers]     # prints, per fresh server, when the app's own navigation
                                                # appeared and whether Streamlit's file-name list ever did
"""

from __future__ import annotations

import sys

from scripts.app_server import serve_app
from scripts.browser import CHROMIUM, FLAGS, wait_idle

# Installed before the page's own scripts: every 50 ms, the sidebar navigation's link texts and section
# headers, with the time since the document started.
NAV_LOG_JS = """
window.__navLog = [];
const sample = () => {
  const nav = document.querySelector('[data-testid="stSidebarNav"]');
  const links = nav ? [...nav.querySelectorAll('a')].map((a) => a.innerText.trim()) : [];
  const sections = nav ? [...nav.querySelectorAll('header, [data-testid="stNavSectionHeader"]')]
    .map((h) => h.innerText.trim()) : [];
  window.__navLog.push({ t: performance.now(), links, sections });
};
setInterval(sample, 50);
"""

FILE_NAMES = {"app", "ablation", "all heads", "causal attention", "learn self attention", "self attention"}


def first_visit(browser, url: str, app_section: str = "Explore a model") -> dict:
    """``{"nav_ms": ms until the app's navigation showed, "file_list": whether file names were ever listed}``."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.add_init_script(NAV_LOG_JS)
    page.goto(url)
    wait_idle(page)
    page.wait_for_timeout(300)
    log = page.evaluate("() => window.__navLog")
    context.close()
    real = [s["t"] for s in log if app_section in s["sections"]]
    legacy = [s for s in log if FILE_NAMES & {link.lower() for link in s["links"]}]
    return {"nav_ms": real[0] if real else float("nan"), "file_list": bool(legacy),
            "file_list_ms": (legacy[-1]["t"] - legacy[0]["t"]) if legacy else 0.0, "samples": len(log)}


def main() -> None:
    from playwright.sync_api import sync_playwright

    servers = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for i in range(servers):
            with serve_app() as app:
                seen = first_visit(browser, app.url)
                again = first_visit(browser, app.url)  # for comparison: a visitor of a warm server
            print(f"server {i + 1}: app navigation after {seen['nav_ms']:.0f} ms (a second visitor: "
                  f"{again['nav_ms']:.0f} ms); file-name list shown: {seen['file_list']} "
                  f"(for {seen['file_list_ms']:.0f} ms)", flush=True)
        browser.close()


if __name__ == "__main__":
    main()
