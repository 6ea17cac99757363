"""The finished census: per-head statistics, each head's strongest texts and its query/key map.

Saved as one Parquet file. Its rows are of three kinds (column ``record``): ``head`` (one per head, a
column per statistic), ``example`` (a head's strongest texts per statistic, with the text itself so the
app can capture it again and draw it) and ``point`` (the 2-D query/key map). The file's metadata holds
:class:`CensusMeta` as JSON. Pandas reads it as one table: ``df[df.record == "head"]``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from attnviz.census.accumulate import Accumulator, means
from attnviz.census.qkmap import Method, joint_map
from attnviz.census.sources import CensusInputError, Corpus
from attnviz.census.stats import ENTROPY_BINS, EXAMPLE_STATS, OFFSETS, HeadKey
from attnviz.roles.vocabulary import ORDER

FORMAT = "attnviz.census/2"
METADATA_KEY = b"attnviz.census"
# The head roles first (a column each, named after the role, in the verdict's order), then the distributions.
ROLE_STATS: tuple[str, ...] = ORDER
GRID_STATS: tuple[str, ...] = (*ROLE_STATS, "sink", "entropy", "entropy_rel", "entropy_rel_std", "alignment",
                               "alignment_mass")
HEAD_COLUMNS: tuple[str, ...] = (*GRID_STATS, "roles", "primary", *(f"baseline_{r}" for r in ROLE_STATS),
                                 "rows", "alignment_rows", *(f"entropy_bin_{b}" for b in range(ENTROPY_BINS)),
                                 *(f"offset_{d:+d}" for d in OFFSETS))
EXAMPLE_COLUMNS = ["kind", "layer", "head", "stat", "rank", "text_id", "score", "text", "target"]
POINT_COLUMNS = ["kind", "layer", "head", "side", "text_id", "position", "label", "x", "y"]


def examples_stat(stat: str) -> str | None:
    """The statistic whose strongest texts illustrate ``stat`` (None: no texts are kept for it)."""
    if stat in EXAMPLE_STATS:
        return stat
    aliases = {"entropy": "entropy_rel", "entropy_rel_std": "entropy_rel", "alignment_mass": "alignment",
               "offset_-1": "previous", "offset_+0": "self", "offset_+1": "next"}
    return aliases.get(stat)


_TEXT_COLUMNS = ("record", "kind", "side", "stat", "text", "target", "label", "roles", "primary")
_INT_COLUMNS = ("layer", "head", "rank", "text_id", "position")


@dataclass(frozen=True)
class CensusMeta:
    """How a census was made."""

    model: str
    data: str
    n_texts: int  # texts read by the model
    n_tokens: int
    skipped: int  # texts the model could not read
    engine: str
    seconds: float
    options: dict
    qk_method: str
    kinds: dict[str, int]  # kind -> layers
    heads: dict[str, list[int]]  # kind -> heads per layer
    notes: tuple[str, ...] = ()
    format: str = FORMAT


@dataclass
class CensusResult:
    """Per-head statistics over a corpus.

    ``heads``: a row per head (kind, layer, head) and a column per statistic (:data:`HEAD_COLUMNS`);
    ``examples``: kind, layer, head, stat, rank, text_id, score, text, target;
    ``points``: kind, layer, head, side ("query"/"key"), text_id, position, label, x, y.
    """

    heads: pd.DataFrame
    examples: pd.DataFrame
    points: pd.DataFrame
    meta: CensusMeta
    extra: dict = field(default_factory=dict)

    # -------------------------------------------------------------------------------------------- reading
    @property
    def kinds(self) -> list[str]:
        return list(self.meta.kinds)

    def stats(self, kind: str) -> list[str]:
        """Statistics with a value for at least one head of ``kind``."""
        rows = self.heads[self.heads.kind == kind]
        names = [*GRID_STATS, *(f"offset_{d:+d}" for d in OFFSETS)]
        return [name for name in names if rows[name].notna().any()]

    def grid(self, kind: str, stat: str) -> np.ndarray:
        """``[layer, head]`` of one statistic (NaN for heads a layer does not have)."""
        rows = self.heads[self.heads.kind == kind]
        grid = np.full((self.meta.kinds[kind], max(self.meta.heads[kind])), np.nan)
        grid[rows.layer.to_numpy(), rows["head"].to_numpy()] = rows[stat].to_numpy(dtype=np.float64)
        return grid

    def strongest(self, kind: str, stat: str) -> tuple[int, int] | None:
        """(layer, head) with the highest value of ``stat`` (None when no head has one)."""
        values = self.grid(kind, stat)
        if not np.isfinite(values).any():
            return None
        layer, head = np.unravel_index(np.nanargmax(values), values.shape)
        return int(layer), int(head)

    def head(self, kind: str, layer: int, head: int) -> pd.Series:
        found = self.heads[(self.heads.kind == kind) & (self.heads.layer == layer) & (self.heads["head"] == head)]
        if found.empty:
            raise KeyError(f"no {kind} head {layer}.{head} in this census")
        return found.iloc[0]

    def examples_for(self, kind: str, layer: int, head: int, stat: str) -> pd.DataFrame:
        e = self.examples
        return e[(e.kind == kind) & (e.layer == layer) & (e["head"] == head) & (e.stat == stat)].sort_values("rank")

    def points_for(self, kind: str, layer: int, head: int) -> pd.DataFrame:
        p = self.points
        return p[(p.kind == kind) & (p.layer == layer) & (p["head"] == head)]

    def offsets(self, kind: str, layer: int, head: int) -> tuple[list[int], list[float]]:
        row = self.head(kind, layer, head)
        return list(OFFSETS), [float(row[f"offset_{d:+d}"]) for d in OFFSETS]

    def entropy_histogram(self, kind: str, layer: int, head: int) -> list[float]:
        row = self.head(kind, layer, head)
        return [float(row[f"entropy_bin_{b}"]) for b in range(ENTROPY_BINS)]

    # -------------------------------------------------------------------------------------------- files
    def to_frame(self) -> pd.DataFrame:
        parts = [self.heads.assign(record="head"), self.examples.assign(record="example"),
                 self.points.assign(record="point")]
        frame = pd.concat([p for p in parts if len(p)], ignore_index=True)
        for part in parts:  # columns of an empty part (no map, no examples) are still there, empty
            for name in part.columns:
                if name not in frame:
                    frame[name] = None if name in _TEXT_COLUMNS else np.nan
        for name in _TEXT_COLUMNS:
            if name in frame:
                frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
        return frame

    def save(self, path: str | Path) -> Path:
        """Write one Parquet file (atomically: a half-written file never replaces a good one)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = Path(path)
        table = pa.Table.from_pandas(self.to_frame(), preserve_index=False)
        meta = dict(table.schema.metadata or {})
        meta[METADATA_KEY] = json.dumps(asdict(self.meta), ensure_ascii=False).encode()
        table = table.replace_schema_metadata(meta)
        temporary = path.with_name(path.name + ".tmp")
        pq.write_table(table, temporary)
        temporary.replace(path)
        return path

    @classmethod
    def load(cls, source: str | Path | bytes) -> CensusResult:
        """Read a file written by :meth:`save` (a path or its bytes)."""
        import io

        import pyarrow as pa
        import pyarrow.parquet as pq

        # bytes are an upload: it has no name to show, so its errors have codes of their own (census_upload_...)
        upload = isinstance(source, bytes)
        name = None if upload else str(source)
        try:
            table = pq.read_table(io.BytesIO(source) if upload else source)
        except (OSError, pa.ArrowException) as error:
            raise CensusInputError(code="census_upload_not_parquet" if upload else "census_not_parquet", name=name,
                                   error=type(error).__name__) from None
        raw = (table.schema.metadata or {}).get(METADATA_KEY)
        if raw is None:
            raise CensusInputError(code="census_upload_not_a_file" if upload else "census_not_a_file", name=name)
        info = json.loads(raw)
        if info.get("format") != FORMAT:
            raise CensusInputError(code="census_upload_format" if upload else "census_format", name=name,
                                   format=info.get("format"), expected=FORMAT)
        info["notes"] = tuple(info.get("notes", ()))
        frame = table.to_pandas()
        heads = frame[frame.record == "head"].reindex(columns=["kind", "layer", "head", *HEAD_COLUMNS])
        examples = frame[frame.record == "example"].reindex(columns=EXAMPLE_COLUMNS)
        points = frame[frame.record == "point"].reindex(columns=POINT_COLUMNS)
        return cls(_tidy(heads), _tidy(examples), _tidy(points), CensusMeta(**info))


def _tidy(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.reset_index(drop=True).copy()
    for name in _INT_COLUMNS:
        if name in frame:
            frame[name] = frame[name].astype("int64")
    if "target" in frame:
        frame["target"] = frame["target"].astype(object).where(frame["target"].notna(), None)
    return frame


def build_result(accumulator: Accumulator, heads: Sequence[HeadKey], corpus: Corpus, *, model: str,
                 engine: str, seconds: float, options: dict, qk_method: Method, kinds: dict[str, int],
                 heads_per_layer: dict[str, list[int]], notes: Sequence[str] = ()) -> CensusResult:
    """Finish an accumulated census: means per head, examples with their texts, the query/key maps."""
    values = means(accumulator.sums, heads)
    head_frame = pd.DataFrame({"kind": [h[0] for h in heads], "layer": [h[1] for h in heads],
                               "head": [h[2] for h in heads], **{name: values[name] for name in HEAD_COLUMNS}})
    example_rows = []
    top = accumulator.top()
    group = top["head"].astype(np.int64) * len(EXAMPLE_STATS) + top["stat"]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]]) if len(top) else np.zeros(0, int)
    rank = np.arange(len(top)) - np.repeat(starts, np.diff(np.r_[starts, len(top)]))
    for (head, stat, text_id, score), r in zip(top.tolist(), rank.tolist()):
        kind, layer, number = heads[head]
        example_rows.append({"kind": kind, "layer": layer, "head": number, "stat": EXAMPLE_STATS[stat],
                             "rank": r, "text_id": text_id, "score": score, "text": corpus.texts[text_id],
                             "target": corpus.targets[text_id]})
    examples = pd.DataFrame(example_rows, columns=EXAMPLE_COLUMNS)
    points = _points(accumulator.vectors, heads, qk_method)
    skipped = len(accumulator.skipped)
    all_notes = [*corpus.notes, *notes]
    if skipped:
        all_notes.append(f"{skipped} texts could not be read by the model and were skipped "
                         f"(first: {sorted(accumulator.skipped)[:5]}).")
    meta = CensusMeta(model=model, data=corpus.description, n_texts=accumulator.texts, n_tokens=accumulator.tokens,
                      skipped=skipped, engine=engine, seconds=round(seconds, 3), options=options,
                      qk_method=qk_method if len(points) else "", kinds=kinds, heads=heads_per_layer,
                      notes=tuple(all_notes))
    return CensusResult(_tidy(head_frame), _tidy(examples), _tidy(points), meta)


def _points(vectors, heads: Sequence[HeadKey], method: Method) -> pd.DataFrame:
    by_head: dict[int, list] = {}
    for row in sorted(vectors, key=lambda r: (r[0], r[1] != "query", r[2], r[3])):
        by_head.setdefault(row[0], []).append(row)
    frames = []
    for head, rows in sorted(by_head.items()):
        queries = [r for r in rows if r[1] == "query"]
        keys = [r for r in rows if r[1] == "key"]
        if not queries or not keys:
            continue
        q_xy, k_xy = joint_map(np.stack([r[5] for r in queries]), np.stack([r[5] for r in keys]), method)
        kind, layer, number = heads[head]
        xy = np.concatenate([q_xy, k_xy])
        both = queries + keys
        frames.append(pd.DataFrame({"kind": kind, "layer": layer, "head": number, "side": [r[1] for r in both],
                                    "text_id": [r[2] for r in both], "position": [r[3] for r in both],
                                    "label": [r[4] for r in both], "x": xy[:, 0], "y": xy[:, 1]}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=POINT_COLUMNS)
