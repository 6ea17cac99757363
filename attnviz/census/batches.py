"""Planning a census: its options, and the corpus cut into batches in corpus order."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from attnviz.census.sources import Alignment
from attnviz.census.stats import STATS_VERSION, HeadKey
from attnviz.models.loading import LoadedModel
from attnviz.result import ModelShape


def head_keys(shape: ModelShape) -> tuple[HeadKey, ...]:
    """Every head of the model, by kind, layer and head number."""
    return tuple((kind, layer, head) for kind in shape.kinds for layer in range(shape.n_layers[kind])
                 for head in range(shape.heads_of(kind, layer)))



@dataclass(frozen=True)
class CensusOptions:
    """Settings that change the numbers (they are part of a run's fingerprint)."""

    batch_size: int = 16
    max_tokens: int = 128  # texts are cut to this many tokens
    qk_texts: int = 48  # texts whose query and key vectors are sampled for the 2-D map (0: none)
    qk_tokens: int = 12  # at most this many tokens per side of each sampled text
    top_examples: int = 5  # strongest texts kept per head and statistic

    def to_dict(self) -> dict:
        return {"batch_size": self.batch_size, "max_tokens": self.max_tokens, "qk_texts": self.qk_texts,
                "qk_tokens": self.qk_tokens, "top_examples": self.top_examples, "stats_version": STATS_VERSION}


@dataclass(frozen=True)
class Batch:
    """Texts of one batch, by their number in the corpus."""

    batch_id: int
    text_ids: tuple[int, ...]
    texts: tuple[str, ...]
    targets: tuple[str | None, ...]
    alignments: tuple[Alignment | None, ...]
    vector_ids: tuple[int, ...] = ()  # texts of this batch whose Q/K vectors are sampled

    def to_item(self) -> dict:
        """A plain row (for Ray Data): lists and JSON only."""
        return {"batch_id": self.batch_id, "batch": json.dumps(
            [self.text_ids, self.texts, self.targets, self.alignments, self.vector_ids], ensure_ascii=False)}

    @classmethod
    def from_item(cls, item: dict) -> Batch:
        ids, texts, targets, alignments, vector_ids = json.loads(str(item["batch"]))
        return cls(int(item["batch_id"]), tuple(ids), tuple(texts), tuple(targets),
                   tuple(None if a is None else tuple(tuple(w) for w in a) for a in alignments), tuple(vector_ids))


def batch_size_for(loaded: LoadedModel, max_tokens: int, free_bytes: int | None = None) -> int:
    """Texts per batch that fit a GPU: half its free memory over what one text of ``max_tokens`` needs at
    its widest layer (the weights of all heads and about eight float32 temporaries of the statistics,
    plus the activations), between 1 and 256. On a CPU 16, the default: larger batches only pad more."""
    device = torch.device(loaded.device)
    if free_bytes is None:
        if device.type != "cuda":
            return CensusOptions.batch_size
        free_bytes, _ = torch.cuda.mem_get_info(device)
    shape = loaded.shape
    heads = max(shape.heads_of(kind, layer) for kind in shape.kinds for layer in range(shape.n_layers[kind]))
    width = getattr(shape, "d_model", None) or 1024
    per_text = heads * max_tokens**2 * 4 * 9 + max_tokens * width * 4 * 32
    return int(max(1, min(256, free_bytes // 2 // per_text)))


def vector_texts(n_texts: int, qk_texts: int) -> tuple[int, ...]:
    """Texts whose vectors are sampled: ``qk_texts`` evenly spread over the corpus (by number, not order run)."""
    if qk_texts <= 0 or n_texts == 0:
        return ()
    stride = max(1, -(-n_texts // qk_texts))
    return tuple(range(0, n_texts, stride))[:qk_texts]


def batch_ranges(n_texts: int, batch_size: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of each batch in corpus order."""
    size = max(1, int(batch_size))
    return [(start, min(start + size, n_texts)) for start in range(0, n_texts, size)]


def make_batch(batch_id: int, start: int, stop: int, texts: Sequence[str], targets: Sequence[str | None],
               alignments: Sequence[Alignment | None], sampled: set[int]) -> Batch:
    ids = tuple(range(start, stop))
    return Batch(batch_id, ids, tuple(texts[i] for i in ids), tuple(targets[i] for i in ids),
                 tuple(alignments[i] for i in ids), tuple(i for i in ids if i in sampled))


def make_batches(texts: Sequence[str], targets: Sequence[str | None], alignments: Sequence[Alignment | None],
                 options: CensusOptions) -> list[Batch]:
    """The corpus cut into batches of ``options.batch_size`` texts in corpus order."""
    sampled = set(vector_texts(len(texts), options.qk_texts))
    return [make_batch(i, start, stop, texts, targets, alignments, sampled)
            for i, (start, stop) in enumerate(batch_ranges(len(texts), options.batch_size))]

