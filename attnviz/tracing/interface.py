"""The capture point: an attention function registered with transformers' ``AttentionInterface``.

Models loaded with ``attn_implementation=ATTNVIZ`` call :func:`attnviz_attention` in every attention
layer. With no handler active it hands straight over to SDPA, so the model runs at full speed.
Inside :func:`handling` every call goes to the active handler: the load-time probe
(:mod:`attnviz.tracing.probe`) or a capture (:mod:`attnviz.tracing.handler`), which also serves the
tracer's points inside attention (head ablation is a write at ``hook_z``). The handler lives in a
``ContextVar``, so one shared model can serve several
threads (Streamlit sessions) at once.

This module also holds the arithmetic both share: the additive mask, the plain formula
softmax(QKᵀ·s + M)V and the model's own eager function.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

import torch
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import repeat_kv, sdpa_attention_forward
from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask

from attnviz.masks import causal_mask

ATTNVIZ = "attnviz"
AttentionOutput = tuple[torch.Tensor, torch.Tensor | None]


class AttentionHandler(Protocol):
    def attend(self, module: torch.nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
               attention_mask: torch.Tensor | None, kwargs: dict) -> AttentionOutput: ...


_active: ContextVar[AttentionHandler | None] = ContextVar("attnviz_handler", default=None)


@contextmanager
def handling(handler: AttentionHandler):
    """Route every attention call of this thread's forward passes to ``handler``."""
    token = _active.set(handler)
    try:
        yield handler
    finally:
        _active.reset(token)


# Arguments SDPA cannot honour: such layers run the model's own eager function instead.
_NOT_FOR_SDPA = ("softcap", "s_aux")


def sdpa(module, query, key, value, attention_mask, kwargs: dict) -> AttentionOutput:
    """The fast path for layers nobody is capturing (eager where SDPA cannot compute the layer)."""
    if any(kwargs.get(name) is not None for name in _NOT_FOR_SDPA):
        kwargs = dict(kwargs)
        mask = additive_mask(module, query, key, attention_mask, kwargs.pop("is_causal", None))
        return eager_function_for(module)(module, query, key, value, mask, **kwargs)
    return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)


def _generic_eager(module, query, key, value, attention_mask, scaling=None, softcap=None, **kwargs):
    """For models whose file defines no eager function: the plain formula."""
    return plain_attention(module, query, key, value, attention_mask, scaling, softcap)


_eager_by_class: dict[type, Callable] = {}


def eager_function_for(module: torch.nn.Module) -> Callable:
    """The eager attention function defined next to the module's class (what ``eager`` would run)."""
    cls = type(module)
    if cls not in _eager_by_class:
        source = importlib.import_module(cls.__module__)
        _eager_by_class[cls] = getattr(source, "eager_attention_forward", _generic_eager)
    return _eager_by_class[cls]


def additive_mask(module, query, key, attention_mask, is_causal) -> torch.Tensor | None:
    """Turn what the SDPA mask function produced (bool or None) into the float mask eager code adds."""
    if attention_mask is not None and attention_mask.dtype != torch.bool:
        return attention_mask
    q_len, k_len = query.shape[2], key.shape[2]
    # The same default as transformers' SDPA function: a module that does not say is treated as causal.
    causal = is_causal if is_causal is not None else getattr(module, "is_causal", True)
    if attention_mask is None:
        if not (causal and q_len > 1):
            return None
        forbidden = torch.from_numpy(causal_mask(q_len, k_len)).to(query.device)
        attention_mask = ~forbidden[None, None]
    minimum = torch.finfo(query.dtype).min
    zero = torch.zeros((), dtype=query.dtype, device=query.device)
    return torch.where(attention_mask, zero, minimum)


# Keyword arguments that do not change the attention formula. The sliding window is already in the
# mask the SDPA mask function built; soft-capping is part of the plain formula below. The load-time
# probe still checks, module by module, that the plain formula equals the model's eager function.
_FORMULA_NEUTRAL = {"dropout", "scaling", "is_causal", "position_ids", "cache_position", "use_cache",
                    "output_attentions", "encoder_hidden_states", "return_dict", "past_key_values",
                    "sliding_window", "softcap", "layer_idx"}


def formula_is_plain(module, kwargs) -> bool:
    if module.training and kwargs.get("dropout"):
        return False
    return all(name in _FORMULA_NEUTRAL or value is None or value is False for name, value in kwargs.items())


def plain_attention(module, query, key, value, mask, scaling=None, softcap=None, out=None) -> AttentionOutput:
    """softmax(Q Kᵀ · scale (soft-capped) + mask) V, with the weights written straight into ``out``.

    Same arithmetic as the eager functions of BERT, GPT-2, Llama, Mistral, Gemma 2, BART ... but one
    pass and one allocation fewer, and no copy of the weights afterwards.
    """
    groups = query.shape[1] // key.shape[1]
    if groups > 1:  # grouped-query attention: each KV head serves `groups` query heads
        key, value = repeat_kv(key, groups), repeat_kv(value, groups)
    scaling = query.size(-1) ** -0.5 if scaling is None else scaling
    scores = torch.matmul(query, key.transpose(2, 3))  # (B, H, Q, K)
    scores.mul_(scaling)
    if softcap is not None:  # Gemma 2: tanh soft-capping of the logits
        scores = torch.tanh(scores / softcap) * softcap
    if mask is not None:
        scores.add_(mask[:, :, :, : key.shape[-2]])
    if out is None and torch.is_grad_enabled() and scores.requires_grad:  # a traced run keeping gradients:
        weights = torch.softmax(scores, dim=-1)  # out= versions have no backward
    else:
        weights = torch.empty_like(scores) if out is None else out
        torch.ops.aten._softmax.out(scores, -1, False, out=weights)
    return torch.matmul(weights, value).transpose(1, 2).contiguous(), weights


def attnviz_attention(module, query, key, value, attention_mask, **kwargs):
    handler = _active.get()
    if handler is None:
        return sdpa(module, query, key, value, attention_mask, kwargs)
    return handler.attend(module, query, key, value, attention_mask, kwargs)


def explicit_sdpa_mask(*args, **kwargs):
    """SDPA's boolean masks, always built: never None for "SDPA will apply is_causal itself".

    That shortcut trusts each module's ``is_causal`` flag, and some models set it wrong (NLLB-MoE's decoder
    says False): their SDPA path then ignores causality that their eager path applies. An explicit mask
    makes every layer, captured or not, compute what eager computes.
    """
    kwargs["allow_is_causal_skip"] = False
    kwargs["allow_is_bidirectional_skip"] = False
    return sdpa_mask(*args, **kwargs)


_registered = False


def register() -> None:
    """Make ``attn_implementation="attnviz"`` known to transformers (idempotent)."""
    global _registered
    if not _registered:
        AttentionInterface.register(ATTNVIZ, attnviz_attention)
        ALL_MASK_ATTENTION_FUNCTIONS.register(ATTNVIZ, explicit_sdpa_mask)
        _registered = True
