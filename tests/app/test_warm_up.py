"""A just-started server is warm before it accepts its first visitor: `streamlit run app.py` finds the server
(``st.App``) in app.py, whose start-up loads the engine, the built-in model and the opening sentence."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path

import streamlit as st
from streamlit.web.server.app_discovery import discover_asgi_app

APP = Path(__file__).resolve().parents[2] / "app.py"


def test_streamlit_run_finds_the_server_with_its_warm_up():
    found = discover_asgi_app(APP)  # what `streamlit run app.py` asks before it starts a server
    assert found.is_asgi_app and found.import_string.endswith(":app")
    spec = importlib.util.spec_from_file_location("attnviz_app_module", APP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # imported, not run: the router does not run outside a visitor's session
    assert isinstance(module.app, st.App)


def test_the_start_up_fills_the_caches_the_opening_page_reads(monkeypatch):
    from attnviz import capture
    from ui import warm_up
    from ui.cached import cache_key, cached_model, shared_cache
    from ui.controls import DEFAULT_TEXT, OPENING_MODEL

    monkeypatch.setattr(warm_up, "EXPORT_WARM_UP_DELAY_S", 3600.0)  # the browser start is not under test here

    async def start_and_stop():
        async with warm_up.lifespan(None):
            pass

    asyncio.run(start_and_stop())
    assert "failed" not in warm_up.timings() and warm_up.timings()["capture"] > 0
    opening = cache_key(capture, cached_model(OPENING_MODEL), DEFAULT_TEXT)[:3]  # the function, model and text
    kept = [key for key in shared_cache()._entries if key[:3] == opening]
    assert kept, "the opening sentence's capture is not in the shared cache"
    assert cached_model(OPENING_MODEL).name  # served from the process's model cache


def test_the_memory_route_answers_loopback_only():
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from ui.server_routes import ROUTES

    local = TestClient(Starlette(routes=ROUTES), client=("127.0.0.1", 5000)).get("/_attnviz/memory")
    figures = local.json()
    assert local.status_code == 200 and figures["rss_bytes"] > 50 * 2**20
    assert figures["rss_minus_cache_bytes"] == figures["rss_bytes"] - figures["cache_bytes"]
    remote = TestClient(Starlette(routes=ROUTES), client=("10.1.2.3", 5000)).get("/_attnviz/memory")
    assert remote.status_code == 403
