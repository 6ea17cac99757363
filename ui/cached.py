"""The cache facade: cached calls into the attnviz engine — one model per process, one capture per distinct input.

Captures live in one byte-bounded cache per server (the operator's ``cache_bytes``), handed to every
session as they are: no pickled copy per rerun, as ``st.cache_data`` would make.
"""

from __future__ import annotations

import streamlit as st
import transformers

from attnviz import AttentionResult, LoadedModel, capture, load_model
from attnviz.cache import ByteBoundedCache
from attnviz.capturing.budget import capture_plan
from attnviz.settings import Settings, listens_only_locally, load_settings

transformers.utils.logging.disable_progress_bar()
transformers.logging.set_verbosity_error()


@st.cache_resource(show_spinner=False)
def visitor_settings() -> Settings:
    """The operator's settings, with defaults for who can reach this server."""
    return load_settings(listens_only_locally(st.get_option("server.address")))


@st.cache_resource(show_spinner=False, max_entries=6)
def cached_model(name: str) -> LoadedModel:
    """Shared by every session; only read from (captures run under torch.inference_mode)."""
    return load_model(name, visitor=visitor_settings())


@st.cache_resource(show_spinner=False)
def _results() -> ByteBoundedCache:
    return ByteBoundedCache(visitor_settings().cache_bytes)


def shared_cache() -> ByteBoundedCache:
    """The server's one byte-bounded cache (captures, derived views, maps as sent to browsers)."""
    return _results()


def cached_capture(model_name: str, text: str, target: str | None, layer: int | None = None) -> AttentionResult:
    """Every layer of the text's attention; for inputs too long for the byte budget, float16 and (when the
    page says which ``layer`` it shows) only that layer: see attnviz/capturing/budget.py."""
    loaded = cached_model(model_name)
    limit = visitor_settings().max_tokens
    plan = capture_plan(loaded.shape, _token_count(loaded, text, target, limit), layer)
    return _results().get(("capture", model_name, text, target or None, plan.layers and str(plan.layers),
                           plan.storage),
                          lambda: capture(loaded, text, target=target or None, max_tokens=limit,
                                          layers=plan.layers, storage=plan.storage))


def _token_count(loaded: LoadedModel, text: str, target: str | None, limit: int) -> int:
    """Tokens of the longer side, as the capture will cut them (tokenizing is cheap next to the forward)."""
    longest = 0
    for part in (text, target):
        if part:
            try:
                longest = max(longest, len(loaded.tokenizer(str(part), truncation=False)["input_ids"]))
            except Exception:  # the capture itself reports bad input in the visitor's language
                longest = max(longest, limit)
    return min(longest, limit, loaded.shape.max_positions or limit)


def cached_derivation(model_name: str, text: str, kind: str, layer: int, head: int, target: str | None = None):
    from attnviz.teach.derivation import derive

    return _results().get(("derive", model_name, text, kind, layer, head, target or None),
                          lambda: derive(cached_model(model_name), text, kind, layer, head, target=target or None))


def cached_ids_capture(model_name: str, ids: tuple[int, ...]) -> AttentionResult:
    """A sequence given as token ids (a prefix of what the model wrote), captured without decoding it to text."""
    from attnviz.capturing.run import capture_token_ids

    return _results().get(("ids", model_name, tuple(ids)),
                          lambda: capture_token_ids(cached_model(model_name), ids)[0])


def cached_flow(model_name: str, text: str, target: str | None, kind: str, layer: int):
    from attnviz.explain.flow import attention_flow

    return _results().get(("flow", model_name, text, target or None, kind, layer),
                          lambda: attention_flow(cached_capture(model_name, text, target), kind, layer))


def cached_value_weighted(model_name: str, text: str, target: str | None, kind: str, layer: int):
    from attnviz.explain.value_norms import value_weighted

    limit = visitor_settings().max_tokens
    return _results().get(("value", model_name, text, target or None, kind, layer),
                          lambda: value_weighted(cached_model(model_name), text, kind, layer, target=target or None,
                                                 max_tokens=limit))


def cached_ablation(model_name: str, text: str, target: str | None, heads: tuple, mode: str):
    from attnviz.explain.ablation import ablation_effect

    return _results().get(("ablate", model_name, text, target or None, heads, mode),
                          lambda: ablation_effect(cached_model(model_name), text, list(heads), mode,
                                                  target=target or None, max_tokens=visitor_settings().max_tokens))


def cached_importance(model_name: str, text: str, target: str | None, mode: str):
    from attnviz.explain.ablation import head_importance

    return _results().get(("importance", model_name, text, target or None, mode),
                          lambda: head_importance(cached_model(model_name), text, mode, target=target or None,
                                                  max_tokens=visitor_settings().max_tokens))


def cached_generation(model_name: str, text: str, max_new_tokens: int):
    from attnviz.explain.generation_steps import generation_steps

    return _results().get(("generate", model_name, text, max_new_tokens),
                          lambda: generation_steps(cached_model(model_name), text, max_new_tokens))


def derived(name: str, result: AttentionResult, args: tuple, compute):
    """A value computed from a capture (a view, a head's profile ...), cached by what it depends on, so a rerun
    that changed only the map's zoom does not recompute it (a 4,096-token view costs a second)."""
    arrays = next(iter(result.arrays.values()), None)
    key = ("derived", name, result.model_name, result.source.token_ids,
           getattr(result.decoder_input, "token_ids", None), tuple(sorted(result.layers.items())),
           None if arrays is None else str(arrays.dtype), args)
    return _results().get(key, compute)
