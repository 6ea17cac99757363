"""Adding a census's parts in batch order, and the finished per-head statistics."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from attnviz.census.batches import head_keys
from attnviz.census.parts import BatchPart, _records, top_records
from attnviz.census.sources import Alignment
from attnviz.census.stats import (
    ENTROPY_BINS,
    OFFSETS,
    SUM_NAMES,
    CensusText,
    HeadKey,
    contexts_for,
    head_sums,
    stack_sums,
)
from attnviz.result import AttentionResult
from attnviz.roles.report import assign
from attnviz.roles.scores import divide
from attnviz.roles.vocabulary import BY_FAMILY, LINEAR_ROLES, NO_ROLE, kind_roles


class Accumulator:
    """Adds parts in batch order (float64), keeps the strongest examples and the sampled vectors."""

    def __init__(self, n_heads: int, top_examples: int) -> None:
        self.sums = np.zeros((n_heads, len(SUM_NAMES)))
        self.top_examples = top_examples
        self.examples = _records([], [], [], [])
        self._pending: list[np.ndarray] = []
        self.vectors: list[tuple[int, str, int, int, str, np.ndarray]] = []
        self.texts = self.tokens = 0
        self.skipped: list[int] = []
        self.last_batch = -1

    def add(self, part: BatchPart) -> None:
        if part.batch_id <= self.last_batch:
            raise ValueError("parts must be added in increasing batch order")
        if part.sums.shape != self.sums.shape:
            raise ValueError(f"a part has sums of shape {part.sums.shape}, expected {self.sums.shape}")
        self.last_batch = part.batch_id
        self.sums += part.sums
        self._pending.append(part.examples)
        if sum(len(p) for p in self._pending) > 4 * max(len(self.examples), 1):
            self._merge()
        self.vectors += part.vectors
        self.texts += part.texts
        self.tokens += part.tokens
        self.skipped += part.skipped

    def _merge(self) -> None:
        self.examples = top_records(np.concatenate([self.examples, *self._pending]), self.top_examples)
        self._pending = []

    def as_part(self) -> BatchPart:
        """Everything added so far as one part (a checkpoint): adding it to a new accumulator, then the
        parts after it, gives the same float64 sums, bit for bit, as adding every part one by one."""
        return BatchPart(self.last_batch, self.sums.copy(), self.top(), list(self.vectors), self.texts, self.tokens,
                         tuple(self.skipped))

    def top(self) -> np.ndarray:
        """Records (head, stat, text_id, score) of the strongest texts, by head, stat and rank."""
        self._merge()
        return self.examples


def means(sums: np.ndarray, heads: Sequence[HeadKey]) -> dict[str, np.ndarray]:
    """Finished per-head statistics from summed parts: name -> [heads] (NaN where a head has no such statistic),
    plus ``roles`` and ``primary``, the verdict of :func:`attnviz.roles.report.assign`."""
    def ratio(total: np.ndarray, count: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(count > 0, total / np.maximum(count, 1), np.nan)

    column = {name: sums[:, i] for i, name in enumerate(SUM_NAMES)}
    kinds = [kind for kind, _, _ in heads]
    applies = {r: np.array([r in kind_roles(k == "cross", k == "decoder") for k in kinds]) for r in BY_FAMILY}
    texts = column["texts"]
    out: dict[str, np.ndarray] = {}
    for r in LINEAR_ROLES:
        score = np.clip(divide(column[f"{r}.num"], column[f"{r}.den"], column[f"{r}.rows"]), 0.0, 1.0)
        out[r] = np.where(applies[r] & (texts > 0), score, np.nan)
        out[f"baseline_{r}"] = np.where(applies[r], ratio(column[f"{r}.base"], texts), np.nan)
    out["monotonic"] = np.where(applies["monotonic"], ratio(column["monotonic.sum"], texts), np.nan)
    out["baseline_monotonic"] = np.where(applies["monotonic"], ratio(column["monotonic.base"], texts), np.nan)
    out["broad"] = ratio(column["broad.sum"], texts)
    out["baseline_broad"] = np.where(texts > 0, 0.0, np.nan)  # entropy does not change when keys are shuffled
    out["sink"] = ratio(column["sink.sum"], column["rows"])
    out["entropy"] = ratio(column["entropy.sum"], column["entropy.count"])
    out["entropy_rel"] = ratio(column["entropy_rel.sum"], column["entropy.count"])
    variance = ratio(column["entropy_rel_sq.sum"], column["entropy.count"]) - out["entropy_rel"] ** 2
    out["entropy_rel_std"] = np.sqrt(np.clip(variance, 0.0, None))
    out["alignment"] = ratio(column["alignment.sum"], column["alignment.count"])
    out["alignment_mass"] = ratio(column["alignment_mass.sum"], column["alignment.count"])
    out["rows"] = column["rows"]
    out["alignment_rows"] = column["alignment.count"]
    for b in range(ENTROPY_BINS):
        out[f"entropy_bin_{b}"] = ratio(column[f"entropy_bin.{b}"], column["entropy.count"])
    for d in OFFSETS:
        out[f"offset_{d:+d}"] = ratio(column[f"offset.{d}.sum"], column[f"offset.{d}.count"])
    verdicts = []
    for i, kind in enumerate(kinds):
        roles = kind_roles(kind == "cross", kind == "decoder")
        scores = {r: float(out[r][i]) for r in roles}
        verdicts.append(() if any(np.isnan(v) for v in scores.values()) else
                        assign(scores, {r: float(out[f"baseline_{r}"][i]) for r in roles}))
    out["roles"] = np.array([",".join(v) for v in verdicts], dtype=object)
    out["primary"] = np.array([v[0] if v else NO_ROLE for v in verdicts], dtype=object)
    return out


def census_of_results(results: Sequence[AttentionResult], alignments: Sequence[Alignment | None] | None = None,
                      ) -> dict[str, np.ndarray]:
    """Statistics of already captured texts (no batching, no engine): name -> [heads] in ``head_keys`` order."""
    if not results:
        raise ValueError("no results")
    heads = head_keys(results[0].shape)
    alignments = alignments or [None] * len(results)
    total = np.zeros((len(heads), len(SUM_NAMES)))
    for result, alignment in zip(results, alignments):
        total += _result_sums(result, heads, alignment)
    return means(total, heads)


def _result_sums(result: AttentionResult, heads: Sequence[HeadKey], alignment: Alignment | None) -> np.ndarray:
    family = "encoder-decoder" if result.decoder_input is not None else "single"
    text = CensusText(0, result.source, result.decoder_input, result.output_tokens, alignment)
    reads = result.decoder_input
    widths = {"source": len(result.source), "target": len(reads) if reads is not None else 0}
    contexts = contexts_for(family, result.kinds, [text], widths, "cpu")
    sums = {(kind, layer): head_sums(torch.from_numpy(result.arrays[kind][index][None]), contexts[kind])
            for kind in result.kinds for index, layer in enumerate(result.layers[kind])}
    return stack_sums(sums, heads, result.model_name)[0]
