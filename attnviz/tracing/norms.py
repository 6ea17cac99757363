"""Norms, linearised once: which formula a norm ran, and its real per-position scale.

A norm is linear once its per-position scale ``1/σ`` is fixed, so anything written into the stream
before it can be carried through it (Kobayashi et al., 2021): the decomposition, the routes, the lens
and patching all take a norm from here. The formula is not guessed from the class name (T5's
"LayerNorm" is an RMSNorm, Gemma's weight is 1 + w): each candidate is applied to the norm's real input
and the one that reproduces its real output is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from attnviz.errors import StreamError

NormKind = Literal["layernorm", "rmsnorm"]
CLOSE = 1e-3  # relative distance under which two residual-sized vectors are "the same tensor" (a sublayer is far more)


def same(a: torch.Tensor, b: torch.Tensor, tolerance: float = CLOSE) -> bool:
    """Whether ``a`` is ``b`` up to float noise: ``‖a − b‖ ≤ tolerance · ‖b‖`` (shapes must match)."""
    if a.shape != b.shape:
        return False
    a, b = a.detach().float(), b.detach().float()  # a comparison, never part of a traced run's gradient;
    # float32 sums are exact enough for these tolerances, and a batch of 72 rows is not copied to float64 twice
    return float((a - b).norm()) <= tolerance * (float(b.norm()) + 1e-6)


def is_norm(module: torch.nn.Module) -> bool:
    """A normalisation layer (LayerNorm, RMSNorm, T5LayerNorm ...), by type or by name."""
    return isinstance(module, torch.nn.LayerNorm) or "norm" in type(module).__name__.lower()


def epsilon(module: torch.nn.Module) -> float:
    for name in ("eps", "variance_epsilon", "epsilon"):
        value = getattr(module, name, None)
        if isinstance(value, (int, float)):
            return float(value)
    shape = getattr(module, "normalized_shape", None)
    return 1e-5 if shape is not None else 1e-6


@dataclass(frozen=True)
class NormScale:
    """A norm as it acted in the real pass: ``y = (x − mean(x) if layernorm) · scale[pos] · weight + bias``."""

    kind: NormKind
    scale: np.ndarray  # [pos]
    weight: np.ndarray  # [d] (Gemma's 1 + w already added)
    bias: np.ndarray | None  # [d]
    eps: float = 1e-5

    def normalise(self, x: np.ndarray) -> np.ndarray:
        """The norm applied afresh to a whole residual ``[..., pos, d]``, with that residual's own scale (the lens)."""
        x = x.astype(np.float64)
        if self.kind == "layernorm":
            x = x - x.mean(axis=-1, keepdims=True)
        scale = 1 / np.sqrt((x * x).mean(axis=-1, keepdims=True) + self.eps)
        return (x * scale * self.weight + (0 if self.bias is None else self.bias)).astype(np.float32)

    def apply(self, component: np.ndarray) -> np.ndarray:
        """The norm applied to one component ``[..., pos, d]`` of its input (β left out: it is a term of its own)."""
        if self.kind == "layernorm":
            component = component - component.mean(axis=-1, keepdims=True)
        return component * self.scale[:, None] * self.weight

    def apply_torch(self, component: torch.Tensor) -> torch.Tensor:
        """:meth:`apply` on a torch tensor ``[..., pos, d]`` (same dtype and device out)."""
        if self.kind == "layernorm":
            component = component - component.mean(dim=-1, keepdim=True)
        scale = torch.as_tensor(self.scale, dtype=component.dtype, device=component.device)[:, None]
        weight = torch.as_tensor(self.weight, dtype=component.dtype, device=component.device)
        return component * scale * weight


def norm_scale(module: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> NormScale:
    """The norm ``module`` as it turned ``x`` into ``y`` ``[pos, d]``: which formula, its per-position scale."""
    x64, y64 = x.detach().double().cpu(), y.detach().double().cpu()
    d = x.shape[-1]
    weight = getattr(module, "weight", None)
    weight = torch.ones(d, dtype=torch.float64) if weight is None else weight.detach().double().cpu()
    bias = getattr(module, "bias", None)
    bias = None if bias is None else bias.detach().double().cpu()
    eps = epsilon(module)
    centred = x64 - x64.mean(-1, keepdim=True)
    candidates = {"layernorm": (centred, 1 / torch.sqrt(centred.pow(2).mean(-1) + eps)),
                  "rmsnorm": (x64, 1 / torch.sqrt(x64.pow(2).mean(-1) + eps))}
    for kind, (base, scale) in candidates.items():
        for gamma in (weight, 1 + weight):
            rebuilt = base * scale[..., None] * gamma + (0 if bias is None else bias)
            if same(rebuilt, y64, 1e-4):
                return NormScale(kind, scale.float().numpy(), gamma.float().numpy(),
                                 None if bias is None else bias.float().numpy(), eps)
    raise StreamError(code="unknown_norm", norm=type(module).__name__)
