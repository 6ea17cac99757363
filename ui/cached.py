"""The cache facade: every cached value of the app comes through here. One model per name per process, and every
engine result in the server's one byte-bounded cache under a key made by one function of the call's inputs.

Results are handed to every session as they are (no pickled copy per rerun, as ``st.cache_data`` would make), so
callers treat them as read-only. ``cached(fn, *args, **kwargs)`` is the one way in; a key is never built by hand,
as a key that leaves an input out hands one visitor another visitor's result.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
import weakref
from collections.abc import Callable, Hashable
from contextlib import nullcontext
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import streamlit as st
import transformers

from attnviz import AttentionResult, LoadedModel, capture, load_model
from attnviz.cache import ByteBoundedCache
from attnviz.capturing.budget import capture_plan
from attnviz.settings import Settings, listens_only_locally, load_settings
from attnviz.threads import ThreadPolicy

transformers.utils.logging.disable_progress_bar()
transformers.logging.set_verbosity_error()

T = TypeVar("T")


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


_LOADED: set[str] = set()  # models this process has loaded (a spinner per run costs a timer thread)


@st.cache_resource(show_spinner=False, max_entries=6)
def _model(name: str) -> LoadedModel:
    with thread_policy().run():
        return load_model(name, visitor=visitor_settings())


def cached_model(name: str, busy: str | None = None) -> LoadedModel:
    """Shared by every session; only read from (captures run under torch.inference_mode). Models stay out of the
    byte-bounded cache: their weights are the server's, not one result's. ``busy``: a spinner's text while the
    model loads, not shown once it is loaded."""
    with st.spinner(busy) if busy is not None and name not in _LOADED else nullcontext():
        loaded = _model(name)
    _LOADED.add(name)
    return loaded


@st.cache_resource(show_spinner=False)
def _results() -> ByteBoundedCache:
    return ByteBoundedCache(visitor_settings().cache_bytes, around=thread_policy().run)


def shared_cache() -> ByteBoundedCache:
    """The server's one byte-bounded cache (captures, derived views, maps as sent to browsers)."""
    return _results()


_MADE_BY: dict[int, tuple] = {}  # id of a living value cached() computed -> the key of the call that made it


def key_part(value: Any) -> Hashable:
    """One argument as part of a key, by what it holds, never by where it sits in memory:

    - a loaded model by its name (one model per name per process);
    - a capture by what it was made from as a visitor sees it (each side's token ids and labels: texts that share
      every token id still differ), its layers and precision;
    - a value :func:`cached` computed by the key of the call that made it;
    - bytes by their SHA-256; a file by its path, size and modification time (a rewritten file is read again);
    - lists, tuples, sets and dicts item by item; numpy scalars as numbers;
    - any other value by its own hash. A value hashed by identity or not at all (an array) is refused: pass what
      it was made from instead.
    """
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, LoadedModel):
        return ("model", value.name)
    if isinstance(value, AttentionResult):
        arrays = next(iter(value.arrays.values()), None)
        return ("capture", value.inputs, tuple(sorted(value.layers.items())),
                None if arrays is None else str(arrays.dtype))
    made = _MADE_BY.get(id(value))
    if made is not None:
        return ("made by", made)
    if isinstance(value, bytes):
        return ("bytes", hashlib.sha256(value).hexdigest())
    if isinstance(value, Path):
        return ("file", str(value.expanduser().resolve()), *_file_state(value))
    if isinstance(value, list | tuple):
        return tuple(key_part(item) for item in value)
    if isinstance(value, set | frozenset):
        return frozenset(key_part(item) for item in value)
    if isinstance(value, dict):
        return ("dict", tuple(sorted((str(name), key_part(item)) for name, item in value.items())))
    if type(value).__hash__ in (None, object.__hash__):
        raise TypeError(f"a {type(value).__name__} cannot be part of a cache key: pass what it was made from")
    hash(value)  # a frozen dataclass holding an array fails here, not in the cache
    return value


def _file_state(path: Path) -> tuple[int, int] | tuple[None]:
    try:
        state = path.expanduser().stat()
    except OSError:
        return (None,)  # reading it reports the problem
    return state.st_size, state.st_mtime_ns


# read once per function: a page run makes a dozen cached calls, and inspect.signature costs tens of microseconds
_signature = functools.cache(inspect.signature)


def _bound(fn: Callable, args: tuple, kwargs: dict) -> inspect.BoundArguments:
    """The call's arguments by parameter name, defaults applied. Optional text (a parameter whose default is None)
    given as "" is None: an empty field and no field ask the same, and are computed and kept once. A function that
    takes ``max_tokens`` gets the operator's limit unless the caller gives one."""
    signature = _signature(fn)
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    for name, parameter in signature.parameters.items():
        if parameter.default is None and isinstance(bound.arguments.get(name), str) and not bound.arguments[name]:
            bound.arguments[name] = None
    if bound.arguments.get("max_tokens", 0) is None:
        bound.arguments["max_tokens"] = visitor_settings().max_tokens
    return bound


def _key(fn: Callable, bound: inspect.BoundArguments) -> tuple:
    if getattr(fn, "__closure__", None) or "<lambda>" in fn.__qualname__:
        raise TypeError(f"{fn.__qualname__} cannot be cached: what a closure reads from outside is not in its key, "
                        "and lambdas share one name; pass every input as an argument of a named function")
    return (f"{fn.__module__}.{fn.__qualname__}", *((name, key_part(value)) for name, value in bound.arguments.items()))


def cache_key(fn: Callable, /, *args, **kwargs) -> tuple:
    """The key of ``fn(*args, **kwargs)``: the function's qualified name and every argument under its parameter's
    name (see :func:`key_part`). Two calls share a key exactly when they ask the same."""
    return _key(fn, _bound(fn, args, kwargs))


def cached(fn: Callable[..., T], /, *args, busy: str | None = None, **kwargs) -> T:
    """``fn(*args, **kwargs)`` from the server's one cache: computed once per :func:`cache_key`, under the thread
    policy, with the arguments the key was made from. ``busy``: a spinner's text while it is computed, not shown
    when the value is served from the cache."""
    bound = _bound(fn, args, kwargs)
    key = _key(fn, bound)

    def compute() -> T:
        with st.spinner(busy) if busy is not None else nullcontext():
            value = fn(*bound.args, **bound.kwargs)
        _remember(value, key)
        return value

    return shared_cache().get(key, compute)


def _remember(value: Any, key: tuple) -> None:
    """Let ``value`` stand in later keys for the call that made it, for as long as it lives."""
    try:
        weakref.finalize(value, _MADE_BY.pop, id(value), None)
    except TypeError:  # tuples, lists, numbers: not weakly referable, so never a stand-in
        return
    _MADE_BY[id(value)] = key


def cached_capture(loaded: LoadedModel, text: str, target: str | None = None, layer: int | None = None,
                   busy: str | None = None) -> AttentionResult:
    """Every layer of the text's attention; for inputs too long for the byte budget, float16 and (when the
    page says which ``layer`` it shows) only that layer: see attnviz/capturing/budget.py."""
    limit = visitor_settings().max_tokens
    plan = capture_plan(loaded.shape, _token_count(loaded, text, target, limit), layer)
    return cached(capture, loaded, text, target, plan.layers, max_tokens=limit, storage=plan.storage, busy=busy)


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
