"""Per-head statistics over a corpus, one batch at a time, computed where the attention is.

:func:`census_batch` is the one function every engine runs: texts in, a :class:`BatchPart` out. The
batch goes through the model in one padded forward pass; a :class:`~attnviz.tracing.handler.CaptureSession`
observer reduces each layer's weights ``(B, H, Q, K)`` to a few sums per text and head *as the layer
produces them*, with torch operations on the model's device (masks for padding and special tokens, no
loop over texts), so no layer's weights are kept and none is copied to the CPU; only the query and key
vectors of the few texts sampled for the 2-D map are. A part holds *sums and counts* in float64 (never
means), so parts combine by addition; :class:`Accumulator` adds them in batch order, which makes the
result the same whichever engine ran the batches and in whatever order they finished.

Statistics, per head (kind, layer, head):

- the **head roles** of ``attnviz heads`` (:mod:`attnviz.roles.scores`, the same code): for each linear
  role its numerator, denominator and rows summed over texts, so the corpus score is
  ``sum(num) / sum(den)`` (the formula of one text, summed); ``broad`` and ``monotonic`` and every
  role's shuffled-position baseline are means over texts; the verdict (``roles``, ``primary``) uses the
  thresholds of :mod:`attnviz.roles.report`;
- over the rows of word tokens (self-attention: non-special query tokens, a decoder also skips row 0,
  which can only see itself; cross-attention: every target row):
  ``offset.d``: mean weight on the key at relative position ``d`` (key − query), for |d| <= 8 (self-attention);
  ``sink``: share of rows that put at least half their weight on sinks (the first key or a special token);
  ``entropy``: row entropy in bits; ``entropy_rel``: entropy / log2(keys the row may see), rows that
  see one key skipped; its distribution in ``ENTROPY_BINS`` bins and its square for a spread;
- ``alignment`` (cross-attention, texts with a gold alignment): share of target words whose strongest
  non-special source token belongs to one of the gold source words; ``alignment_mass``: weight on them.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import torch

from attnviz.census.sources import Alignment
from attnviz.errors import AttnvizError, NoAttentionError
from attnviz.models.loading import LoadedModel
from attnviz.result import AttentionKind, AttentionResult, ModelShape
from attnviz.roles.report import assign
from attnviz.roles.scores import (
    LINEAR_ROLES,
    BatchFacts,
    RoleMasks,
    allowed_weights,
    diagonals,
    divide,
    kind_roles,
    linear_rows,
    monotonic,
    relative_entropy,
    role_masks,
    role_rows,
    text_scores,
    uniform_weights,
    wide,
)

STATS_VERSION = 2
OFFSETS: tuple[int, ...] = tuple(range(-8, 9))
ENTROPY_BINS = 10
SINK_SHARE = 0.5  # a row is a sink row when at least this much of its weight is on sinks
ROLES: tuple[str, ...] = (*LINEAR_ROLES, "monotonic", "broad")  # every role of any kind, one column each
MEANS: tuple[str, ...] = ("sink", "entropy", "entropy_rel", "alignment", "alignment_mass")
EXAMPLE_STATS: tuple[str, ...] = (*ROLES, "sink", "entropy_rel", "alignment")


def _sum_names() -> tuple[str, ...]:
    names = [f"{r}.{part}" for r in LINEAR_ROLES for part in ("num", "den", "rows", "base")]
    names += ["broad.sum", "monotonic.sum", "monotonic.base", "texts"]
    names += ["sink.sum", "rows", "entropy.sum", "entropy_rel.sum", "entropy_rel_sq.sum", "entropy.count"]
    names += [f"entropy_bin.{b}" for b in range(ENTROPY_BINS)]
    names += [f"offset.{d}.{part}" for part in ("sum", "count") for d in OFFSETS]
    names += ["alignment.sum", "alignment_mass.sum", "alignment.count"]
    return tuple(names)


SUM_NAMES = _sum_names()
_AT = {name: i for i, name in enumerate(SUM_NAMES)}
HeadKey = tuple[str, int, int]  # (kind, layer, head)
_OFFSET_COLUMNS = [_AT[f"offset.{d}.sum"] for d in OFFSETS]


def _columns(*names: str) -> list[int]:
    return [_AT[n] for n in names]


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


# ---------------------------------------------------------------------------------------------- one kind
@contextmanager
def one_thread(device: torch.device | str):
    """On a CPU the statistics run on one thread: they are a few dozen small operations per layer, for which
    waking intra-op threads costs more than it saves (on a busy machine a descheduled helper thread
    stalls every one of them: 20-70 ms per MiniLM layer at batch 16 on 2 shared cores against 1-2 ms on
    one). The model's own layers keep the threads they had."""
    threads = torch.get_num_threads()
    if torch.device(device).type != "cpu" or threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@dataclass(frozen=True)
class KindContext:
    """What the statistics of one kind of attention need about a batch, on the model's device: built once
    per batch, used for every layer of that kind."""

    masks: RoleMasks
    cross: bool
    rows: torch.Tensor  # (B, Q) float: the word rows of the non-role statistics
    entropy_rows: torch.Tensor  # (B, Q) float: ... that see at least two keys
    offsets: torch.Tensor | None  # (B, Q, len(OFFSETS)) float: word rows whose key i + d exists
    gold: torch.Tensor | None  # (B, Q, K) float: gold source tokens of each target row (cross, with alignments)
    gold_rows: torch.Tensor | None  # (B, Q) float: target rows with a gold alignment
    candidates: torch.Tensor | None  # (B, K) bool: keys the alignment's argmax may choose
    fixed: torch.Tensor  # (B, len(SUM_NAMES)): the head-independent columns (row counts, baselines)
    row_weights: torch.Tensor  # (B, 1, Q, X): what each row adds to each of the X per-row sums of head_sums
    columns: list[int]  # their columns in SUM_NAMES


def kind_context(facts: BatchFacts, gold: torch.Tensor | None = None,
                 gold_rows: torch.Tensor | None = None) -> KindContext:
    masks = role_masks(facts)
    real = facts.query_real
    device = real.device
    if facts.cross:
        rows = real
    else:
        rows = real & ~facts.query_special
        if facts.causal:
            rows = rows & (torch.arange(real.shape[1], device=device) >= 1)[None]
    entropy_rows = rows & masks.entropy_rows
    fixed = wide(torch.zeros((real.shape[0], len(SUM_NAMES)), device=device))
    offsets = None
    if not facts.cross:
        q = torch.arange(real.shape[1], device=device)[None, :, None]
        d = torch.as_tensor(OFFSETS, device=device)[None, None, :]
        inside = (q + d >= 0) & (q + d < facts.key_length[:, None, None])
        if facts.causal:
            inside = inside & (d <= 0)
        offsets = (rows[:, :, None] & inside).float()
        fixed[:, _columns(*(f"offset.{d}.count" for d in OFFSETS))] = wide(offsets).sum(1)
    n_rows = role_rows(masks)
    fixed[:, _columns(*(f"{r}.rows" for r in masks.roles))] = n_rows
    base = text_scores(uniform_weights(masks), masks)  # the uniform map's scores: the shuffled baseline
    fixed[:, _columns(*(f"{r}.base" for r in masks.roles))] = torch.stack([base[r][:, 0] for r in masks.roles], -1)
    if facts.cross:
        fixed[:, _AT["monotonic.base"]] = base["monotonic"][:, 0]
    fixed[:, _AT["texts"]] = 1.0
    fixed[:, _AT["rows"]] = wide(rows).sum(1)
    fixed[:, _AT["entropy.count"]] = wide(entropy_rows).sum(1)
    candidates = None
    if gold is not None:
        candidates = facts.key_real & ~facts.key_special
        gold_rows = gold_rows & candidates.any(-1, keepdim=True)
        fixed[:, _AT["alignment.count"]] = wide(gold_rows).sum(1)
    # per-row sums, in the order head_sums stacks them: numerators and denominators of the linear roles (on
    # their rows), sink rows, bits, relative entropy and its square and its histogram (on the word rows that
    # see two keys), broad (each row's share of its text's mean), then the offsets
    counted = entropy_rows.float()[..., None]
    parts = [masks.rows, masks.rows, rows.float()[..., None], counted.expand(-1, -1, 3 + ENTROPY_BINS),
             (masks.entropy_rows.float() / masks.entropy_rows.sum(-1, keepdim=True).clamp(min=1))[..., None]]
    columns = _columns(*(f"{r}.num" for r in masks.roles), *(f"{r}.den" for r in masks.roles), "sink.sum",
                       "entropy.sum", "entropy_rel.sum", "entropy_rel_sq.sum",
                       *(f"entropy_bin.{b}" for b in range(ENTROPY_BINS)), "broad.sum")
    if offsets is not None:
        parts.append(offsets)
        columns += _OFFSET_COLUMNS
    return KindContext(masks, facts.cross, rows.float(), entropy_rows.float(), offsets,
                       None if gold is None else gold.float(), None if gold_rows is None else gold_rows.float(),
                       candidates, fixed, torch.cat(parts, -1)[:, None], columns)




def head_sums(weights: torch.Tensor, context: KindContext) -> torch.Tensor:
    """One layer's weights ``(B, H, Q, K)`` -> each text's sums ``(B, H, len(SUM_NAMES))`` in float64, on the device.

    Every per-row quantity is stacked into one ``(B, H, Q, X)`` tensor and summed over each text's rows
    with one product: the statistics are few large operations, not many small ones.
    """
    m = context.masks
    a = allowed_weights(weights, m)  # (B, H, Q, K), NaN-free, zero outside each row's allowed keys
    out = context.fixed[:, None, :].repeat(1, a.shape[1], 1)
    near = diagonals(a, OFFSETS) if context.offsets is not None else None  # (B, H, Q, 17): weight at i + d
    centre = OFFSETS.index(0)
    num, den, sinks = linear_rows(a, m, None if near is None else near[..., centre - 2: centre + 3])
    relative = relative_entropy(a, m)  # (B, H, Q)
    bins = (relative * ENTROPY_BINS).long().clamp(0, ENTROPY_BINS - 1)
    histogram = (bins[..., None] == torch.arange(ENTROPY_BINS, device=bins.device)).float()
    per_row = [num, den, (sinks >= SINK_SHARE).float()[..., None],
               torch.stack([relative * m.log_allowed[:, None], relative, relative * relative], -1), histogram,
               relative[..., None]] + ([near] if near is not None else [])
    sums = (torch.cat(per_row, -1) * context.row_weights).sum(2)  # (B, H, X): rows of one text in float32
    out[..., context.columns] = wide(sums)
    out[..., _AT["broad.sum"]].clamp_(0.0, 1.0)
    if context.cross:
        out[..., _AT["monotonic.sum"]] = monotonic(weights, m, masked=a)
    if context.gold is not None:
        strongest = torch.where(context.candidates[:, None, None, :], a, float("-inf")).argmax(-1)  # (B, H, Q)
        hits = context.gold[:, None].expand_as(a).gather(-1, strongest[..., None])[..., 0]
        gold_rows = context.gold_rows[:, None]
        out[..., _AT["alignment.sum"]] = (hits * gold_rows).sum(-1)
        out[..., _AT["alignment_mass.sum"]] = ((a * context.gold[:, None]).sum(-1) * gold_rows).sum(-1)
    return out


# ---------------------------------------------------------------------------------------------- one batch
@dataclass
class BatchPart:
    """What one batch adds to a census: sums, its strongest texts and sampled vectors."""

    batch_id: int
    sums: np.ndarray  # [heads, len(SUM_NAMES)] float64
    examples: np.ndarray  # structured: head, stat, text_id, score; the top texts per head and statistic
    vectors: list[tuple[int, str, int, int, str, np.ndarray]] = field(default_factory=list)
    # ^ (head index, "query"/"key", text id, position, label, vector float32)
    texts: int = 0
    tokens: int = 0
    skipped: tuple[int, ...] = ()  # text ids the model could not read

    def to_bytes(self) -> bytes:
        """One Parquet file: a row per head with its sums, then example rows, then vector rows."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        n_heads, n_examples, n_vectors = len(self.sums), len(self.examples), len(self.vectors)
        n = n_heads + n_examples + n_vectors
        width = self.sums.shape[1]
        sum_offsets = np.concatenate([np.arange(n_heads + 1) * width, np.full(n - n_heads, n_heads * width)])
        vector_sizes = [0] * (n_heads + n_examples) + [len(v[5]) for v in self.vectors]
        vector_values = (np.concatenate([v[5] for v in self.vectors]).astype(np.float32) if self.vectors
                         else np.zeros(0, np.float32))
        e = self.examples
        table = pa.table({
            "record": pa.array(["sum"] * n_heads + ["example"] * n_examples + ["vector"] * n_vectors),
            "head": pa.array(np.concatenate([np.arange(n_heads), e["head"], [v[0] for v in self.vectors]]),
                             pa.int32()),
            "stat": pa.array(np.concatenate([np.full(n_heads, -1), e["stat"], [v[3] for v in self.vectors]]),
                             pa.int32()),
            "text_id": pa.array(np.concatenate([np.full(n_heads, -1), e["text_id"], [v[2] for v in self.vectors]]),
                                pa.int64()),
            "value": pa.array(np.concatenate([np.zeros(n_heads), e["score"], np.zeros(n_vectors)]), pa.float64()),
            "side": pa.array([""] * (n_heads + n_examples) + [v[1] for v in self.vectors]),
            "label": pa.array([""] * (n_heads + n_examples) + [v[4] for v in self.vectors]),
            "sums": pa.ListArray.from_arrays(pa.array(sum_offsets, pa.int32()),
                                             pa.array(self.sums.ravel(), pa.float64())),
            "vector": pa.ListArray.from_arrays(pa.array(np.concatenate([[0], np.cumsum(vector_sizes)]), pa.int32()),
                                               pa.array(vector_values, pa.float32())),
        })
        meta = {"batch_id": self.batch_id, "texts": self.texts, "tokens": self.tokens, "skipped": list(self.skipped),
                "sum_names": list(SUM_NAMES), "example_stats": list(EXAMPLE_STATS)}
        table = table.replace_schema_metadata({"attnviz.part": json.dumps(meta)})
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
        record = table.column("record").to_numpy(zero_copy_only=False)
        head, stat = table.column("head").to_numpy(), table.column("stat").to_numpy()
        text_id, value = table.column("text_id").to_numpy(), table.column("value").to_numpy()
        is_sum, is_example = record == "sum", record == "example"
        sums = table.column("sums").combine_chunks().flatten().to_numpy().reshape(int(is_sum.sum()), len(SUM_NAMES))
        examples = _records(head[is_example], stat[is_example], text_id[is_example], value[is_example])
        side, label = table.column("side").to_pylist(), table.column("label").to_pylist()
        vectors_column = table.column("vector").to_pylist()
        vectors = [(int(head[i]), side[i], int(text_id[i]), int(stat[i]), label[i],
                    np.asarray(vectors_column[i], dtype=np.float32)) for i in np.flatnonzero(record == "vector")]
        return cls(meta["batch_id"], sums, examples, vectors, meta["texts"], meta["tokens"], tuple(meta["skipped"]))


_RECORD = np.dtype([("head", np.int32), ("stat", np.int32), ("text_id", np.int64), ("score", np.float64)])


def _records(head, stat, text_id, score) -> np.ndarray:
    out = np.empty(len(head), _RECORD)
    out["head"], out["stat"], out["text_id"], out["score"] = head, stat, text_id, score
    return out


def top_records(records: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` strongest texts of each (head, stat), ties to the lower text id: the same whatever order they
    came in. Sorted by head, stat, then rank."""
    order = np.lexsort((records["text_id"], -records["score"], records["stat"], records["head"]))
    ordered = records[order]
    group = ordered["head"].astype(np.int64) * len(EXAMPLE_STATS) + ordered["stat"]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    rank = np.arange(len(ordered)) - np.repeat(starts, np.diff(np.r_[starts, len(ordered)]))
    return ordered[rank < k]


def batch_top(scores: np.ndarray, text_ids: np.ndarray, k: int) -> np.ndarray:
    """Records of the ``k`` strongest texts per head and statistic of one batch, ``scores [texts, heads, stats]``
    with ``text_ids`` increasing: a stable sort keeps ties in text order (the lower text id first)."""
    k = min(k, len(text_ids))
    order = np.argsort(-scores, axis=0, kind="stable")[:k]  # [k, heads, stats]; NaN sorts last
    best = np.take_along_axis(scores, order, 0)
    rank, head, stat = np.nonzero(np.isfinite(best))
    records = _records(head, stat, text_ids[order[rank, head, stat]], best[rank, head, stat])
    return records[np.lexsort((rank, records["stat"], records["head"]))]


def text_scores_of(sums: np.ndarray, cross: np.ndarray) -> np.ndarray:
    """Each text's value of every :data:`EXAMPLE_STATS` per head, NaN where it has none: ``[..., heads, stats]``.

    ``sums``: ``[..., heads, len(SUM_NAMES)]`` of single texts; ``cross``: ``[heads]`` bool.
    """
    column = lambda name: sums[..., _AT[name]]  # noqa: E731
    with np.errstate(divide="ignore", invalid="ignore"):
        values = {}
        for r in LINEAR_ROLES:
            n_rows = column(f"{r}.rows")
            values[r] = np.where(n_rows > 0, np.clip(divide(column(f"{r}.num"), column(f"{r}.den"), n_rows), 0, 1),
                                 np.nan)
        values["monotonic"] = np.where(cross, column("monotonic.sum"), np.nan)
        values["broad"] = column("broad.sum")
        values["sink"] = np.where(column("rows") > 0, column("sink.sum") / column("rows"), np.nan)
        values["entropy_rel"] = np.where(column("entropy.count") > 0,
                                         column("entropy_rel.sum") / column("entropy.count"), np.nan)
        values["alignment"] = np.where(column("alignment.count") > 0,
                                       column("alignment.sum") / column("alignment.count"), np.nan)
    return np.stack([values[s] for s in EXAMPLE_STATS], -1)


def _sampled_positions(n: int, special: Sequence[bool], limit: int) -> list[int]:
    plain = [i for i in range(n) if not special[i]] or list(range(n))
    if len(plain) <= limit:
        return plain
    picks = np.unique(np.linspace(0, len(plain) - 1, limit).round().astype(int))
    return [plain[i] for i in picks]


@dataclass(frozen=True)
class _Text:
    """One encoded text of a batch (see :mod:`attnviz.capturing.run`)."""

    text_id: int
    encoded: object  # capturing.run._Encoded
    alignment: Alignment | None


def _sides(loaded: LoadedModel, text) -> dict[AttentionKind, tuple]:
    """(query sequence, key sequence) of each kind of attention for one encoded text."""
    e = text.encoded
    if loaded.family == "encoder-decoder":
        return {"encoder": (e.source, e.source), "decoder": (e.reads, e.reads), "cross": (e.reads, e.source)}
    kind = loaded.shape.kinds[0]
    return {kind: (e.source, e.source)}


def _gold(texts: Sequence[_Text], width_q: int, width_k: int, device) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Gold source tokens of each target row (from each text's word alignment), or None without alignments."""
    if all(t.alignment is None or t.encoded.produces is None for t in texts):
        return None
    gold = torch.zeros((len(texts), width_q, width_k), dtype=torch.bool)
    for b, t in enumerate(texts):  # input preparation from the token facts: no attention is read here
        produced, alignment = t.encoded.produces, t.alignment
        if alignment is None or produced is None:
            continue
        key_words = t.encoded.source.word_ids[:width_k]
        for i, word in enumerate(produced.word_ids[:width_q]):
            if word is None or word >= len(alignment) or not alignment[word]:
                continue
            wanted = set(alignment[word])
            gold[b, i, : len(key_words)] = torch.tensor([w is not None and w in wanted for w in key_words])
    return gold.to(device), gold.any(-1).to(device)


def contexts_for(loaded: LoadedModel, texts: Sequence[_Text], widths: dict[str, int],
                 device) -> dict[AttentionKind, KindContext]:
    sides = [_sides(loaded, t) for t in texts]
    out = {}
    for kind in sides[0]:
        query = [(s[kind][0].token_ids, s[kind][0].special) for s in sides]
        key = [(s[kind][1].token_ids, s[kind][1].special) for s in sides]
        cross = kind == "cross"
        q_width = widths["target" if kind != "encoder" and loaded.family == "encoder-decoder" else "source"]
        k_width = widths["source" if kind != "decoder" or loaded.family != "encoder-decoder" else "target"]
        facts = BatchFacts.padded(query, key if cross else None, causal=kind == "decoder",
                                  widths=(q_width, k_width), device=device)
        gold = _gold(texts, q_width, k_width, device) if cross else None
        out[kind] = kind_context(facts, *(gold or (None, None)))
    return out


class CensusObserver:
    """The census's observer of a capture session: reduces each layer's weights to per-text sums as the layer
    produces them, and keeps the query/key vectors of the sampled texts (the only tensors copied to the CPU
    besides the sums)."""

    def __init__(self, contexts: dict[AttentionKind, KindContext], sampled_rows: Sequence[int]) -> None:
        self.contexts = contexts
        self.sampled = list(sampled_rows)
        self.sums: dict[tuple[str, int], torch.Tensor] = {}
        self.vectors: dict[tuple[str, int], tuple[torch.Tensor, torch.Tensor]] = {}

    def __call__(self, site, weights: torch.Tensor, query: torch.Tensor | None, key: torch.Tensor | None) -> None:
        context = self.contexts.get(site.kind)
        if context is None:
            return
        with one_thread(weights.device):
            self.sums[(site.kind, site.layer)] = head_sums(weights, context)
        if self.sampled and query is not None:
            rows = torch.as_tensor(self.sampled, device=query.device)
            self.vectors[(site.kind, site.layer)] = (query[rows].float().cpu(), key[rows].float().cpu())

    def stacked(self, heads: Sequence[HeadKey]) -> np.ndarray:
        """``[texts, heads, len(SUM_NAMES)]`` float64 in ``heads`` order."""
        layers = list(dict.fromkeys((kind, layer) for kind, layer, _ in heads))
        missing = [kl for kl in layers if kl not in self.sums]
        if missing:
            raise NoAttentionError(f"No attention weights came out for {missing[:3]}.", code="missing_layers",
                                   model="")
        parts = []
        for kind, layer in layers:
            n_heads = sum(1 for k, li, _ in heads if (k, li) == (kind, layer))
            parts.append(self.sums[(kind, layer)][:, :n_heads])
        return torch.cat(parts, 1).cpu().numpy().astype(np.float64, copy=False)


def _encode_all(loaded: LoadedModel, batch: Batch, limit: int) -> tuple[list[_Text], list[int]]:
    from attnviz.capturing.run import _encode

    texts, skipped = [], []
    for text_id, text, target, alignment in zip(batch.text_ids, batch.texts, batch.targets, batch.alignments):
        try:
            texts.append(_Text(text_id, _encode(loaded, text, target, limit, True, 32), alignment))
        except AttnvizError:
            skipped.append(text_id)
    return texts, skipped


def _forward(loaded: LoadedModel, texts: Sequence[_Text], heads: Sequence[HeadKey], sampled_rows: Sequence[int]
             ) -> tuple[np.ndarray, CensusObserver]:
    """One padded forward pass of ``texts`` with the census observer: ``[texts, heads, sums]`` and the observer."""
    from attnviz.capturing.run import _batch_inputs, accepted_kwargs, routing_session
    from attnviz.tracing.interface import handling
    from attnviz.tracing.probe import returned_attentions

    inputs = _batch_inputs(loaded, [t.encoded for t in texts])
    widths = {"source": inputs["input_ids"].shape[1],
              "target": inputs["decoder_input_ids"].shape[1] if "decoder_input_ids" in inputs else 0}
    with one_thread(loaded.device):
        observer = CensusObserver(contexts_for(loaded, texts, widths, loaded.device), sampled_rows)
    model_inputs = accepted_kwargs(loaded.model, inputs)
    try:
        if loaded.capture_path == "interface":
            session = routing_session(loaded)
            session.observer = observer
            with handling(session), torch.inference_mode():
                loaded.model(**model_inputs, use_cache=False)
        else:  # outside the attention interface: the model's own output_attentions, reduced the same way
            with torch.inference_mode():
                outputs = loaded.model(**model_inputs, use_cache=False, output_attentions=True)
                for kind, layers in returned_attentions(outputs, loaded.family).items():
                    for layer, weights in enumerate(layers):
                        observer(SimpleNamespace(kind=kind, layer=layer), weights, None, None)
    except AttnvizError:
        raise
    except Exception as error:  # the model's own code failed (out of memory, a bug in a custom layer ...)
        raise NoAttentionError(f"{loaded.name} failed while reading the text ({type(error).__name__}).",
                               code="forward_failed", model=loaded.name, error=type(error).__name__) from error
    return observer.stacked(heads), observer


def _vectors(loaded: LoadedModel, texts: Sequence[_Text], observer: CensusObserver, heads: Sequence[HeadKey],
             limit: int) -> list:
    rows = []
    index = {h: i for i, h in enumerate(heads)}
    for sample, b in enumerate(observer.sampled):
        sides = _sides(loaded, texts[b])
        for (kind, layer), (query, key) in sorted(observer.vectors.items(), key=lambda kv: index[(*kv[0], 0)]):
            q_seq, k_seq = sides[kind]
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
    texts, skipped = _encode_all(loaded, batch, _limit(loaded, options))
    record = loaded.capture_path == "interface"
    sampled = lambda group: [b for b, t in enumerate(group) if record and t.text_id in batch.vector_ids]  # noqa: E731
    per_text, observers = np.zeros((0, len(heads), len(SUM_NAMES))), []
    if texts:
        try:  # the batch in one padded pass; if the model refuses it, text by text, skipping what it cannot read
            per_text, observer = _forward(loaded, texts, heads, sampled(texts))
            observers = [(texts, observer)]
        except AttnvizError:
            kept, sums = [], []
            for text in texts:
                try:
                    one, observer = _forward(loaded, [text], heads, sampled([text]))
                except AttnvizError:
                    skipped.append(text.text_id)
                    continue
                kept.append(text)
                sums.append(one)
                observers.append(([text], observer))
            texts = kept
            per_text = np.concatenate(sums) if sums else per_text
    text_ids = np.array([t.text_id for t in texts], dtype=np.int64)
    cross = np.array([kind == "cross" for kind, _, _ in heads])
    examples = batch_top(text_scores_of(per_text, cross), text_ids, options.top_examples)
    vectors = [row for group, observer in observers for row in _vectors(loaded, group, observer, heads,
                                                                         options.qk_tokens)]
    tokens = sum(len(t.encoded.source) + (len(t.encoded.reads) if t.encoded.reads is not None else 0) for t in texts)
    return BatchPart(batch.batch_id, per_text.sum(0), examples, vectors, texts=len(texts), tokens=tokens,
                     skipped=tuple(sorted(skipped)))


# ---------------------------------------------------------------------------------------------- combining
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
    applies = {r: np.array([r in kind_roles(k == "cross", k == "decoder") for k in kinds]) for r in ROLES}
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
    out["primary"] = np.array([v[0] if v else "none" for v in verdicts], dtype=object)
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
    encoded = SimpleNamespace(source=result.source, reads=result.decoder_input, produces=result.output_tokens)
    family = "encoder-decoder" if result.decoder_input is not None else None
    loaded = SimpleNamespace(family=family, shape=result.shape)
    text = _Text(0, encoded, alignment)
    reads = result.decoder_input
    widths = {"source": len(result.source), "target": len(reads) if reads is not None else 0}
    contexts = contexts_for(loaded, [text], widths, "cpu")
    observer = CensusObserver(contexts, ())
    for kind in result.kinds:
        for index, layer in enumerate(result.layers[kind]):
            observer(SimpleNamespace(kind=kind, layer=layer), torch.from_numpy(result.arrays[kind][index][None]),
                     None, None)
    return observer.stacked(heads)[0]
