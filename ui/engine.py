"""Cached calls into the attnviz engine: one model per process, one capture per distinct input."""

from __future__ import annotations

import streamlit as st
import transformers

from attnviz import AttentionResult, LoadedModel, capture, load_model

transformers.utils.logging.disable_progress_bar()
transformers.logging.set_verbosity_error()


@st.cache_resource(show_spinner=False, max_entries=6)
def cached_model(name: str) -> LoadedModel:
    """Shared by every session; only read from (captures run under torch.inference_mode)."""
    return load_model(name)


# A 512-token capture of every layer is ~75 MB: keep a bounded number, for an hour.
@st.cache_data(show_spinner=False, max_entries=16, ttl=3600)
def cached_capture(model_name: str, text: str, target: str | None) -> AttentionResult:
    return capture(cached_model(model_name), text, target=target or None)


@st.cache_data(show_spinner=False, max_entries=32)
def cached_derivation(model_name: str, text: str, kind: str, layer: int, head: int, target: str | None = None):
    from attnviz.teach.derivation import derive

    return derive(cached_model(model_name), text, kind, layer, head, target=target or None)


@st.cache_data(show_spinner=False, max_entries=32)
def cached_continuation(model_name: str, prompt: str, max_new_tokens: int) -> list[int]:
    from attnviz.models.generation import continue_prompt

    return continue_prompt(cached_model(model_name), prompt, max_new_tokens)
