"""Discover a model's attention sites: which modules compute which kind of attention, in layer order.

One tiny forward pass runs with a recorder that logs every call to the capture point. The source
and target lengths differ (5 and 3), so in an encoder-decoder each call's query/key lengths tell
encoder self-attention (5x5), decoder self-attention (3x3) and cross-attention (3x5) apart, with
no knowledge of module names.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import PreTrainedModel

from attnviz.capture.interface import Recorder, recording
from attnviz.errors import NoAttentionError
from attnviz.result import AttentionKind, Family

AttentionSites = dict[AttentionKind, list[torch.nn.Module]]
_SOURCE_LEN, _TARGET_LEN = 5, 3


@dataclass(frozen=True)
class ProbeShapes:
    n_heads: int
    n_kv_heads: int
    head_dim: int
    plain_formula: frozenset[int]  # ids of modules whose eager attention is the plain formula


def _probe_ids(model: PreTrainedModel, length: int) -> torch.Tensor:
    vocab = int(getattr(model.config.get_text_config(), "vocab_size", 100) or 100)
    return (torch.arange(length) % max(1, vocab - 10) + 5).clamp(max=vocab - 1)[None]


def _kind_of(family: Family, q_len: int, k_len: int) -> AttentionKind | None:
    if family == "encoder":
        return "encoder"
    if family == "decoder":
        return "decoder"
    return {
        (_SOURCE_LEN, _SOURCE_LEN): "encoder",
        (_TARGET_LEN, _TARGET_LEN): "decoder",
        (_TARGET_LEN, _SOURCE_LEN): "cross",
    }.get((q_len, k_len))


def find_sites(model: PreTrainedModel, family: Family) -> tuple[AttentionSites, ProbeShapes]:
    inputs = {"input_ids": _probe_ids(model, _SOURCE_LEN)}
    if family == "encoder-decoder":
        start = model.config.decoder_start_token_id
        decoder_ids = _probe_ids(model, _TARGET_LEN)
        if start is not None:
            decoder_ids[0, 0] = start
        inputs["decoder_input_ids"] = decoder_ids
    recorder = Recorder(wanted=None)
    try:
        with recording(recorder), torch.inference_mode():
            model(**inputs, use_cache=False)
    except Exception as error:
        raise NoAttentionError(
            f"The model could not run a short test input ({type(error).__name__}: {str(error)[:200]})."
        ) from error
    if not recorder.calls:
        raise NoAttentionError(
            f"{type(model).__name__} has no attention weights attnviz can read: it either has no attention "
            "layers (a state-space or convolutional model) or computes attention outside transformers' "
            "attention interface."
        )
    sites: AttentionSites = {}
    seen: set[int] = set()
    for module, q_shape, k_shape in recorder.calls:
        kind = _kind_of(family, q_shape[2], k_shape[2])
        if kind is None or id(module) in seen:
            continue
        seen.add(id(module))
        sites.setdefault(kind, []).append(module)
    _, n_heads, _, head_dim = recorder.calls[0][1]
    n_kv_heads = recorder.calls[0][2][1]
    plain = frozenset(m for m, ok in recorder.plain.items() if ok)
    return sites, ProbeShapes(n_heads=n_heads, n_kv_heads=n_kv_heads, head_dim=head_dim, plain_formula=plain)
