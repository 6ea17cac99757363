"""Where a census reads its texts: a text file (one text per line), a CSV/TSV/Parquet column, or a
Hugging Face dataset (a hub name, a folder of data files, or a folder written by ``save_to_disk``).

Every reader returns a :class:`Corpus`; anything wrong with the input is a :class:`CensusInputError`
whose sentence (its code's entry in ui/i18n/census.toml) says what to change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from attnviz.errors import AttnvizError

Alignment = tuple[tuple[int, ...], ...]  # alignment[i]: source word indices that target word i translates
TEXT_SUFFIXES = {".txt", ".text", ".md", ""}
TABLE_SUFFIXES = {".csv", ".tsv", ".parquet", ".pq", ".jsonl", ".json"}


class CensusInputError(AttnvizError):
    """The corpus, its columns or the census settings cannot be used."""

    default_code = "census_input"


@dataclass(frozen=True)
class Corpus:
    """Texts in a fixed order; ``targets``/``alignments`` hold None where a text has none."""

    texts: tuple[str, ...]
    targets: tuple[str | None, ...] = ()
    alignments: tuple[Alignment | None, ...] = ()
    description: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        n = len(self.texts)
        if not self.targets:
            object.__setattr__(self, "targets", (None,) * n)
        if not self.alignments:
            object.__setattr__(self, "alignments", (None,) * n)
        if not len(self.targets) == len(self.alignments) == n:
            raise ValueError("texts, targets and alignments must have one entry per text")

    def __len__(self) -> int:
        return len(self.texts)

    def fingerprint(self) -> str:
        """A hash of every text, target and alignment: parts of an interrupted run belong to this corpus only."""
        digest = hashlib.sha256()
        for text, target, alignment in zip(self.texts, self.targets, self.alignments):
            digest.update(json.dumps([text, target, alignment], ensure_ascii=False).encode())
        return digest.hexdigest()[:24]


def corpus_from_texts(texts: Sequence[str], targets: Sequence[str | None] | None = None,
                      alignments: Sequence[Alignment | None] | None = None, description: str = "texts") -> Corpus:
    """A corpus from lists held in memory; blank texts are an error (they have nothing to attend to)."""
    if isinstance(texts, str):
        raise CensusInputError(code="census_not_a_list")
    texts = [str(t) for t in texts]
    blank = [i for i, t in enumerate(texts) if not t.strip()]
    if blank:
        raise CensusInputError(code="census_blank_text", index=blank[0])
    if not texts:
        raise CensusInputError(code="census_empty")
    return Corpus(tuple(texts), tuple(targets) if targets is not None else (),
                  tuple(_alignment(a, i) for i, a in enumerate(alignments)) if alignments is not None else (),
                  description)


def _alignment(value, index: int) -> Alignment | None:
    """``[[0], [1, 2]]`` (or its JSON text) -> ((0,), (1, 2)); None/empty -> None."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise CensusInputError(code="census_bad_alignment", index=index) from None
    try:
        return tuple(tuple(int(j) for j in words) for words in value)
    except (TypeError, ValueError):
        raise CensusInputError(code="census_bad_alignment", index=index) from None


def read_corpus(data: str | Path, *, column: str = "text", target_column: str | None = None,
                alignment_column: str | None = None, split: str = "train", limit: int | None = None) -> Corpus:
    """Read texts from ``data``.

    - ``*.txt`` (or no suffix): one text per line; blank lines are skipped;
    - ``*.csv``, ``*.tsv``, ``*.parquet``, ``*.jsonl``: the column ``column`` (and optional target and
      alignment columns; an alignment is JSON such as ``[[0], [1, 2]]``: target word -> source words);
    - ``hf:NAME`` or ``hf:NAME:CONFIG``: a Hugging Face dataset through ``datasets.load_dataset`` (its
      ``split``); NAME may be a local folder of data files;
    - a folder written by ``Dataset.save_to_disk`` (or ``DatasetDict``: ``split`` picks one).

    ``limit`` keeps the first texts only.
    """
    spec = str(data)
    if spec.startswith("hf:"):
        rows, description = _hub_dataset(spec[3:], split), spec
    else:
        path = Path(spec).expanduser()
        if not path.exists():
            raise CensusInputError(code="census_no_file", path=str(path))
        if path.is_dir():
            rows, description = _dataset_folder(path, split), str(path)
        elif path.suffix.lower() in TABLE_SUFFIXES:
            rows, description = _table(path), str(path)
        elif path.suffix.lower() in TEXT_SUFFIXES or _looks_like_text(path):
            return _limited(_text_file(path), limit)
        else:
            raise CensusInputError(code="census_unknown_format", path=str(path))
    return _limited(_from_columns(rows, column, target_column, alignment_column, description), limit)


def _limited(corpus: Corpus, limit: int | None) -> Corpus:
    if limit is None or limit >= len(corpus):
        return corpus
    if limit < 1:
        raise CensusInputError(code="census_bad_limit", limit=limit)
    return Corpus(corpus.texts[:limit], corpus.targets[:limit], corpus.alignments[:limit],
                  f"{corpus.description} (first {limit})", corpus.notes)


def _looks_like_text(path: Path) -> bool:
    try:
        path.read_bytes()[:4096].decode("utf-8")
        return True
    except (UnicodeDecodeError, OSError):
        return False


def _text_file(path: Path) -> Corpus:
    try:
        lines = path.read_text("utf-8").splitlines()
    except UnicodeDecodeError:
        raise CensusInputError(code="census_not_utf8", path=str(path)) from None
    texts = tuple(line.strip() for line in lines if line.strip())
    if not texts:
        raise CensusInputError(code="census_blank_file", path=str(path))
    skipped = len(lines) - len(texts)
    notes = (f"{skipped} blank lines skipped.",) if skipped else ()
    return Corpus(texts, description=str(path), notes=notes)


def _table(path: Path):
    import pandas as pd

    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix in (".jsonl", ".json"):
            return pd.read_json(path, lines=suffix == ".jsonl")
        return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", dtype=str, keep_default_na=False)
    except (ValueError, OSError, ImportError) as error:
        raise CensusInputError(code="census_unreadable", path=str(path), format=suffix[1:],
                               error=f"{type(error).__name__}: {str(error)[:120]}") from None


def _datasets():
    try:
        import datasets
    except ImportError:
        raise CensusInputError(code="census_needs_datasets") from None
    datasets.disable_progress_bars()
    return datasets


def _pick_split(dataset, split: str, name: str):
    if hasattr(dataset, "column_names") and not isinstance(dataset.column_names, dict):
        return dataset  # already one split
    if split not in dataset:
        raise CensusInputError(code="census_no_split", name=name, split=split, splits=", ".join(dataset))
    return dataset[split]


def _dataset_folder(path: Path, split: str):
    """A ``save_to_disk`` folder, else a folder of data files read by ``load_dataset``."""
    datasets = _datasets()
    if (path / "dataset_info.json").is_file() or (path / "dataset_dict.json").is_file() \
            or (path / "state.json").is_file():
        return _pick_split(datasets.load_from_disk(str(path)), split, path.name)
    return _hub_dataset(str(path), split)


def _hub_dataset(spec: str, split: str):
    datasets = _datasets()
    name, _, config = spec.partition(":") if not Path(spec).exists() else (spec, "", "")
    if not name:
        raise CensusInputError(code="census_no_dataset")
    try:
        loaded = datasets.load_dataset(name, config or None, split=split)
    except Exception as error:  # datasets raises its own error classes (DatasetNotFoundError, ...) besides OSError
        raise CensusInputError(code="census_dataset_failed", name=name,
                               error=f"{type(error).__name__}: {str(error)[:160]}") from None
    return loaded


def _columns_of(rows) -> list[str]:
    return [str(c) for c in rows.columns] if hasattr(rows, "columns") else list(rows.column_names)


def _values(rows, column: str) -> list:
    return rows[column].tolist() if hasattr(rows, "columns") else list(rows[column])


def _from_columns(rows, column: str, target_column: str | None, alignment_column: str | None,
                  description: str) -> Corpus:
    available = _columns_of(rows)
    for wanted, flag in ((column, "--column"), (target_column, "--target-column"),
                         (alignment_column, "--alignment-column")):
        if wanted is not None and wanted not in available:
            raise CensusInputError(code="census_no_column", data=description, column=wanted,
                                   columns=", ".join(available), flag=flag)
    raw = _values(rows, column)
    keep = [i for i, value in enumerate(raw) if isinstance(value, str) and value.strip()]
    if not keep:
        raise CensusInputError(code="census_empty_column", data=description, column=column)
    texts = tuple(raw[i].strip() for i in keep)
    targets = alignments = ()
    if target_column:
        values = _values(rows, target_column)
        targets = tuple(values[i] if isinstance(values[i], str) and values[i].strip() else None for i in keep)
    if alignment_column:
        values = _values(rows, alignment_column)
        alignments = tuple(_alignment(values[i], n) for n, i in enumerate(keep))
    skipped = len(raw) - len(keep)
    notes = (f"{skipped} rows without text skipped.",) if skipped else ()
    return Corpus(texts, targets, alignments, description, notes)
