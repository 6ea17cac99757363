"""The capture point: an attention function registered with transformers' ``AttentionInterface``.

Models loaded with ``attn_implementation=ATTNVIZ`` call :func:`attnviz_attention` in every attention
layer. Outside a capture, and for layers nobody asked about, it hands straight over to SDPA, so the
model runs at full speed. For the layers being captured it runs the model's *own* eager attention
function (the one ``output_attentions=True`` would use, with its GQA repeat, position bias,
soft-capping ...) and records the weights. The active recorder lives in a ``ContextVar``, so one
shared model can serve several threads (Streamlit sessions) at once.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import torch
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import repeat_kv, sdpa_attention_forward
from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask

ATTNVIZ = "attnviz"


@dataclass(frozen=True)
class Site:
    """A module being captured: its result key, its slot in the output buffer, and whether the
    plain softmax(QK^T * scale + mask) formula was verified to equal its eager function."""

    key: tuple[str, int]
    slot: int
    plain: bool


@dataclass
class Recorder:
    """Decides, per attention module, whether to capture, and keeps what was captured.

    ``wanted`` maps ``id(module)`` to a :class:`Site`; weights are written into
    ``buffers[kind][slot]`` (allocated by the caller, so results need no second copy).
    ``wanted=None`` means "probe": log every call and check the plain formula against the model's
    own eager function (done once per model at load time).
    """

    wanted: dict[int, Site] | None
    buffers: dict[str, torch.Tensor] = field(default_factory=dict)
    captured: set[tuple[str, int]] = field(default_factory=set)
    calls: list[tuple[torch.nn.Module, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)
    plain: dict[int, bool] = field(default_factory=dict)  # probe: id(module) -> plain formula matches


_active: ContextVar[Recorder | None] = ContextVar("attnviz_recorder", default=None)


@contextmanager
def recording(recorder: Recorder):
    token = _active.set(recorder)
    try:
        yield recorder
    finally:
        _active.reset(token)


def _generic_eager(module, query, key, value, attention_mask, scaling=None, **kwargs):
    """For models whose file defines no eager function: the plain formula."""
    return plain_attention(module, query, key, value, attention_mask, scaling)


_eager_by_class: dict[type, Callable] = {}


def eager_function_for(module: torch.nn.Module) -> Callable:
    """The eager attention function defined next to the module's class (what ``eager`` would run)."""
    cls = type(module)
    if cls not in _eager_by_class:
        source = importlib.import_module(cls.__module__)
        _eager_by_class[cls] = getattr(source, "eager_attention_forward", _generic_eager)
    return _eager_by_class[cls]


def _additive_mask(module, query, key, attention_mask, is_causal):
    """Turn what the SDPA mask function produced (bool or None) into the float mask eager code adds."""
    if attention_mask is not None and attention_mask.dtype != torch.bool:
        return attention_mask
    q_len, k_len = query.shape[2], key.shape[2]
    causal = is_causal if is_causal is not None else getattr(module, "is_causal", False)
    if attention_mask is None:
        if not (causal and q_len > 1):
            return None
        # Bottom-right aligned: query i sits at absolute position k_len - q_len + i.
        allowed = torch.ones(q_len, k_len, dtype=torch.bool, device=query.device).tril(k_len - q_len)
        attention_mask = allowed[None, None]
    minimum = torch.finfo(query.dtype).min
    zero = torch.zeros((), dtype=query.dtype, device=query.device)
    return torch.where(attention_mask, zero, minimum)


# Keyword arguments that do not change the attention formula (when None/False/0 any is harmless).
_FORMULA_NEUTRAL = {"dropout", "scaling", "is_causal", "position_ids", "cache_position", "use_cache",
                    "output_attentions", "encoder_hidden_states", "return_dict", "past_key_values"}


def _formula_is_plain(module, kwargs) -> bool:
    if module.training and kwargs.get("dropout"):
        return False
    return all(name in _FORMULA_NEUTRAL or value is None for name, value in kwargs.items())


def plain_attention(module, query, key, value, mask, scaling=None, out=None):
    """softmax(Q K^T * scale + mask) V with the weights written straight into ``out``.

    Same arithmetic as the eager functions of BERT, GPT-2, Llama, BART ... but one pass and one
    allocation fewer, and no copy of the weights afterwards.
    """
    groups = getattr(module, "num_key_value_groups", 1)
    if groups > 1:  # grouped-query attention: each KV head serves `groups` query heads
        key, value = repeat_kv(key, groups), repeat_kv(value, groups)
    scaling = query.size(-1) ** -0.5 if scaling is None else scaling
    scores = torch.matmul(query, key.transpose(2, 3))  # (B, H, Q, K)
    scores.mul_(scaling)
    if mask is not None:
        scores.add_(mask[:, :, :, : key.shape[-2]])
    weights = torch.empty_like(scores) if out is None else out
    torch.ops.aten._softmax.out(scores, -1, False, out=weights)
    return torch.matmul(weights, value).transpose(1, 2).contiguous(), weights


def _probe(recorder: Recorder, module, query, key, value, attention_mask, kwargs):
    recorder.calls.append((module, tuple(query.shape), tuple(key.shape)))
    mask = _additive_mask(module, query, key, attention_mask, kwargs.get("is_causal"))
    eager_kwargs = {k: v for k, v in kwargs.items() if k != "is_causal"}
    output, weights = eager_function_for(module)(module, query, key, value, mask, **eager_kwargs)
    if id(module) not in recorder.plain:
        plain_output, plain_weights = plain_attention(module, query, key, value, mask, kwargs.get("scaling"))
        recorder.plain[id(module)] = (
            weights is not None
            and _formula_is_plain(module, kwargs)
            and torch.allclose(plain_weights, weights, atol=1e-6)
            and torch.allclose(plain_output, output, atol=1e-5)
        )
    return output, weights


def attnviz_attention(module, query, key, value, attention_mask, **kwargs):
    recorder = _active.get()
    if recorder is None:
        return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)
    if recorder.wanted is None:
        return _probe(recorder, module, query, key, value, attention_mask, kwargs)
    site = recorder.wanted.get(id(module))
    if site is None:
        return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)
    mask = _additive_mask(module, query, key, attention_mask, kwargs.pop("is_causal", None))
    slot = recorder.buffers[site.key[0]][site.slot : site.slot + 1]  # (1, H, Q, K) view
    if site.plain and _formula_is_plain(module, kwargs):
        output, weights = plain_attention(module, query, key, value, mask, kwargs.get("scaling"), out=slot)
    else:
        output, weights = eager_function_for(module)(module, query, key, value, mask, **kwargs)
        if weights is None:
            raise RuntimeError(f"{type(module).__name__} returned no attention weights from its eager path")
        slot.copy_(weights[:1])
    recorder.captured.add(site.key)
    return output, weights


_registered = False


def register() -> None:
    """Make ``attn_implementation="attnviz"`` known to transformers (idempotent)."""
    global _registered
    if not _registered:
        AttentionInterface.register(ATTNVIZ, attnviz_attention)
        # Masks are built as for SDPA (bool, or None when SDPA may use its causal fast path).
        ALL_MASK_ATTENTION_FUNCTIONS.register(ATTNVIZ, sdpa_mask)
        _registered = True
