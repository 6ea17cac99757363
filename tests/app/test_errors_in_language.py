"""Engine errors reach the visitor in the visitor's language."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from attnviz.errors import InputTextError, LayerRequestError
from tests.app.conftest import APP
from ui.i18n import STRINGS


def test_every_error_code_the_engine_raises_has_both_languages():
    import re

    engine = Path(__file__).resolve().parents[2] / "attnviz"
    # a raise's own code="…" and an error class's default_code = "…" (what a raise without a code shows)
    found = r'\b(?:code|default_code)\s*=\s*"([a-z0-9_]+)"'
    codes = {m for p in engine.rglob("*.py") for m in re.findall(found, p.read_text("utf-8"))}
    assert {"no_attention", "layer_request", "census_input", "serve"} <= codes  # the pattern sees default codes
    missing = [c for c in codes if f"error.{c}" not in STRINGS or "zh" not in STRINGS[f"error.{c}"]]
    assert not missing, missing


def test_error_text_translates_codes_and_kinds(monkeypatch):
    from ui import errors

    monkeypatch.setattr(errors, "lang", lambda: "zh")
    assert errors.error_text(InputTextError(code="empty_text")) == "文本为空：请输入一个句子。"
    error = LayerRequestError(code="no_such_layer", kind="encoder", n_layers=6, asked=[9])
    text = errors.error_text(error)
    assert "6" in text and "[9]" in text and "层" in text and STRINGS["kind.encoder"]["zh"] in text
    # the English the engine says is the English the interface shows
    assert str(error) == STRINGS["error.no_such_layer"]["en"].format(kind=STRINGS["kind.encoder"]["en"],
                                                                     n_layers=6, asked=[9])


def test_an_empty_text_in_chinese_is_a_chinese_message():
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["lang"] = "zh"
    at.query_params["text"] = "   "
    at.run()
    assert not at.exception
    assert any("文本为空" in e.value for e in at.error), [e.value for e in at.error]
