"""Hub downloads without internet: a fake hub on 127.0.0.1 in the hub's layout (HF_ENDPOINT), an isolated cache."""

from __future__ import annotations

import numpy as np
import pytest

from attnviz import capture, load_model
from attnviz.errors import ModelLoadError
from attnviz.hub import fetch, plan_download
from tests.fake_hub import FakeHub


def _online(monkeypatch, cache):
    """The suite runs offline (conftest); huggingface_hub read that once, at import."""
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)


@pytest.fixture()
def hub(tiny_model_dirs, tmp_path, monkeypatch):
    _online(monkeypatch, tmp_path / "cache")
    with FakeHub({"tiny/bert": tiny_model_dirs["bert"], "tiny/gpt2": tiny_model_dirs["gpt2"]}) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server


def test_the_download_size_is_known_before_it_starts(hub, tiny_model_dirs):
    plan = plan_download("tiny/bert")
    expected = sum(p.stat().st_size for p in tiny_model_dirs["bert"].iterdir() if p.is_file())
    assert plan.total_bytes == plan.missing_bytes == expected
    assert "model.safetensors" in plan.files and "config.json" in plan.files
    assert not hub.file_requests or all(method == "HEAD" for method, path in hub.requests if "/resolve/" in path)


def test_a_hub_id_downloads_with_progress_and_then_comes_from_the_cache(hub, tiny_model_dirs):
    reports = []
    loaded = load_model("tiny/gpt2", progress=lambda done, total: reports.append((done, total)))
    assert reports[0][0] == 0 and reports[-1][0] == reports[-1][1] > 0
    assert [done for done, _ in reports] == sorted(done for done, _ in reports)  # progress only grows
    reference = load_model(str(tiny_model_dirs["gpt2"]))
    text = "the teacher saw a book"
    np.testing.assert_array_equal(capture(loaded, text).arrays["decoder"], capture(reference, text).arrays["decoder"])
    before = len(hub.requests)
    load_model("tiny/gpt2")  # cached: not one request to the hub
    assert len(hub.requests) == before


def test_downloads_keep_working_after_a_model_has_loaded(hub):
    load_model("toy-lm")  # loading a local model once used to switch the whole process offline
    assert fetch("tiny/bert").is_dir()


def test_offline_is_one_clear_message(hub, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelLoadError, match="not in the local Hugging Face cache") as raised:
        load_model("tiny/bert")
    assert raised.value.code == "hub_offline"
    with pytest.raises(ModelLoadError, match="not in the local Hugging Face cache"):
        load_model("tiny/bert", allow_download=False)


def test_a_missing_id_says_so(hub):
    with pytest.raises(ModelLoadError, match="no model 'tiny/nothing'") as raised:
        load_model("tiny/nothing")
    assert raised.value.code == "hub_not_found"


def test_an_unreachable_hub_is_a_message_not_a_hang(tmp_path, monkeypatch):
    _online(monkeypatch, tmp_path / "cache")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    with pytest.raises(ModelLoadError) as raised:
        load_model("tiny/bert")
    assert raised.value.code in ("hub_offline", "hub_failed")
