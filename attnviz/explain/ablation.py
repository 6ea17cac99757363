"""What removing heads does to the model's output, and which heads matter most.

The effect is measured where each family's output lives: the next-token distribution of a decoder
(KL divergence, top tokens), the translation of an encoder-decoder (generated text; KL over the
target positions) and the sentence embedding of an encoder (mean of the last hidden states;
1 − cosine). The importance map ablates every head alone, many heads per batched forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from attnviz.capturing.run import model_inputs
from attnviz.capturing.tokenizing import sequence_from_ids
from attnviz.interventions import AblationMode, HeadRef, ablate_heads, ablate_heads_per_row
from attnviz.models.loading import LoadedModel
from attnviz.result import AttentionKind, Family
from attnviz.tracing.generate import greedy
from attnviz.tracing.trace import run
from attnviz.tracing.vocab import without_unknown

METRICS: dict[Family, str] = {"decoder": "kl_next", "encoder-decoder": "kl_target", "encoder": "one_minus_cosine"}


@dataclass(frozen=True)
class TokenChance:
    label: str
    probability: float


@dataclass(frozen=True)
class AblationEffect:
    """Output before and after ablating ``heads``; ``score`` is the family's metric (0: no change)."""

    family: Family
    heads: tuple[HeadRef, ...]
    mode: AblationMode
    metric: str  # see METRICS
    score: float
    top_before: tuple[TokenChance, ...] = ()  # decoder: next token after the text
    top_after: tuple[TokenChance, ...] = ()
    text_before: str = ""  # encoder-decoder: the greedy translation
    text_after: str = ""
    cosine: float | None = None  # encoder: sentence embedding after vs before


@dataclass(frozen=True)
class HeadImportance:
    """``scores[kind][layer, head]``: the metric when that head alone is ablated (NaN: no such head)."""

    metric: str
    mode: AblationMode
    scores: dict[AttentionKind, np.ndarray]

    def ranked(self, top: int = 5) -> list[tuple[HeadRef, float]]:
        cells = [((kind, int(layer), int(head)), float(grid[layer, head]))
                 for kind, grid in self.scores.items() for layer, head in np.argwhere(np.isfinite(grid))]
        return sorted(cells, key=lambda cell: -cell[1])[:top]


def kl_divergence(logits_p: torch.Tensor, logits_q: torch.Tensor) -> torch.Tensor:
    """KL(P‖Q) over the last axis, in nats, computed in float64."""
    log_p = torch.log_softmax(logits_p.double(), dim=-1)
    log_q = torch.log_softmax(logits_q.double(), dim=-1)
    return (log_p.exp() * (log_p - log_q)).sum(-1)


def _forward(loaded: LoadedModel, inputs: dict):
    return run(loaded, inputs, output_hidden_states=True).outputs  # inside ablate_heads: the ablated model


def _embedding(outputs, mask: torch.Tensor) -> torch.Tensor:
    hidden = getattr(outputs, "last_hidden_state", None)
    if hidden is None:
        hidden = outputs.hidden_states[-1]
    weights = mask[..., None].to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1)  # mean pooling, as sentence-transformers does


def _score(loaded: LoadedModel, base, ablated, inputs: dict) -> torch.Tensor:
    """The family's metric for every row of ``ablated`` against the single row of ``base``."""
    if loaded.family == "encoder":
        mask = inputs["attention_mask"]
        before, after = _embedding(base, mask[:1]), _embedding(ablated, mask)
        return 1.0 - torch.nn.functional.cosine_similarity(after.double(), before.double(), dim=-1)
    if loaded.family == "decoder":
        return kl_divergence(base.logits[:, -1], ablated.logits[:, -1])
    return kl_divergence(base.logits, ablated.logits).mean(-1)  # over the target positions


def top_chances(logits, tokenizer, k: int) -> tuple[TokenChance, ...]:
    """The ``k`` most likely tokens of one position's ``logits`` (a tensor or an array), with probabilities."""
    probabilities = torch.softmax(torch.as_tensor(logits).double(), dim=-1)
    probabilities = without_unknown(probabilities, tokenizer, fill=-1.0)  # never listed, not renormalised
    values, ids = probabilities.topk(min(k, probabilities.shape[-1], len(tokenizer)))
    labels = sequence_from_ids(tokenizer, ids.tolist()).labels
    return tuple(TokenChance(label, float(p)) for label, p in zip(labels, values.tolist()))


def _translate(loaded: LoadedModel, inputs: dict, max_new_tokens: int, use_cache: bool) -> str:
    source = {k: v for k, v in inputs.items() if not k.startswith("decoder_")}
    out = greedy(loaded, source, max_new_tokens, use_cache=use_cache)
    return loaded.tokenizer.decode(out, skip_special_tokens=True).strip()


def ablation_effect(loaded: LoadedModel, text: str, heads: list[HeadRef] | tuple[HeadRef, ...],
                    mode: AblationMode = "zero", target: str | None = None, *, top_k: int = 5,
                    max_new_tokens: int = 32, max_tokens: int | None = None) -> AblationEffect:
    """Run ``text`` with and without ``heads`` ablated and compare the outputs."""
    inputs, _, _ = model_inputs(loaded, text, target, max_new_tokens=max_new_tokens, max_tokens=max_tokens)
    heads = tuple(heads)
    base = _forward(loaded, inputs)
    with ablate_heads(loaded, heads, mode):
        ablated = _forward(loaded, inputs)
        # mean ablation averages over the positions of one pass: generate without the cache
        text_after = (_translate(loaded, inputs, max_new_tokens, use_cache=mode == "zero")
                      if loaded.family == "encoder-decoder" else "")
    score = max(0.0, float(_score(loaded, base, ablated, inputs)[0]))  # rounding can dip below 0
    family, metric = loaded.family, METRICS[loaded.family]
    if family == "decoder":
        return AblationEffect(family, heads, mode, metric, score,
                              top_chances(base.logits[0, -1], loaded.tokenizer, top_k),
                              top_chances(ablated.logits[0, -1], loaded.tokenizer, top_k))
    if family == "encoder-decoder":
        return AblationEffect(family, heads, mode, metric, score,
                              text_before=_translate(loaded, inputs, max_new_tokens, use_cache=True),
                              text_after=text_after)
    return AblationEffect(family, heads, mode, metric, score, cosine=1.0 - score)


def every_head(loaded: LoadedModel) -> list[HeadRef]:
    shape = loaded.shape
    return [(kind, layer, head) for kind in shape.kinds for layer in range(shape.n_layers[kind])
            for head in range(shape.heads_of(kind, layer))]


def _repeat(inputs: dict, rows: int) -> dict:
    return {name: tensor.expand(rows, *tensor.shape[1:]).contiguous() for name, tensor in inputs.items()}


def head_importance(loaded: LoadedModel, text: str, mode: AblationMode = "zero", target: str | None = None, *,
                    rows_per_pass: int = 24, max_tokens: int | None = None) -> HeadImportance:
    """The effect of ablating each head alone: one row of a batch per head, ``rows_per_pass`` rows a pass."""
    inputs, _, _ = model_inputs(loaded, text, target, max_tokens=max_tokens)
    base = _forward(loaded, inputs)
    heads = every_head(loaded)
    scores = {kind: np.full((n, loaded.shape.heads_of(kind)), np.nan) for kind, n in loaded.shape.n_layers.items()}
    for start in range(0, len(heads), rows_per_pass):
        chunk = heads[start : start + rows_per_pass]
        batch = _repeat(inputs, len(chunk))
        with ablate_heads_per_row(loaded, [[ref] for ref in chunk], mode):
            ablated = _forward(loaded, batch)
        for (kind, layer, head), value in zip(chunk, _score(loaded, base, ablated, batch).tolist()):
            scores[kind][layer, head] = value
    return HeadImportance(METRICS[loaded.family], mode, scores)
