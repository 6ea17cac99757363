"""attnviz results from a TransformerLens ``ActivationCache`` (``model.run_with_cache(...)``), for the notebook views.

Only the cache's own accessors are used (``blocks.{l}.attn.hook_pattern``, ``stack_head_results``,
``logit_attrs``, ``decompose_resid``, ``accumulated_resid``), so what is drawn is TransformerLens's numbers;
transformer_lens itself is never imported here.
"""

from __future__ import annotations

import numpy as np
import torch

from attnviz.capturing.tokenizing import token_labels
from attnviz.contributions.lens import LogitLens, lens_from_rows, read_row
from attnviz.contributions.logits import LogitAttribution


def is_activation_cache(value) -> bool:
    return hasattr(value, "stack_head_results") and hasattr(value, "keys") and "blocks.0.attn.hook_pattern" in value


def patterns(cache) -> tuple[np.ndarray, bool]:
    """``[layer, head, query, key]`` of the first batch row, and whether the model is causal."""
    model = cache.model
    stacked = np.stack([cache[f"blocks.{layer}.attn.hook_pattern"].detach().float().cpu().numpy()[0]
                        for layer in range(model.cfg.n_layers)])
    return stacked, getattr(model.cfg, "attention_dir", "causal") == "causal"


def _token(model, token) -> int:
    return int(token) if isinstance(token, (int, np.integer)) else int(model.to_single_token(token))


def _labels(model, ids) -> tuple[str, ...]:
    return token_labels(getattr(model, "tokenizer", None), ids)


def attribution_from_cache(cache, logits: torch.Tensor | None = None, token=None, contrast=None,
                           position: int = -1) -> LogitAttribution:
    """Each head's and MLP's direct logit attribution, as TransformerLens computes it (first batch row).

    ``logits`` (what ``run_with_cache`` returned) gives the default token, the model's prediction.
    """
    model = cache.model
    n_layers, n_heads = model.cfg.n_layers, model.cfg.n_heads
    with torch.no_grad():
        if token is None:
            if logits is None:
                raise ValueError("pass the logits run_with_cache returned, or the token to explain")
            token = int(logits[0, position].argmax())
        target = _token(model, token)
        against = None if contrast is None else _token(model, contrast)
        heads = cache.stack_head_results()  # [layer·head, batch, pos, d]
        head_values = cache.logit_attrs(heads, tokens=target, incorrect_tokens=against)[:, 0, position]
        stack, labels = cache.decompose_resid(return_labels=True)
        values = cache.logit_attrs(stack, tokens=target, incorrect_tokens=against)[:, 0, position]
    by_label = dict(zip(labels, values.tolist()))
    mlps = np.array([by_label.get(f"{layer}_mlp_out", 0.0) for layer in range(n_layers)])
    attention = np.array([by_label.get(f"{layer}_attn_out", 0.0) for layer in range(n_layers)])
    head_grid = head_values.detach().double().numpy().reshape(n_layers, n_heads)
    embeddings = sum(v for name, v in by_label.items() if "embed" in name)
    logit = float(sum(values.tolist()))  # the parts of the final residual: the logit without the LM head's bias
    return LogitAttribution(
        model_name=getattr(model.cfg, "model_name", "model"), position=position % heads.shape[2],
        token=_labels(model, [target])[0], token_id=target,
        contrast=None if against is None else _labels(model, [against])[0], contrast_id=against,
        heads=head_grid, mlps=mlps, attention_bias=attention - head_grid.sum(axis=1), embeddings=float(embeddings),
        bias=0.0, logit=logit,
    )


def lens_from_cache(cache, tokens=None, k: int = 5) -> LogitLens:
    """The logit lens from the cache: ``accumulated_resid(apply_ln=True)`` through ``W_U`` and ``b_U``."""
    model = cache.model
    with torch.no_grad():
        accumulated = cache.accumulated_resid(apply_ln=True)[:, 0]  # [row, pos, d]
        logits = [row @ model.W_U + (model.b_U if getattr(model, "b_U", None) is not None else 0)
                  for row in accumulated]
        predicted = logits[-1].argmax(-1)
        rows = [read_row(row, predicted, k) for row in logits]
    positions = tuple(str(t) for t in tokens) if tokens is not None else tuple(str(i) for i in range(len(predicted)))
    return lens_from_rows(getattr(model.cfg, "model_name", "model"), positions, rows, predicted,
                          lambda ids: _labels(model, ids))
