"""The repeated-random-tokens probe: duplicate-token and induction scores need text that repeats.

Each probe sequence is ``[specials] r r [specials]`` where ``r`` is ``span`` distinct token ids drawn
(seeded) from the model's own vocabulary with its special ids left out. In the second copy, a
duplicate-token head looks at the same token in the first copy (``i - span``), an induction head at the
token *after* it (``i - span + 1``). All sequences go through the model in one batched forward; the maps
are averaged over the batch (the scores are linear, so this is the mean score).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from attnviz.capturing.run import _forward_returning_attentions, _forward_through_interface, layer_plan
from attnviz.errors import InputTextError
from attnviz.roles.scores import TokenFacts, baselines, score_self_attention

DEFAULT_SPAN = 40
DEFAULT_BATCH = 8


@dataclass(frozen=True)
class RepeatProbe:
    """What the probe fed the model and what came out. ``maps[kind]``: [layer, head, n, n], batch mean."""

    model_name: str
    seed: int
    span: int
    batch: int
    token_ids: tuple[int, ...]  # the first sequence of the batch
    tokens: tuple[str, ...]
    special: tuple[bool, ...]
    layers: dict[str, tuple[int, ...]]
    maps: dict[str, np.ndarray]
    scores: dict[str, dict[str, np.ndarray]]  # kind -> role -> [layer, head]
    baselines: dict[str, dict[str, float]]
    seconds: float

    @property
    def facts(self) -> TokenFacts:
        return TokenFacts(self.token_ids, self.special, causal=False)


def _wrapping(tokenizer) -> tuple[list[int], list[int]]:
    """The special ids the tokenizer puts before and after a text (e.g. [CLS] ... [SEP], or <s> ...)."""
    special = set(tokenizer.all_special_ids)
    ids = tokenizer("a")["input_ids"]
    start = 0
    while start < len(ids) and ids[start] in special:
        start += 1
    end = len(ids)
    while end > start and ids[end - 1] in special:
        end -= 1
    return list(ids[:start]), list(ids[end:])


def probe_ids(loaded, span: int, batch: int, seed: int) -> tuple[torch.Tensor, list[int], list[int]]:
    """Token ids [batch, n] of the probe, and the prefix/suffix special ids."""
    tokenizer = loaded.tokenizer
    vocab = min(len(tokenizer), int(getattr(loaded.model.config, "vocab_size", len(tokenizer)) or len(tokenizer)))
    candidates = np.setdiff1d(np.arange(vocab), np.asarray(tokenizer.all_special_ids, dtype=np.int64))
    prefix, suffix = _wrapping(tokenizer)
    limit = loaded.shape.max_positions or loaded.shape.max_tokens
    span = int(min(span, (limit - len(prefix) - len(suffix)) // 2, len(candidates)))
    if span < 2:
        raise InputTextError(code="probe_too_small")
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(batch):
        r = rng.choice(candidates, size=span, replace=False).tolist()
        rows.append(prefix + r + r + suffix)
    return torch.tensor(rows, dtype=torch.long), prefix, suffix


def run_probe(loaded, span: int = DEFAULT_SPAN, batch: int = DEFAULT_BATCH, seed: int = 0) -> RepeatProbe:
    """Run the repeated-token probe on ``loaded`` (one batched forward) and score every self-attention head."""
    started = time.perf_counter()
    ids, prefix, suffix = probe_ids(loaded, span, batch, seed)
    span = (ids.shape[1] - len(prefix) - len(suffix)) // 2
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    if loaded.family == "encoder-decoder":
        inputs["decoder_input_ids"] = ids
        inputs["decoder_attention_mask"] = torch.ones_like(ids)
    plan = {k: v for k, v in layer_plan(loaded, None).items() if k != "cross"}
    if loaded.capture_path == "interface":
        _, buffers, _ = _forward_through_interface(loaded, plan, inputs, ids.shape[0], torch.float32, False)
    else:
        _, buffers, _ = _forward_returning_attentions(loaded, plan, inputs, torch.float32)
    first = ids[0].tolist()
    special = tuple([True] * len(prefix) + [False] * (2 * span) + [True] * len(suffix))
    tokens = tuple(loaded.tokenizer.convert_ids_to_tokens(first))
    maps, scores, base = {}, {}, {}
    for kind, buffer in buffers.items():
        mean = buffer.float().mean(1).numpy()  # [layer, head, n, n]
        facts = TokenFacts(tuple(first), special, causal=kind == "decoder")
        maps[kind] = mean
        scores[kind] = score_self_attention(mean, facts)
        base[kind] = baselines(facts)
    return RepeatProbe(loaded.name, seed, span, int(ids.shape[0]), tuple(first), tokens, special,
                       {k: tuple(v) for k, v in plan.items()}, maps, scores, base, time.perf_counter() - started)
