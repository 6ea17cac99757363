"""One batch of a census through the model: one padded, traced forward pass whose patterns are reduced at once.

:func:`census_batch` is the one function every engine runs: texts in, a :class:`~attnviz.census.parts.BatchPart`
out. A hook on every layer's ``hook_pattern`` (:mod:`attnviz.tracing.trace`) hands the weights
``(B, H, Q, K)`` to :func:`~attnviz.census.stats.head_sums` as the layer produces them, so no layer's
weights are kept and none is copied to the CPU; ``hook_q`` and ``hook_k`` give the query and key vectors
of the few texts sampled for the 2-D map. Models outside the attention interface go through the same
hook: the tracer hands it the patterns the model returns.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from attnviz.capturing.run import _batch_inputs, _encode
from attnviz.census.batches import Batch, CensusOptions, head_keys
from attnviz.census.parts import BatchPart, batch_top, text_scores_of
from attnviz.census.stats import (
    SUM_NAMES,
    CensusText,
    HeadKey,
    KindContext,
    contexts_for,
    head_sums,
    one_thread,
    sides,
    stack_sums,
)
from attnviz.errors import AttnvizError, NoAttentionError
from attnviz.models.loading import LoadedModel
from attnviz.result import AttentionKind
from attnviz.tracing.names import parse
from attnviz.tracing.trace import run


class _Reader:
    """The hooks of one batch's pass: each layer's pattern reduced to per-text sums, and the sampled texts'
    query/key vectors (the only tensors copied to the CPU besides the sums)."""

    def __init__(self, family, contexts: dict[AttentionKind, KindContext], sampled_rows: Sequence[int]) -> None:
        self.family = family
        self.contexts = contexts
        self.sampled = list(sampled_rows)
        self.sums: dict[tuple[str, int], torch.Tensor] = {}
        self.vectors: dict[tuple[str, int], list[torch.Tensor]] = {}

    def pattern(self, weights: torch.Tensor, name: str) -> None:
        point = parse(name, self.family)
        context = self.contexts.get(point.kind)
        if context is not None:
            with one_thread(weights.device):
                self.sums[(point.kind, point.layer)] = head_sums(weights, context)

    def vector(self, tensor: torch.Tensor, name: str) -> None:  # hook_q / hook_k: [batch, pos, head, d_head]
        point = parse(name, self.family)
        rows = torch.as_tensor(self.sampled, device=tensor.device)
        self.vectors.setdefault((point.kind, point.layer), []).append(tensor[rows].transpose(1, 2).float().cpu())

    def hooks(self):
        hooks = [(lambda name: name.endswith(".hook_pattern"), self.pattern)]
        if self.sampled:
            hooks.append((lambda name: name.endswith((".hook_q", ".hook_k")), self.vector))
        return hooks


def _encode_all(loaded: LoadedModel, batch: Batch, limit: int) -> tuple[list[CensusText], list, list[int]]:
    texts, encoded, skipped = [], [], []
    for text_id, text, target, alignment in zip(batch.text_ids, batch.texts, batch.targets, batch.alignments):
        try:
            one = _encode(loaded, text, target, limit, True, 32)
        except AttnvizError:
            skipped.append(text_id)
            continue
        texts.append(CensusText(text_id, one.source, one.reads, one.produces, alignment))
        encoded.append(one)
    return texts, encoded, skipped


def _forward(loaded: LoadedModel, texts: Sequence[CensusText], encoded: Sequence, heads: Sequence[HeadKey],
             sampled_rows: Sequence[int]) -> tuple[np.ndarray, _Reader]:
    """One padded, traced forward pass of ``texts``: ``[texts, heads, sums]`` and the reader."""
    inputs = _batch_inputs(loaded, encoded)
    widths = {"source": inputs["input_ids"].shape[1],
              "target": inputs["decoder_input_ids"].shape[1] if "decoder_input_ids" in inputs else 0}
    with one_thread(loaded.device):
        contexts = contexts_for(loaded.family, loaded.shape.kinds, texts, widths, loaded.device)
    reader = _Reader(loaded.family, contexts, sampled_rows)
    returned = {} if loaded.capture_path == "interface" else {"output_attentions": True}
    try:
        run(loaded, inputs, hooks=reader.hooks(), **returned)
    except AttnvizError:
        raise
    except Exception as error:  # the model's own code failed (out of memory, a bug in a custom layer ...)
        raise NoAttentionError(code="forward_failed", model=loaded.name, error=type(error).__name__) from error
    return stack_sums(reader.sums, heads, loaded.name), reader


def _sampled_positions(n: int, special: Sequence[bool], limit: int) -> list[int]:
    plain = [i for i in range(n) if not special[i]] or list(range(n))
    if len(plain) <= limit:
        return plain
    picks = np.unique(np.linspace(0, len(plain) - 1, limit).round().astype(int))
    return [plain[i] for i in picks]



def _vectors(loaded: LoadedModel, texts: Sequence[CensusText], reader: _Reader, heads: Sequence[HeadKey],
             limit: int) -> list:
    rows = []
    index = {h: i for i, h in enumerate(heads)}
    for sample, b in enumerate(reader.sampled):
        text_sides = sides(loaded.family, loaded.shape.kinds, texts[b])
        for (kind, layer), (query, key) in sorted(reader.vectors.items(), key=lambda kv: index[(*kv[0], 0)]):
            q_seq, k_seq = text_sides[kind]
            groups = query.shape[1] // key.shape[1]
            q_all, k_all = query[sample].numpy(), key[sample].numpy()  # (H, Q, D), (Hkv, K, D) float32
            q_positions = _sampled_positions(len(q_seq), q_seq.special, limit)
            k_positions = _sampled_positions(len(k_seq), k_seq.special, limit)
            for head in range(query.shape[1]):
                if (kind, layer, head) not in index:
                    continue
                for side, tokens, matrix, positions in (("query", q_seq, q_all[head], q_positions),
                                                        ("key", k_seq, k_all[head // groups], k_positions)):
                    rows += [(index[(kind, layer, head)], side, texts[b].text_id, p, tokens.labels[p], matrix[p])
                             for p in positions]
    return rows


def _limit(loaded: LoadedModel, options: CensusOptions) -> int:
    shape = loaded.shape
    return min(max(1, int(options.max_tokens)), shape.max_positions or options.max_tokens)


def census_batch(loaded: LoadedModel, batch: Batch, options: CensusOptions | None = None) -> BatchPart:
    """The per-batch function of every engine: read the batch, return its sums, examples and vectors.

    Deterministic: the same batch on the same model gives the same part, bit for bit.
    """
    options = options or CensusOptions()
    heads = head_keys(loaded.shape)
    texts, encoded, skipped = _encode_all(loaded, batch, _limit(loaded, options))
    record = loaded.capture_path == "interface"
    sampled = lambda group: [b for b, t in enumerate(group) if record and t.text_id in batch.vector_ids]  # noqa: E731
    per_text, readers = np.zeros((0, len(heads), len(SUM_NAMES))), []
    if texts:
        try:  # the batch in one padded pass; if the model refuses it, text by text, skipping what it cannot read
            per_text, reader = _forward(loaded, texts, encoded, heads, sampled(texts))
            readers = [(texts, reader)]
        except AttnvizError:
            kept, sums = [], []
            for text, one_encoded in zip(texts, encoded):
                try:
                    one, reader = _forward(loaded, [text], [one_encoded], heads, sampled([text]))
                except AttnvizError:
                    skipped.append(text.text_id)
                    continue
                kept.append(text)
                sums.append(one)
                readers.append(([text], reader))
            texts = kept
            per_text = np.concatenate(sums) if sums else per_text
    text_ids = np.array([t.text_id for t in texts], dtype=np.int64)
    cross = np.array([kind == "cross" for kind, _, _ in heads])
    examples = batch_top(text_scores_of(per_text, cross), text_ids, options.top_examples)
    vectors = [row for group, reader in readers for row in _vectors(loaded, group, reader, heads, options.qk_tokens)]
    tokens = sum(len(t.source) + (len(t.reads) if t.reads is not None else 0) for t in texts)
    return BatchPart(batch.batch_id, per_text.sum(0), examples, vectors, texts=len(texts), tokens=tokens,
                     skipped=tuple(sorted(skipped)))
