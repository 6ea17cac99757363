"""Per-head statistics over a corpus, one batch at a time.

:func:`census_batch` is the one function every engine runs: texts in, a :class:`BatchPart` out. A part
holds *sums and counts* in float64 (never means), so parts combine by addition; :class:`Accumulator`
adds them in batch order, which makes the result the same whichever engine ran the batches and in
whatever order they finished.

Statistics, per head (kind, layer, head), each a sum over query rows divided by a count of rows:

- rows: self-attention uses the rows of non-special query tokens (a decoder also skips row 0, which
  can only see itself); cross-attention uses every target row;
- ``previous`` / ``same`` / ``next``: weight on the key one before / at / one after the query's
  position (self-attention; a decoder has no ``next``);
- ``first``: weight on the first key; ``special``: weight on special tokens ([CLS], [SEP], </s> ...);
- ``sink``: share of rows that put at least half their weight on sinks (the first key or a special token);
- ``entropy``: row entropy in bits; ``entropy_rel``: entropy / log2(keys the row may see), rows that
  see one key skipped; its distribution in ``ENTROPY_BINS`` bins and its square for a spread;
- ``offset.d``: mean weight on the key at relative position ``d`` (key − query), for |d| <= 8;
- ``alignment`` (cross-attention, texts with a gold alignment): share of target words whose strongest
  non-special source token belongs to one of the gold source words; ``alignment_mass``: weight on them.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from attnviz.census.sources import Alignment
from attnviz.errors import AttnvizError
from attnviz.models.loading import LoadedModel
from attnviz.result import AttentionKind, AttentionResult, ModelShape

STATS_VERSION = 1
OFFSETS: tuple[int, ...] = tuple(range(-8, 9))
ENTROPY_BINS = 10
SINK_SHARE = 0.5  # a row is a sink row when at least this much of its weight is on sinks
MEANS: tuple[str, ...] = ("previous", "same", "next", "first", "special", "sink", "entropy", "entropy_rel",
                          "alignment", "alignment_mass")
EXAMPLE_STATS: tuple[str, ...] = ("previous", "same", "next", "first", "special", "sink", "entropy_rel",
                                  "alignment")


def _sum_names() -> tuple[str, ...]:
    names = [f"{m}.{part}" for m in MEANS for part in ("sum", "count")]
    names.append("entropy_rel_sq.sum")
    names += [f"entropy_bin.{b}" for b in range(ENTROPY_BINS)]
    names += [f"offset.{d}.{part}" for d in OFFSETS for part in ("sum", "count")]
    return tuple(names)


SUM_NAMES = _sum_names()
_AT = {name: i for i, name in enumerate(SUM_NAMES)}
HeadKey = tuple[str, int, int]  # (kind, layer, head)


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


def vector_texts(n_texts: int, qk_texts: int) -> tuple[int, ...]:
    """Texts whose vectors are sampled: ``qk_texts`` evenly spread over the corpus (by number, not order run)."""
    if qk_texts <= 0 or n_texts == 0:
        return ()
    stride = max(1, -(-n_texts // qk_texts))
    return tuple(range(0, n_texts, stride))[:qk_texts]


def make_batches(texts: Sequence[str], targets: Sequence[str | None], alignments: Sequence[Alignment | None],
                 options: CensusOptions) -> list[Batch]:
    """The corpus cut into batches of ``options.batch_size`` texts in corpus order."""
    sampled = set(vector_texts(len(texts), options.qk_texts))
    size = max(1, int(options.batch_size))
    batches = []
    for batch_id, start in enumerate(range(0, len(texts), size)):
        ids = tuple(range(start, min(start + size, len(texts))))
        batches.append(Batch(batch_id, ids, tuple(texts[i] for i in ids), tuple(targets[i] for i in ids),
                             tuple(alignments[i] for i in ids), tuple(i for i in ids if i in sampled)))
    return batches


# ---------------------------------------------------------------------------------------------- statistics
def _entropy_bits(p: np.ndarray) -> np.ndarray:
    return -(np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0)), 0.0)).sum(-1)


def _put(out: np.ndarray, name: str, values: np.ndarray, count: int) -> None:
    """Add a sum over rows ``values [L, H, rows]`` and its row count."""
    out[..., _AT[f"{name}.sum"]] += values.sum(-1)
    out[..., _AT[f"{name}.count"]] += count


def kind_sums(maps: np.ndarray, query_special: Sequence[bool], key_special: Sequence[bool], *, causal: bool,
              cross: bool, produced_words: Sequence[int | None] | None = None,
              key_words: Sequence[int | None] | None = None, alignment: Alignment | None = None) -> np.ndarray:
    """Sums and counts of one text's maps ``[layer, head, query, key]`` -> ``[layer, head, len(SUM_NAMES)]``."""
    a = np.asarray(maps, dtype=np.float64)
    n_layers, n_heads, n_query, n_key = a.shape
    out = np.zeros((n_layers, n_heads, len(SUM_NAMES)))
    key_special = np.asarray(key_special, dtype=bool)
    rows = np.arange(n_query)
    if not cross:
        rows = rows[~np.asarray(query_special, dtype=bool)]
        if causal:
            rows = rows[rows >= 1]
    if rows.size == 0:
        return out
    sub = a[:, :, rows, :]  # [L, H, r, K]
    _put(out, "first", sub[..., 0], rows.size)
    _put(out, "special", sub[..., key_special].sum(-1), rows.size)
    sinks = key_special.copy()
    sinks[0] = True
    _put(out, "sink", (sub[..., sinks].sum(-1) >= SINK_SHARE).astype(np.float64), rows.size)
    allowed = rows + 1 if causal else np.full(rows.size, n_key)
    several = allowed >= 2
    if several.any():
        bits = _entropy_bits(sub[:, :, several, :])  # [L, H, r']
        relative = bits / np.log2(allowed[several])
        _put(out, "entropy", bits, int(several.sum()))
        _put(out, "entropy_rel", relative, int(several.sum()))
        out[..., _AT["entropy_rel_sq.sum"]] += (relative**2).sum(-1)
        bins = np.clip((relative * ENTROPY_BINS).astype(int), 0, ENTROPY_BINS - 1)
        for b in range(ENTROPY_BINS):
            out[..., _AT[f"entropy_bin.{b}"]] += (bins == b).sum(-1)
    if not cross:
        _put(out, "same", a[:, :, rows, rows], rows.size)
        previous = rows[rows >= 1]
        _put(out, "previous", a[:, :, previous, previous - 1], previous.size)
        if not causal:
            following = rows[rows + 1 < n_key]
            _put(out, "next", a[:, :, following, following + 1], following.size)
        for d in OFFSETS:
            if causal and d > 0:
                continue
            at = rows[(rows + d >= 0) & (rows + d < n_key)]
            out[..., _AT[f"offset.{d}.sum"]] += a[:, :, at, at + d].sum(-1)
            out[..., _AT[f"offset.{d}.count"]] += at.size
    elif alignment is not None and produced_words is not None and key_words is not None:
        _alignment_sums(a, out, produced_words, key_words, key_special, alignment)
    return out


def _alignment_sums(a: np.ndarray, out: np.ndarray, produced_words: Sequence[int | None],
                    key_words: Sequence[int | None], key_special: np.ndarray, alignment: Alignment) -> None:
    """Argmax agreement and gold mass of target rows whose produced word has a gold alignment."""
    n_query, n_key = a.shape[2:]
    candidates = ~key_special
    rows, gold = [], []
    for i, word in enumerate(produced_words[:n_query]):
        if word is None or word >= len(alignment) or not alignment[word]:
            continue
        wanted = set(alignment[word])
        columns = np.array([w is not None and w in wanted for w in key_words[:n_key]])
        if columns.any():
            rows.append(i)
            gold.append(columns)
    if not rows or not candidates.any():
        return
    gold_mask = np.stack(gold)  # [r, K]
    sub = a[:, :, rows, :]  # [L, H, r, K]
    strongest = np.where(candidates, sub, -np.inf).argmax(-1)  # [L, H, r]
    hits = np.take_along_axis(np.broadcast_to(gold_mask, sub.shape), strongest[..., None], -1)[..., 0]
    _put(out, "alignment", hits.astype(np.float64), len(rows))
    _put(out, "alignment_mass", (sub * gold_mask).sum(-1), len(rows))


def result_sums(result: AttentionResult, heads: Sequence[HeadKey], alignment: Alignment | None) -> np.ndarray:
    """``[len(heads), len(SUM_NAMES)]`` sums of one captured text."""
    by_kind = {}
    for kind in result.kinds:
        query, key = result.query_tokens(kind), result.key_tokens(kind)
        produced = result.output_tokens.word_ids if result.output_tokens is not None else None
        by_kind[kind] = kind_sums(result.arrays[kind], query.special, key.special, causal=kind == "decoder",
                                  cross=kind == "cross", produced_words=produced, key_words=key.word_ids,
                                  alignment=alignment)
    index = {(kind, layer): i for kind in result.kinds for i, layer in enumerate(result.layers[kind])}
    return np.stack([by_kind[kind][index[(kind, layer)], head] for kind, layer, head in heads])


def text_scores(sums: np.ndarray) -> np.ndarray:
    """One text's value of each :data:`EXAMPLE_STATS` per head, NaN where it has no rows: ``[heads, stats]``."""
    totals = sums[:, [_AT[f"{s}.sum"] for s in EXAMPLE_STATS]]
    counts = sums[:, [_AT[f"{s}.count"] for s in EXAMPLE_STATS]]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(counts > 0, totals / np.maximum(counts, 1), np.nan)


# ---------------------------------------------------------------------------------------------- one batch
@dataclass
class BatchPart:
    """What one batch adds to a census: sums, its strongest texts and sampled vectors."""

    batch_id: int
    sums: np.ndarray  # [heads, len(SUM_NAMES)] float64
    examples: list[tuple[int, int, int, float]]  # (head index, stat index, text id, score), top per head+stat
    vectors: list[tuple[int, str, int, int, str, np.ndarray]] = field(default_factory=list)
    # ^ (head index, "query"/"key", text id, position, label, vector float32)
    texts: int = 0
    tokens: int = 0
    skipped: tuple[int, ...] = ()  # text ids the model could not read

    def to_bytes(self) -> bytes:
        """One Parquet file: a row per head with its sums, then example rows, then vector rows."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        n_heads = len(self.sums)
        rows = {"record": ["sum"] * n_heads, "head": list(range(n_heads)), "stat": [-1] * n_heads,
                "text_id": [-1] * n_heads, "value": [0.0] * n_heads, "side": [""] * n_heads,
                "label": [""] * n_heads, "sums": [list(map(float, row)) for row in self.sums],
                "vector": [None] * n_heads}
        for head, stat, text_id, score in self.examples:
            for name, value in (("record", "example"), ("head", head), ("stat", stat), ("text_id", text_id),
                                ("value", score), ("side", ""), ("label", ""), ("sums", None), ("vector", None)):
                rows[name].append(value)
        for head, side, text_id, position, label, vector in self.vectors:
            for name, value in (("record", "vector"), ("head", head), ("stat", position), ("text_id", text_id),
                                ("value", 0.0), ("side", side), ("label", label), ("sums", None),
                                ("vector", [float(v) for v in vector])):
                rows[name].append(value)
        schema = pa.schema([("record", pa.string()), ("head", pa.int32()), ("stat", pa.int32()),
                            ("text_id", pa.int64()), ("value", pa.float64()), ("side", pa.string()),
                            ("label", pa.string()), ("sums", pa.list_(pa.float64())),
                            ("vector", pa.list_(pa.float32()))])
        meta = {"batch_id": self.batch_id, "texts": self.texts, "tokens": self.tokens, "skipped": list(self.skipped),
                "sum_names": list(SUM_NAMES), "example_stats": list(EXAMPLE_STATS)}
        table = pa.table(rows, schema=schema).replace_schema_metadata({"attnviz.part": json.dumps(meta)})
        sink = io.BytesIO()
        pq.write_table(table, sink)
        return sink.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> BatchPart:
        import pyarrow.parquet as pq

        table = pq.read_table(io.BytesIO(data))
        meta = json.loads(table.schema.metadata[b"attnviz.part"])
        if meta["sum_names"] != list(SUM_NAMES) or meta["example_stats"] != list(EXAMPLE_STATS):
            raise ValueError("this part was written by another version of the census statistics")
        columns = table.to_pydict()
        records = columns["record"]
        sums = np.array([columns["sums"][i] for i, r in enumerate(records) if r == "sum"], dtype=np.float64)
        examples = [(columns["head"][i], columns["stat"][i], columns["text_id"][i], columns["value"][i])
                    for i, r in enumerate(records) if r == "example"]
        vectors = [(columns["head"][i], columns["side"][i], columns["text_id"][i], columns["stat"][i],
                    columns["label"][i], np.asarray(columns["vector"][i], dtype=np.float32))
                   for i, r in enumerate(records) if r == "vector"]
        return cls(meta["batch_id"], sums, examples, vectors, meta["texts"], meta["tokens"], tuple(meta["skipped"]))


def _top(scores: list[tuple[int, float]], k: int) -> list[tuple[int, float]]:
    """The ``k`` strongest (text id, score), ties to the lower text id: the same whatever order they came in."""
    return sorted(scores, key=lambda pair: (-pair[1], pair[0]))[:k]


def _sampled_positions(n: int, special: Sequence[bool], limit: int) -> list[int]:
    plain = [i for i in range(n) if not special[i]] or list(range(n))
    if len(plain) <= limit:
        return plain
    picks = np.unique(np.linspace(0, len(plain) - 1, limit).round().astype(int))
    return [plain[i] for i in picks]


def _vectors_of(result: AttentionResult, heads: Sequence[HeadKey], text_id: int, limit: int) -> list:
    rows = []
    for index, (kind, layer, head) in enumerate(heads):
        recorded = result.vectors.get(kind, {}).get(layer)
        if recorded is None:
            continue
        for side, tokens, matrix in (("query", result.query_tokens(kind), recorded.query[head]),
                                     ("key", result.key_tokens(kind), recorded.key[recorded.kv_head_of(head)])):
            for position in _sampled_positions(len(matrix), tokens.special, limit):
                rows.append((index, side, text_id, position, tokens.labels[position],
                             np.asarray(matrix[position], dtype=np.float32)))
    return rows


def _capture(loaded: LoadedModel, batch: Batch, options: CensusOptions, record: bool):
    """The batch in one padded pass; if the model refuses it, text by text, skipping the ones it cannot read."""
    from attnviz.capturing.run import capture_batch

    kwargs = {"max_tokens": options.max_tokens, "record_vectors": record}
    try:
        return list(zip(batch.text_ids, capture_batch(loaded, list(batch.texts), list(batch.targets), **kwargs)))
    except AttnvizError:
        if len(batch.texts) == 1:
            return []
    captured = []
    for text_id, text, target in zip(batch.text_ids, batch.texts, batch.targets):
        try:
            captured.append((text_id, capture_batch(loaded, [text], [target], **kwargs)[0]))
        except AttnvizError:
            continue
    return captured


def census_batch(loaded: LoadedModel, batch: Batch, options: CensusOptions | None = None) -> BatchPart:
    """The per-batch function of every engine: capture the batch, return its sums, examples and vectors.

    Deterministic: the same batch on the same model gives the same part, bit for bit.
    """
    options = options or CensusOptions()
    heads = head_keys(loaded.shape)
    record = bool(batch.vector_ids) and loaded.capture_path == "interface"
    captured = _capture(loaded, batch, options, record)
    alignment_of = dict(zip(batch.text_ids, batch.alignments))
    sums = np.zeros((len(heads), len(SUM_NAMES)))
    candidates: dict[tuple[int, int], list[tuple[int, float]]] = {}
    vectors, tokens = [], 0
    for text_id, result in captured:
        text_sums = result_sums(result, heads, alignment_of[text_id])
        sums += text_sums
        tokens += len(result.source) + (len(result.decoder_input) if result.decoder_input is not None else 0)
        scores = text_scores(text_sums)
        for head, stat in zip(*np.nonzero(np.isfinite(scores))):
            candidates.setdefault((int(head), int(stat)), []).append((text_id, float(scores[head, stat])))
        if record and text_id in batch.vector_ids:
            vectors += _vectors_of(result, heads, text_id, options.qk_tokens)
    examples = [(head, stat, text_id, score) for (head, stat), found in sorted(candidates.items())
                for text_id, score in _top(found, options.top_examples)]
    done = {text_id for text_id, _ in captured}
    return BatchPart(batch.batch_id, sums, examples, vectors, texts=len(done), tokens=tokens,
                     skipped=tuple(i for i in batch.text_ids if i not in done))


# ---------------------------------------------------------------------------------------------- combining
class Accumulator:
    """Adds parts in batch order (float64), keeps the strongest examples and the sampled vectors."""

    def __init__(self, n_heads: int, top_examples: int) -> None:
        self.sums = np.zeros((n_heads, len(SUM_NAMES)))
        self.top_examples = top_examples
        self.examples: dict[tuple[int, int], list[tuple[int, float]]] = {}
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
        for head, stat, text_id, score in part.examples:
            kept = self.examples.setdefault((head, stat), [])
            kept.append((text_id, score))
            if len(kept) > 4 * self.top_examples:
                kept[:] = _top(kept, self.top_examples)
        self.vectors += part.vectors
        self.texts += part.texts
        self.tokens += part.tokens
        self.skipped += part.skipped

    def top(self) -> dict[tuple[int, int], list[tuple[int, float]]]:
        return {key: _top(found, self.top_examples) for key, found in sorted(self.examples.items())}


def means(sums: np.ndarray) -> dict[str, np.ndarray]:
    """Finished per-head statistics from summed parts: name -> [heads] (NaN where no row counted)."""
    def ratio(total: np.ndarray, count: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(count > 0, total / np.maximum(count, 1), np.nan)

    column = {name: sums[:, i] for i, name in enumerate(SUM_NAMES)}
    out = {m: ratio(column[f"{m}.sum"], column[f"{m}.count"]) for m in MEANS}
    variance = ratio(column["entropy_rel_sq.sum"], column["entropy_rel.count"]) - out["entropy_rel"] ** 2
    out["entropy_rel_std"] = np.sqrt(np.clip(variance, 0.0, None))
    out["rows"] = column["first.count"]
    out["alignment_rows"] = column["alignment.count"]
    for b in range(ENTROPY_BINS):
        out[f"entropy_bin_{b}"] = ratio(column[f"entropy_bin.{b}"], column["entropy_rel.count"])
    for d in OFFSETS:
        out[f"offset_{d:+d}"] = ratio(column[f"offset.{d}.sum"], column[f"offset.{d}.count"])
    return out


def census_of_results(results: Sequence[AttentionResult], alignments: Sequence[Alignment | None] | None = None,
                      ) -> dict[str, np.ndarray]:
    """Statistics of already captured texts (no batching, no engine): name -> [heads] in ``head_keys`` order."""
    if not results:
        raise ValueError("no results")
    heads = head_keys(results[0].shape)
    alignments = alignments or [None] * len(results)
    return means(sum(result_sums(r, heads, a) for r, a in zip(results, alignments)))


def kind_layers(shape: ModelShape) -> dict[AttentionKind, int]:
    return {kind: shape.n_layers[kind] for kind in shape.kinds}
