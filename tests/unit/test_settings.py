"""Operator settings: safe defaults by listening address, a file and variables, and what visitors may name."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from attnviz.errors import ModelLoadError, SettingsError
from attnviz.models.registry import resolve
from attnviz.settings import CURATED_HUB_MODELS, listens_only_locally, load_settings
from tests.app.conftest import APP


def test_defaults_follow_who_can_reach_the_server(tmp_path):
    local = load_settings(True, config=tmp_path / "none.toml", environ={})
    shared = load_settings(False, config=tmp_path / "none.toml", environ={})
    assert local.allow_local_paths and local.allow_downloads and local.allow_hub_ids
    assert local.models == CURATED_HUB_MODELS
    assert not (shared.allow_local_paths or shared.allow_downloads or shared.allow_hub_ids) and shared.models == ()
    assert listens_only_locally("localhost") and listens_only_locally("127.0.0.1")
    assert not listens_only_locally("0.0.0.0") and not listens_only_locally(None) and not listens_only_locally("")


def test_a_file_then_variables_override_the_defaults(tmp_path):
    config = tmp_path / "attnviz.toml"
    config.write_text('models = ["gpt2"]\nallow_downloads = true\nmax_tokens = 128\ncache_bytes = 1000\n')
    settings = load_settings(False, config=config, environ={"ATTNVIZ_MAX_TOKENS": "64", "ATTNVIZ_MODELS": "a/b, c"})
    assert settings.models == ("a/b", "c") and settings.allow_downloads and settings.max_tokens == 64
    assert settings.cache_bytes == 1000 and str(config) in settings.source and "ATTNVIZ_MAX_TOKENS" in settings.source


@pytest.mark.parametrize(("bad", "code"), [('max_tokens = -1', "settings_bad_value"),
                                           ('allow_downloads = "maybe"', "settings_bad_value"),
                                           ('colour = "red"', "settings_unknown"),
                                           ('models = [', "settings_unreadable")])
def test_bad_settings_are_one_clear_error(tmp_path, bad, code):
    config = tmp_path / "attnviz.toml"
    config.write_text(bad)
    with pytest.raises(SettingsError) as raised:
        load_settings(False, config=config, environ={})
    assert raised.value.code == code and "{" not in str(raised.value)
    if code == "settings_unknown":
        assert str(raised.value) == "Unknown settings: colour."


def test_a_shared_server_refuses_folders_without_revealing_them(tmp_path, tiny_model_dirs):
    visitor = load_settings(False, config=tmp_path / "none.toml", environ={})
    existing, missing = str(tiny_model_dirs["bert"]), str(tmp_path / "no-such-folder")
    messages = []
    for name in (existing, missing, "../../etc", "~/models/x"):
        with pytest.raises(ModelLoadError) as raised:
            resolve(name, visitor)
        assert raised.value.code == "folders_refused"
        messages.append(str(raised.value))
    assert len(set(messages)) == 1
    assert str(tmp_path) not in messages[0] and "tiny" not in messages[0]


def test_a_shared_server_offers_its_list_and_the_built_ins(tmp_path):
    visitor = load_settings(False, config=tmp_path / "none.toml", environ={"ATTNVIZ_MODELS": "gpt2"})
    assert resolve("minilm", visitor).builtin is not None
    assert resolve("gpt2", visitor).name == "gpt2"
    with pytest.raises(ModelLoadError) as raised:
        resolve("someone/model", visitor)
    assert raised.value.code == "hub_refused"
    open_hub = load_settings(False, config=tmp_path / "none.toml", environ={"ATTNVIZ_ALLOW_HUB_IDS": "1"})
    assert resolve("someone/model", open_hub).name == "someone/model"


def test_on_ones_own_machine_folders_load_and_messages_may_name_them(tmp_path, tiny_model_dirs):
    local = load_settings(True, config=tmp_path / "none.toml", environ={})
    assert resolve(str(tiny_model_dirs["bert"]), local).is_local_dir
    with pytest.raises(ModelLoadError, match="There is no folder at .*missing"):
        resolve(str(tmp_path / "missing"))  # Python or the command line: the user's own disk, named


def test_a_visitor_allowed_folders_still_learns_nothing_about_the_disk(tmp_path):
    visitor = load_settings(False, config=tmp_path / "none.toml", environ={"ATTNVIZ_ALLOW_LOCAL_PATHS": "1"})
    (tmp_path / "not-a-model").mkdir()
    messages = set()
    for name in (str(tmp_path / "not-a-model"), str(tmp_path / "missing"), "~/nothing/here"):
        with pytest.raises(ModelLoadError) as raised:
            resolve(name, visitor)
        messages.add((raised.value.code, str(raised.value)))
    assert len(messages) == 1
    assert str(tmp_path) not in str(messages) and str(Path.home()) not in str(messages)


def test_the_app_on_a_shared_configuration_refuses_a_folder_the_same_way(tmp_path, tiny_model_dirs, monkeypatch):
    monkeypatch.setenv("ATTNVIZ_ALLOW_LOCAL_PATHS", "0")
    monkeypatch.setenv("ATTNVIZ_ALLOW_HUB_IDS", "0")
    st.cache_resource.clear()
    shown = []
    try:
        for folder in (str(tiny_model_dirs["bert"]), str(tmp_path / "nothing-here")):
            at = AppTest.from_file(APP, default_timeout=60)
            at.query_params["model"] = "__custom__"
            at.query_params["model_path"] = folder
            at.run()
            assert not at.exception
            shown.append(" ".join(e.value for e in at.error))
    finally:
        st.cache_resource.clear()
    assert shown[0] == shown[1] and "folders" in shown[0]
    assert str(tmp_path) not in shown[0] and "tiny-models" not in shown[0]
