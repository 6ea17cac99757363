"""The app's pages as app.py registers them, so a test over every page follows a page that is added."""

from __future__ import annotations

import re
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app.py"


def registered_pages() -> list[str]:
    """Every page's URL path (its file name in pages/), in the sidebar's order."""
    return re.findall(r'st\.Page\(PAGES / "([a-z_]+)\.py"', APP.read_text("utf-8"))
