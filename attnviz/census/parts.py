"""A batch's part of a census: its sums, strongest texts and sampled vectors, and its Parquet form."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field

import numpy as np

from attnviz.census.stats import COLUMN, EXAMPLE_STATS, SUM_NAMES
from attnviz.roles.scores import divide
from attnviz.roles.vocabulary import LINEAR_ROLES


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
    column = lambda name: sums[..., COLUMN[name]]  # noqa: E731
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

