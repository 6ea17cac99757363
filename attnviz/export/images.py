"""Figures to image bytes (PNG, SVG, PDF) through kaleido and a system Chrome/Chromium."""

from __future__ import annotations

import os
import shutil
import threading
import warnings

import plotly.graph_objects as go
import plotly.io as pio

from attnviz.words import word

IMAGE_FORMATS = ("png", "svg", "pdf")
MIME_TYPES = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf", "csv": "text/csv",
              "json": "application/json", "npz": "application/octet-stream"}
_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
_lock = threading.Lock()
_server_started = False


class ImageExportUnavailable(RuntimeError):
    """No browser for kaleido: the message says how to get one."""


def find_browser() -> str | None:
    configured = os.environ.get("BROWSER_PATH")
    if configured and os.path.exists(configured):
        return configured
    for name in _BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def image_export_available() -> bool:
    return find_browser() is not None


UNAVAILABLE_MESSAGE = word("export.unavailable")  # the sentence the app shows, from its tables


def _ensure_server() -> None:
    """One browser for the whole process: the first export takes ~2 s, later ones ~0.2 s."""
    global _server_started
    if _server_started:
        return
    import kaleido

    browser = find_browser()
    if browser is None:
        raise ImageExportUnavailable(UNAVAILABLE_MESSAGE)
    os.environ.setdefault("BROWSER_PATH", browser)
    kaleido.start_sync_server(silence_warnings=True)
    _server_started = True


def figure_to_image(figure: go.Figure, fmt: str, *, width: int | None = None, height: int | None = None,
                    scale: float = 2.0) -> bytes:
    if fmt not in IMAGE_FORMATS:
        raise ValueError(f"image format must be one of {IMAGE_FORMATS}")
    with _lock:  # kaleido's sync server handles one figure at a time
        _ensure_server()
        try:
            with warnings.catch_warnings():  # plotly warns that a running server ignores per-call browser options
                warnings.simplefilter("ignore", UserWarning)
                return pio.to_image(figure, format=fmt, width=width or figure.layout.width or 900,
                                    height=height or figure.layout.height or 700, scale=scale if fmt == "png" else 1)
        except Exception as error:  # a browser that fails to start or crashes mid-way
            raise ImageExportUnavailable(f"Image export failed: {str(error).splitlines()[0][:200]}") from error


def warm_up_image_export() -> bool:
    """Start the browser and draw one tiny figure, so a visitor's first export takes what later ones take (the
    first had cost 3.6 s: kaleido starting its browser and loading plotly.js). False without a browser."""
    if not image_export_available():
        return False
    try:
        figure_to_image(go.Figure(go.Heatmap(z=[[0, 1], [1, 0]])), "png", width=64, height=64, scale=1)
    except ImageExportUnavailable:
        return False
    return True
