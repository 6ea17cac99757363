"""Headless Chromium settings and the "app has finished running" wait, shared by screenshots and e2e tests."""

from __future__ import annotations

import os

CHROMIUM = os.environ.get("ATTNVIZ_CHROMIUM", "/usr/bin/chromium")
# Without the networking flags Chromium keeps trying to reach hosts this machine cannot reach.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]

_BUSY = ("() => !!document.querySelector('[data-testid=\"stStatusWidget\"]') ||"
         " !!document.querySelector('[data-testid=\"stSpinner\"]') ||"
         " !!document.querySelector('[data-testid=\"stSkeleton\"]')")


def wait_idle(page, timeout_ms: int = 120_000) -> None:
    """The script has run: a page title exists and nothing is running for three checks in a row."""
    page.wait_for_selector("[data-testid='stMain'] h1", timeout=timeout_ms)
    quiet, waited = 0, 0
    while quiet < 3 and waited < timeout_ms:
        quiet = 0 if page.evaluate(_BUSY) else quiet + 1
        page.wait_for_timeout(400)
        waited += 400
