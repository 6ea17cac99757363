"""The app offers the operator's hub models, shows the download size first and a progress bar while it runs
(against a fake hub on 127.0.0.1)."""

from __future__ import annotations

import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.app.conftest import APP, page_file
from tests.fake_hub import FakeHub
from tests.unit.test_hub import _online


def test_a_listed_hub_model_downloads_after_the_visitor_sees_its_size(tiny_model_dirs, tmp_path, monkeypatch):
    _online(monkeypatch, tmp_path / "cache")
    monkeypatch.setenv("ATTNVIZ_MODELS", "tiny/gpt2")
    monkeypatch.setenv("ATTNVIZ_ALLOW_DOWNLOADS", "1")
    st.cache_resource.clear()
    try:
        with FakeHub({"tiny/gpt2": tiny_model_dirs["gpt2"]}) as hub:
            monkeypatch.setenv("HF_ENDPOINT", hub.url)
            at = AppTest.from_file(APP, default_timeout=60)
            at.run()
            at.switch_page(page_file("pages/causal_attention.py")).run()
            assert "tiny/gpt2" in at.selectbox(key="lm").options
            at.selectbox(key="lm").set_value("tiny/gpt2").run()
            assert not at.exception
            assert any("MB to download" in i.value for i in at.info)
            assert not hub.file_requests or all(m == "HEAD" for m, p in hub.requests if "/resolve/" in p)
            at.button(key="download-tiny/gpt2").click().run()
            assert not at.exception and not at.error, [e.value for e in at.error]
            assert any(m == "GET" for m, p in hub.requests if "/resolve/" in p)  # downloaded now
            assert at.get("plotly_chart") or at.get("bidi_component")  # and drawn
    finally:
        st.cache_resource.clear()
