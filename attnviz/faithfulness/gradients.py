"""Input attributions through Captum, on the input token embeddings, one number per token.

- **integrated gradients** (Sundararajan et al., 2017): from the blank input B (every token but the special
  ones replaced by the blank token), Gauss-Legendre steps in one batch (``steps`` points), summed over the
  hidden dimension, so the scores add up to ``f(E) − f(B)`` up to Captum's convergence delta;
- **gradient × input**: ``∂f/∂E · E`` summed over the hidden dimension;
- **gradient**: ``‖∂f/∂E‖₂`` over the hidden dimension (a plain gradient has no sign per token);
- **occlusion**: ``f(E) − f(E with token i blanked)``, Captum's ``Occlusion`` with a window of one token ×
  the whole hidden dimension, every token in one batch.

The blank is the embedding of the padding token (else the unknown token, else zeros) for both integrated
gradients and occlusion; position embeddings are added by the model as for the real input. The baseline B
keeps the special tokens ([CLS], </s> ...) as they are, so their integrated gradients are 0 and the content
tokens share f(E) − f(B); occlusion blanks specials too, one at a time. Not zeros for the blank: a
pre-norm model (Llama's RMSNorm) is scale-invariant until the embedding is almost zero, so on the path from 0
the output jumps in a sliver near 0 that no number of steps integrates (the toy LM's gap did not shrink).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from captum.attr import InputXGradient, IntegratedGradients, Occlusion, Saliency

from attnviz.faithfulness.outputs import OutputScalar

# Inputs × steps (or occluded copies) per forward pass are capped so that the batch's attention maps stay
# about as large as 64 copies of 64 tokens: 32 tokens run in one batch, a 512-token text one copy at a time.
BATCH_CELLS = 64 * 64 * 64
IG_STEPS = 64  # Gauss-Legendre points, one batch: the gap to f(E) − f(B) is under 0.1% on the built-in models


@dataclass(frozen=True)
class Attributions:
    """One score per input token for each gradient method and occlusion, and integrated gradients' check."""

    scores: dict[str, np.ndarray]  # method -> [token], float64
    ig_steps: int
    ig_delta: float  # Captum's convergence delta: sum of the attributions − (f(E) − f(B))
    baseline_value: float  # f(B)


def gradient_methods(scalar: OutputScalar, steps: int = IG_STEPS) -> Attributions:
    embeds = scalar.embeddings.clone().requires_grad_()  # [1, token, hidden]
    baseline = scalar.baseline
    batch = batch_size(embeds.shape[1], steps)
    with torch.enable_grad():
        ig, delta = IntegratedGradients(scalar).attribute(
            embeds, baselines=baseline, n_steps=steps, internal_batch_size=batch, return_convergence_delta=True)
        times_input = InputXGradient(scalar).attribute(embeds)
        gradient = Saliency(scalar).attribute(embeds, abs=False)
    with torch.no_grad():
        baseline_value = float(scalar(baseline)[0])
    return Attributions({
        "gradient_x_input": _per_token(times_input.sum(-1)),
        "integrated_gradients": _per_token(ig.sum(-1)),
        "gradient": _per_token(gradient.norm(dim=-1)),
    }, steps, float(delta.reshape(-1)[0]), baseline_value)


def batch_size(n_tokens: int, wanted: int) -> int:
    """Rows per forward pass: ``wanted``, fewer for long inputs (see BATCH_CELLS)."""
    return max(1, min(wanted, BATCH_CELLS // max(1, n_tokens * n_tokens)))


def occlusion(scalar: OutputScalar) -> np.ndarray:
    """``f(E) − f(E with token i blanked)`` per token, every token's copy in one batch (fewer for long inputs)."""
    embeds = scalar.embeddings
    n, hidden = embeds.shape[1:]
    with torch.no_grad():
        scores = Occlusion(scalar).attribute(embeds, sliding_window_shapes=(1, hidden), strides=(1, hidden),
                                             baselines=scalar.blanks, perturbations_per_eval=batch_size(n, n))
    return _per_token(scores[..., 0])  # each window gives all its hidden cells the same value


def _per_token(values: torch.Tensor) -> np.ndarray:
    return values.detach()[0].double().cpu().numpy()
