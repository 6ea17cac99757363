"""The cache facade: cached calls into the attnviz engine — one model per process, one capture per distinct input.

Captures live in one byte-bounded cache per server (the operator's ``cache_bytes``), handed to every
session as they are: no pickled copy per rerun, as ``st.cache_data`` would make.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractContextManager

import streamlit as st
import transformers

from attnviz import AttentionResult, LoadedModel, capture, load_model
from attnviz.cache import ByteBoundedCache
from attnviz.capturing.budget import capture_plan
from attnviz.settings import Settings, listens_only_locally, load_settings
from attnviz.threads import ThreadPolicy

transformers.utils.logging.disable_progress_bar()
transformers.logging.set_verbosity_error()


@st.cache_resource(show_spinner=False)
def visitor_settings() -> Settings:
    """The operator's settings, with defaults for who can reach this server: behind ``attnviz serve``'s proxy,
    the proxy's address (each process itself listens on loopback)."""
    address = os.environ.get("ATTNVIZ_PUBLIC_ADDRESS") or st.get_option("server.address")
    return load_settings(listens_only_locally(address))


@st.cache_resource(show_spinner=False)
def thread_policy() -> ThreadPolicy:
    """Threads per forward pass: every core for a lone visitor, one each when runs overlap (or the operator's
    fixed ``torch_threads``). Every computation of the shared cache runs inside it."""
    return ThreadPolicy(visitor_settings().torch_threads)


Busy = Callable[[], AbstractContextManager] | None  # a spinner to show while work is done, not on a cache hit

_LOADED: set[str] = set()  # models this process has loaded (a spinner per run costs a timer thread)


@st.cache_resource(show_spinner=False, max_entries=6)
def _model(name: str) -> LoadedModel:
    with thread_policy().run():
        return load_model(name, visitor=visitor_settings())


def cached_model(name: str, busy: Busy = None) -> LoadedModel:
    """Shared by every session; only read from (captures run under torch.inference_mode)."""
    if busy is None or name in _LOADED:
        loaded = _model(name)
    else:
        with busy():
            loaded = _model(name)
    _LOADED.add(name)
    return loaded


@st.cache_resource(show_spinner=False)
def _results() -> ByteBoundedCache:
    return ByteBoundedCache(visitor_settings().cache_bytes, around=thread_policy().run)


def shared_cache() -> ByteBoundedCache:
    """The server's one byte-bounded cache (captures, derived views, maps as sent to browsers)."""
    return _results()


def cached_capture(model_name: str, text: str, target: str | None, layer: int | None = None, busy: Busy = None
                   ) -> AttentionResult:
    """Every layer of the text's attention; for inputs too long for the byte budget, float16 and (when the
    page says which ``layer`` it shows) only that layer: see attnviz/capturing/budget.py. ``busy`` shows
    while a capture is made, not when it is served from the cache."""
    loaded = cached_model(model_name)
    limit = visitor_settings().max_tokens
    plan = capture_plan(loaded.shape, _token_count(loaded, text, target, limit), layer)
    return _results().get(("capture", model_name, text, target or None, plan.layers and str(plan.layers),
                           plan.storage),
                          lambda: _busy(busy, lambda: capture(loaded, text, target=target or None,
                                                              max_tokens=limit, layers=plan.layers,
                                                              storage=plan.storage)))


def _busy(busy: Busy, compute):
    if busy is None:
        return compute()
    with busy():
        return compute()


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
    key = ("derived", name, result.inputs, tuple(sorted(result.layers.items())),
           None if arrays is None else str(arrays.dtype), args)
    return _results().get(key, compute)


def cached_decomposition(model_name: str, text: str, target: str | None):
    from attnviz.contributions.decompose import decompose

    return _results().get(("decompose", model_name, text, target or None),
                          lambda: decompose(cached_model(model_name), text, target or None,
                                            max_tokens=visitor_settings().max_tokens))


def cached_attribution(model_name: str, text: str, target: str | None, token: str | None, contrast: str | None,
                       position: int):
    from attnviz.contributions.logits import direct_logit_attribution

    return _results().get(("attribution", model_name, text, target or None, token, contrast, position),
                          lambda: direct_logit_attribution(cached_model(model_name),
                                                           cached_decomposition(model_name, text, target),
                                                           token or None, contrast or None, position))


def cached_lens(model_name: str, text: str, target: str | None, k: int, positions: tuple[int, ...] | None = None):
    from attnviz.contributions.lens import logit_lens

    return _results().get(("lens", model_name, text, target or None, k, positions),
                          lambda: logit_lens(cached_model(model_name), cached_decomposition(model_name, text, target),
                                             k, positions))


def cached_faithfulness(model_name: str, text: str, target: str | None, output: str | None, token: str | None,
                        position: int | None, steps: int):
    from attnviz.faithfulness import OutputChoice, faithfulness
    from attnviz.faithfulness.compute import FAITHFULNESS_MAX_TOKENS

    choice = OutputChoice(output, token or None, position)
    return _results().get(("faithfulness", model_name, text, target or None, choice, steps),
                          lambda: faithfulness(cached_model(model_name), text, target or None, choice, steps=steps,
                                               max_tokens=min(visitor_settings().max_tokens,
                                                              FAITHFULNESS_MAX_TOKENS)))


def cached_patching(model_name: str, clean: str, corrupt: str, answer: str | None, wrong: str | None,
                    target: str | None, component: str, kind: str | None):
    """Exact and attribution patching of one component, their agreement, and every head's attribution by position
    (what a click on a head shows): computed once per inputs, so a click only redraws."""
    from attnviz import AttnvizError
    from attnviz.patching import agreement, attribute, patch, prepare

    def compute():
        loaded = cached_model(model_name)
        pair = prepare(loaded, clean, corrupt, answer or None, wrong or None, target or None)
        exact = patch(loaded, pair, component, kind)
        estimate = attribute(loaded, pair, component, kind)
        try:  # the residual stream of a model whose heads cannot be written is still patched
            heads = attribute(loaded, pair, "head_out_by_pos", kind) if component != "head_out_by_pos" else estimate
        except AttnvizError:
            heads = None
        return exact, estimate, agreement(exact, estimate), heads

    return _results().get(("patching", model_name, clean, corrupt, answer or None, wrong or None, target or None,
                           component, kind), compute)
