"""Learn a model's attention sites at load time, from one tiny forward pass.

A :class:`Probe` handles every call to the capture point during that pass. It records which module
ran, with which query/key shapes, and checks whether the plain formula equals the module's eager
function. The source and target lengths differ (5 and 3), so in an encoder-decoder each call's
query/key lengths tell encoder self-attention (5x5), decoder self-attention (3x3) and
cross-attention (3x5) apart, with no knowledge of module names.

A module may run several times in one pass (ALBERT shares one layer's weights across all layers):
each *application* is a site, numbered as the model's layers are.

Models whose attention never reaches the capture point (DeBERTa-v2, MPNet, BLOOM ...) are probed
again with ``output_attentions=True``; if that returns weights they are captured that way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from transformers import PreTrainedModel
from transformers.pytorch_utils import Conv1D

from attnviz.errors import NoAttentionError
from attnviz.result import AttentionKind, CapturePath, Family, HeadLayout
from attnviz.tracing.interface import (
    AttentionOutput,
    additive_mask,
    eager_function_for,
    formula_is_plain,
    handling,
    plain_attention,
)

SOURCE_LEN, TARGET_LEN = 5, 3


@dataclass(frozen=True)
class AttentionSite:
    """One application of an attention module: ``kind`` attention of model layer ``layer``."""

    kind: AttentionKind
    layer: int
    module: torch.nn.Module | None  # None on the output_attentions path
    application: int  # 0 unless the module runs several times per forward pass (shared layers)
    heads: int
    kv_heads: int
    head_dim: int
    plain_formula: bool  # the fast path was verified to equal the module's eager function
    output_projection: torch.nn.Module | None = None  # W_o: the Linear/Conv1D that reads the heads' output


@dataclass(frozen=True)
class ProbeReport:
    path: CapturePath
    sites: dict[AttentionKind, list[AttentionSite]]
    several_maps_per_layer: bool = False

    @property
    def layouts(self) -> dict[AttentionKind, HeadLayout]:
        return {kind: HeadLayout(tuple(s.heads for s in sites), tuple(s.kv_heads for s in sites),
                                 tuple(s.head_dim for s in sites)) for kind, sites in self.sites.items()}


@dataclass
class _Call:
    module: torch.nn.Module
    q_shape: tuple[int, ...]
    k_shape: tuple[int, ...]
    output: torch.Tensor  # (B, Q, H*D): what W_o should read
    projection: torch.nn.Module | None = None


@dataclass
class Probe:
    """Attention handler of the load-time pass: runs the model's own eager function and logs each call."""

    calls: list[_Call] = field(default_factory=list)
    plain: dict[int, bool] = field(default_factory=dict)  # id(module) -> plain formula matches eager
    _waiting: list[_Call] = field(default_factory=list)  # calls whose output projection is not found yet

    def attend(self, module, query, key, value, attention_mask, kwargs) -> AttentionOutput:
        mask = additive_mask(module, query, key, attention_mask, kwargs.get("is_causal"))
        eager_kwargs = {k: v for k, v in kwargs.items() if k != "is_causal"}
        output, weights = eager_function_for(module)(module, query, key, value, mask, **eager_kwargs)
        if id(module) not in self.plain:
            plain_output, plain_weights = plain_attention(module, query, key, value, mask, kwargs.get("scaling"),
                                                          kwargs.get("softcap"))
            self.plain[id(module)] = (
                weights is not None
                and formula_is_plain(module, kwargs)
                and torch.allclose(plain_weights, weights, atol=1e-6)
                and torch.allclose(plain_output, output, atol=1e-5)
            )
        call = _Call(module, tuple(query.shape), tuple(key.shape), output.reshape(*output.shape[:2], -1).detach())
        self.calls.append(call)
        self._waiting.append(call)
        return output, weights

    def projection_hook(self, linear: torch.nn.Module, inputs: tuple) -> None:
        """Forward pre-hook on every Linear: the first one fed a waiting call's output is its W_o."""
        if not self._waiting or not inputs or not isinstance(inputs[0], torch.Tensor):
            return
        fed = inputs[0]
        for call in list(self._waiting):
            if fed.shape == call.output.shape and torch.equal(fed, call.output.to(fed.dtype)):
                call.projection = linear
                self._waiting.remove(call)
                return


def _probe_ids(model: PreTrainedModel, length: int) -> torch.Tensor:
    vocab = int(getattr(model.config.get_text_config(), "vocab_size", 100) or 100)
    return (torch.arange(length) % max(1, vocab - 10) + 5).clamp(max=vocab - 1)[None]


def probe_inputs(model: PreTrainedModel, family: Family) -> dict:
    device = next(model.parameters()).device
    inputs = {"input_ids": _probe_ids(model, SOURCE_LEN).to(device)}
    if family == "encoder-decoder":
        start = getattr(model.config, "decoder_start_token_id", None)
        decoder_ids = _probe_ids(model, TARGET_LEN)
        if start is not None:
            decoder_ids[0, 0] = start
        inputs["decoder_input_ids"] = decoder_ids.to(device)
    return inputs


def _kind_of(family: Family, q_len: int, k_len: int) -> AttentionKind | None:
    if family == "encoder":
        return "encoder" if (q_len, k_len) == (SOURCE_LEN, SOURCE_LEN) else None
    if family == "decoder":
        return "decoder" if (q_len, k_len) == (SOURCE_LEN, SOURCE_LEN) else None
    return {
        (SOURCE_LEN, SOURCE_LEN): "encoder",
        (TARGET_LEN, TARGET_LEN): "decoder",
        (TARGET_LEN, SOURCE_LEN): "cross",
    }.get((q_len, k_len))


def _run(model: PreTrainedModel, inputs: dict, **extra):
    try:
        with torch.inference_mode():
            return model(**inputs, use_cache=False, **extra)
    except Exception as error:
        raise NoAttentionError(code="probe_failed", error=type(error).__name__) from error


def _interface_sites(probe: Probe, family: Family) -> dict[AttentionKind, list[AttentionSite]]:
    sites: dict[AttentionKind, list[AttentionSite]] = {}
    applications: dict[int, int] = {}
    for call in probe.calls:
        application = applications.get(id(call.module), 0)
        applications[id(call.module)] = application + 1
        kind = _kind_of(family, call.q_shape[2], call.k_shape[2])
        if kind is None:
            continue
        layer = len(sites.get(kind, []))
        sites.setdefault(kind, []).append(AttentionSite(
            kind=kind, layer=layer, module=call.module, application=application, heads=call.q_shape[1],
            kv_heads=call.k_shape[1], head_dim=call.q_shape[3], plain_formula=probe.plain.get(id(call.module), False),
            output_projection=call.projection,
        ))
    return sites


_ATTENTION_OUTPUTS: dict[AttentionKind, tuple[str, ...]] = {
    "encoder": ("encoder_attentions", "attentions"),
    "decoder": ("decoder_attentions", "attentions"),
    "cross": ("cross_attentions",),
}


def returned_attentions(outputs, family: Family) -> dict[AttentionKind, tuple[torch.Tensor, ...]]:
    """The ``output_attentions=True`` weights of a forward pass, by kind (only non-empty ones)."""
    wanted: tuple[AttentionKind, ...] = {"encoder": ("encoder",), "decoder": ("decoder",),
                                         "encoder-decoder": ("encoder", "decoder", "cross")}[family]
    found = {}
    for kind in wanted:
        for name in _ATTENTION_OUTPUTS[kind]:
            value = getattr(outputs, name, None)
            # [batch, head, query, key] only: block-local attention (LongT5, BigBird) has no token × token map
            if value and all(isinstance(a, torch.Tensor) and a.ndim == 4 for a in value):
                found[kind] = tuple(value)
                break
    return found


def _returned_sites(model: PreTrainedModel, family: Family, inputs: dict) -> dict[AttentionKind, list[AttentionSite]]:
    outputs = _run(model, inputs, output_attentions=True)
    text_config = model.config.get_text_config()
    hidden = int(getattr(text_config, "hidden_size", 0) or getattr(text_config, "d_model", 0) or 0)
    sites: dict[AttentionKind, list[AttentionSite]] = {}
    windowed: list[AttentionKind] = []
    n_target = TARGET_LEN if family == "encoder-decoder" else SOURCE_LEN
    lengths = {"encoder": (SOURCE_LEN, SOURCE_LEN), "decoder": (n_target, n_target), "cross": (n_target, SOURCE_LEN)}
    for kind, maps in returned_attentions(outputs, family).items():
        if tuple(maps[0].shape[-2:]) != lengths[kind]:
            windowed.append(kind)  # local-window attention (Longformer, LED) returns [query, window]
            continue
        sites[kind] = [AttentionSite(kind=kind, layer=layer, module=None, application=0, heads=a.shape[1],
                                     kv_heads=a.shape[1], plain_formula=False,
                                     head_dim=int(getattr(text_config, "head_dim", 0) or hidden // a.shape[1]))
                       for layer, a in enumerate(maps)]
    if not sites and windowed:
        raise NoAttentionError(code="windowed_attention", model=type(model).__name__)
    return sites


def _projection_modules(model: PreTrainedModel) -> list[torch.nn.Module]:
    return [m for m in model.modules() if isinstance(m, (torch.nn.Linear, Conv1D))]


def probe_interface(model: PreTrainedModel, family: Family) -> ProbeReport | None:
    """Sites seen through the capture point, or None when no attention call reached it."""
    inputs = probe_inputs(model, family)
    probe = Probe()
    invocations: dict[int, int] = {}

    def count(module, _inputs):
        invocations[id(module)] = invocations.get(id(module), 0) + 1

    hooks = [m.register_forward_pre_hook(probe.projection_hook) for m in _projection_modules(model)]
    hooks += [m.register_forward_pre_hook(count) for m in model.modules()]
    try:
        with handling(probe):
            _run(model, inputs)
    finally:
        for hook in hooks:
            hook.remove()
    if not probe.calls:
        return None
    calls: dict[int, int] = {}
    for call in probe.calls:
        calls[id(call.module)] = calls.get(id(call.module), 0) + 1
    # More attention calls than runs of the module: one layer computes several maps (DiffLlama's
    # differential attention), which are not one map per layer.
    several = any(n > invocations.get(module, 0) for module, n in calls.items())
    return ProbeReport("interface", _interface_sites(probe, family), several_maps_per_layer=several)


def probe_returned(model: PreTrainedModel, family: Family) -> ProbeReport:
    """Sites of a model whose attention is outside the interface, from its eager ``output_attentions``."""
    sites = _returned_sites(model, family, probe_inputs(model, family))
    if not sites:
        raise NoAttentionError(code="no_attention_weights", model=type(model).__name__)
    return ProbeReport("output_attentions", sites)
