"""Warm a just-started server before its first visitor: `streamlit run app.py` imports app.py to find its server
(``st.App``), whose start-up runs :func:`lifespan` before the server accepts connections. It imports torch and
transformers, loads the built-in model and captures the opening sentence (73 % of a cold first run was importing
torch and transformers), then lets the server open and starts the image exporter's browser in a thread of its
own, so neither the first visitor's map nor their first export waits for any of it."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from contextlib import asynccontextmanager

EXPORT_WARM_UP_DELAY_S = 10.0
_timings: dict[str, float] = {}


_started = time.perf_counter()


def _step(name: str) -> None:
    _timings[name] = round(time.perf_counter() - _started, 3)


def _guarded(work) -> None:
    try:
        work()
    except Exception as error:  # a warm-up that fails leaves the server as it would be without one
        _timings["failed"] = 1.0
        logging.getLogger(__name__).warning("warm-up stopped: %s", error)


def warm_up_opening_page() -> None:
    """What the opening page needs: the engine's imports, the built-in model, the opening sentence's capture."""
    # Outside a script run st.cache_resource warns once per call that it has no session: expected here.
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
    from ui.cached import cached_capture, cached_model
    from ui.controls import DEFAULT_TEXT, OPENING_MODEL

    _step("imports")
    loaded = cached_model(OPENING_MODEL)
    _step("model")
    cached_capture(loaded, DEFAULT_TEXT)
    _step("capture")


def warm_up_image_export() -> None:
    from attnviz.export import images

    images.warm_up_image_export()
    _step("image export")


def timings() -> dict[str, float]:
    return dict(_timings)


@asynccontextmanager
async def lifespan(_app):
    """Start-up: the opening page warmed before connections are accepted (off the event loop), the image
    exporter's browser after, in the background."""
    await asyncio.to_thread(_guarded, warm_up_opening_page)
    # Its browser start costs a core for a second: not while the first visitors' pages are being drawn.
    later = threading.Timer(EXPORT_WARM_UP_DELAY_S, _guarded, args=(warm_up_image_export,))
    later.daemon = True
    later.start()
    yield
    later.cancel()
