"""Faults give a clear message and leave the rest working: broken weights, missing assets, a model that
raises mid-forward."""

from __future__ import annotations

import shutil

import pytest

from attnviz import AttnvizError, capture, load_model
from attnviz.errors import ModelLoadError, NoAttentionError
from attnviz.settings import load_settings


def test_a_corrupt_safetensors_file_is_a_message_without_a_path(tiny_model_dirs, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dirs["bert"], broken)
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])  # cut short, as an interrupted copy would
    with pytest.raises(ModelLoadError) as raised:
        load_model(str(broken))
    assert "Traceback" not in str(raised.value)
    # Visitors of a shared server never name folders at all; on one's own machine the message may name it.
    visitor = load_settings(False, config=tmp_path / "none.toml", environ={})
    with pytest.raises(ModelLoadError) as refused:
        load_model(str(broken), visitor=visitor)
    assert str(tmp_path) not in str(refused.value)
    # a fresh load on purpose: loading still works after a failed one
    assert capture(load_model(str(tiny_model_dirs["bert"])), "still works").arrays  # the rest keeps working


def test_an_unreadable_assets_folder_is_a_message(monkeypatch, tmp_path):
    from attnviz.models import registry

    not_a_folder = tmp_path / "models"
    not_a_folder.write_text("this is a file, not the toy models")
    original = registry.BUILTIN_MODELS["toy-lm"]
    monkeypatch.setitem(registry.BUILTIN_MODELS, "toy-lm",
                        registry.BuiltinModel(original.name, original.family, lambda: not_a_folder / "toy-lm"))
    with pytest.raises(ModelLoadError, match="reinstall attnviz") as raised:
        load_model("toy-lm")  # its own load: the shipped models' folder is replaced for this test
    assert str(tmp_path) not in str(raised.value) and raised.value.code == "builtin_missing"


def test_a_model_that_raises_mid_forward_is_a_message(tiny_models, monkeypatch):
    loaded = tiny_models["gpt2"]
    block = loaded.model.transformer.h[1]

    def explode(*args, **kwargs):
        raise RuntimeError("CUDA out of memory (simulated)")

    monkeypatch.setattr(block, "forward", explode)
    with pytest.raises(NoAttentionError, match="failed while reading the text") as raised:
        capture(loaded, "the teacher saw a book")
    assert raised.value.code == "forward_failed" and "CUDA" not in str(raised.value)
    monkeypatch.undo()
    assert capture(loaded, "the teacher saw a book").arrays["decoder"].shape[0] == 3  # recovers


def test_every_failure_is_an_attnviz_error(tiny_models):
    loaded = tiny_models["bart"]
    for text in ["", "\x00\x00", "   "]:
        with pytest.raises(AttnvizError):
            capture(loaded, text)
    assert capture(loaded, "a \ud800 lone surrogate").source.labels  # replaced, not a crash
