"""The attention handler of a capture: writes the wanted sites' weights into result buffers, serves the tracer.

Every other call goes straight to SDPA. Sites are recognised by module and application number
(a shared module's n-th call in a forward pass is its n-th site), counted per forward pass so
``generate()``'s repeated forwards map to the same sites.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from attnviz.errors import CaptureShapeError, NoAttentionError
from attnviz.result import AttentionKind
from attnviz.tracing.interface import (
    AttentionOutput,
    additive_mask,
    eager_function_for,
    formula_is_plain,
    plain_attention,
    sdpa,
)
from attnviz.tracing.probe import AttentionSite

SiteKey = tuple[AttentionKind, int]  # (kind, model layer)


@dataclass
class RecordedVectors:
    query: torch.Tensor  # (B, H, Q, D)
    key: torch.Tensor  # (B, Hkv, K, D)
    value: torch.Tensor
    mask: torch.Tensor | None  # additive (B|1, 1|H, Q, K)
    scaling: float
    softcap: float | None
    output: torch.Tensor  # (B, Q, H, D)


@dataclass
class CaptureSession:
    """Handler for one forward pass (or one ``generate()``) of a loaded model.

    ``buffers[kind]`` is ``[captured layer, batch, heads, query, key]``, allocated by the caller so
    results need no second copy; ``slots`` maps a site to its index on axis 0. ``requests`` are the
    tracer's points of each site (:class:`attnviz.tracing.trace.Tracer`): a consumer that reduces a
    pattern at once (the census, a hook on ``hook_pattern``) needs no buffer, and the weights of a site
    without one are freed with its layer, so memory does not grow with the number of layers.
    """

    sites: dict[tuple[int, int], AttentionSite]  # (id(module), application) -> site
    applications: dict[int, int]  # id(module) -> applications per forward pass
    slots: dict[SiteKey, int] = field(default_factory=dict)
    buffers: dict[AttentionKind, torch.Tensor] = field(default_factory=dict)
    record_vectors: bool = False
    captured: set[SiteKey] = field(default_factory=set)
    vectors: dict[SiteKey, RecordedVectors] = field(default_factory=dict)
    requests: dict[SiteKey, Any] = field(default_factory=dict)  # the tracer's points per site (tracing.trace)
    _calls: dict[int, int] = field(default_factory=dict)

    def _site(self, module) -> AttentionSite | None:
        per_pass = self.applications.get(id(module))
        if per_pass is None:
            return None
        count = self._calls.get(id(module), 0)
        self._calls[id(module)] = count + 1
        return self.sites.get((id(module), count % per_pass))

    def attend(self, module, query, key, value, attention_mask, kwargs) -> AttentionOutput:
        site = self._site(module)
        key_of = (site.kind, site.layer) if site else None
        request = self.requests.get(key_of) if key_of else None
        if request is not None:  # hook_q, hook_k, hook_v: read, or written before attention uses them
            query, key, value = request.vectors(query, key, value)
        slot = self.slots.get(key_of) if key_of else None
        if slot is not None:
            output, weights = self._capture(site, slot, module, query, key, value, attention_mask, kwargs)
        elif request is not None and request.needs_pattern:
            output, weights = self._weights(site, module, query, key, value, attention_mask, kwargs)
            self.captured.add(key_of)
        else:
            output, weights = sdpa(module, query, key, value, attention_mask, kwargs)
        if request is not None:  # hook_pattern, hook_z (a written pattern recomputes the output)
            output = request.after(module, query, key, value, attention_mask, kwargs, weights, output)
        if slot is None and request is not None and request.needs_pattern:
            weights = None  # computed for the tracer's hooks only: freed with this layer, as on the SDPA path
        return output, weights

    def _capture(self, site: AttentionSite, slot: int, module, query, key, value, attention_mask, kwargs):
        buffer = self.buffers[site.kind][slot]  # (B, H_max, Q, K)
        batch, heads, q_len, _ = query.shape
        expected = (buffer.shape[0], site.heads, buffer.shape[2], buffer.shape[3])
        if (batch, heads, q_len, key.shape[2]) != expected:
            raise CaptureShapeError(code="capture_shape", kind=site.kind, layer=site.layer,
                                    shape=(batch, heads, q_len, key.shape[2]), expected=expected)
        call = dict(kwargs)
        mask = additive_mask(module, query, key, attention_mask, call.pop("is_causal", None))
        target = buffer[:, :heads]
        in_place = (site.plain_formula and formula_is_plain(module, call) and query.dtype == target.dtype
                    and query.device == target.device and target.is_contiguous())
        if in_place:  # the weights land in the result's buffer directly
            output, weights = plain_attention(module, query, key, value, mask, call.get("scaling"),
                                              call.get("softcap"), out=target)
        else:
            output, weights = self._weights(site, module, query, key, value, attention_mask, kwargs)
            target.copy_(weights)
        if self.record_vectors:
            scaling = kwargs.get("scaling")
            self.vectors[(site.kind, site.layer)] = RecordedVectors(
                query.detach().float().cpu(), key.detach().float().cpu(), value.detach().float().cpu(),
                None if mask is None else mask.detach().float().cpu(),
                float(query.shape[-1] ** -0.5 if scaling is None else scaling), kwargs.get("softcap"),
                output.detach().float().cpu(),
            )
        self.captured.add((site.kind, site.layer))
        return output, weights

    def _weights(self, site: AttentionSite, module, query, key, value, attention_mask, kwargs):
        """Output and weights of a site without a buffer (the same formulas as a captured site)."""
        kwargs = dict(kwargs)
        mask = additive_mask(module, query, key, attention_mask, kwargs.pop("is_causal", None))
        if site.plain_formula and formula_is_plain(module, kwargs):
            return plain_attention(module, query, key, value, mask, kwargs.get("scaling"), kwargs.get("softcap"))
        output, weights = eager_function_for(module)(module, query, key, value, mask, **kwargs)
        if weights is None:
            raise NoAttentionError(code="eager_no_weights", module=type(module).__name__)
        return output, weights


def routing(sites: dict[AttentionKind, list[AttentionSite]]) -> CaptureSession:
    """A session that knows the model's sites and captures nothing (yet)."""
    by_call, applications = {}, {}
    for kind_sites in sites.values():
        for site in kind_sites:
            by_call[(id(site.module), site.application)] = site
            applications[id(site.module)] = max(applications.get(id(site.module), 0), site.application + 1)
    return CaptureSession(sites=by_call, applications=applications)
