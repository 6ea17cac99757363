"""The app's pages as app.py registers them, so a test over every page follows a page that is added."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app.py"


def registered_pages() -> list[str]:
    """Every page's URL path (its file name in pages/), in the sidebar's order: read from app.py's ``SECTIONS``
    table without running app.py (importing it would start a server's navigation)."""
    for node in ast.parse(APP.read_text("utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "SECTIONS" for t in node.targets):
            sections = ast.literal_eval(node.value)
            return [file for pages in sections.values() for file, _, _ in pages]
    raise AssertionError("app.py has no SECTIONS table")
