"""Engines that run :func:`~attnviz.census.forward.census_batch` over a corpus, and the census entry point.

- ``local`` (default): batches in this process, one after the other, a progress bar, each batch's part
  written to ``<out>.parts/`` as soon as it is done. Memory holds one batch at a time; an interrupted
  run started again with the same settings skips the batches already written.
- ``ray``: the same batches as rows of a Ray Dataset, ``map_batches`` with actors that each load the
  model once (one GPU each when CUDA is there), the same per-batch function; the driver writes the
  parts as they arrive, so resuming works the same way.

Parts are combined in batch order in float64, so both engines give the same census.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Literal

from attnviz.census.accumulate import Accumulator
from attnviz.census.batches import Batch, CensusOptions, head_keys, make_batches
from attnviz.census.forward import census_batch
from attnviz.census.gold import with_gold
from attnviz.census.parts import BatchPart
from attnviz.census.qkmap import Method, umap_available
from attnviz.census.report import CensusResult, build_result
from attnviz.census.sources import CensusInputError, Corpus, corpus_from_texts, read_corpus
from attnviz.models.loading import LoadedModel

Engine = Literal["local", "ray"]
ENGINES: tuple[str, ...] = ("local", "ray")
Progress = Callable[[int, int], None]  # (batches done, batches in all)


# ------------------------------------------------------------------------------------------------ parts
FOLD_EVERY = 64  # finished parts folded into the checkpoint at a time: memory and files stay bounded


class PartStore:
    """Finished batches, in a folder (resumable) or in memory, folded into one checkpoint as they pile up.

    The checkpoint is the sum of the batches ``0..k`` (an :class:`Accumulator` written as one part); the
    parts after ``k`` wait as files until a run of :data:`FOLD_EVERY` follows it without a gap (Ray
    finishes batches out of order). So a 100,000-text census holds at most a few dozen parts, and the
    float64 sums are added in batch order, as without folding: the census is the same, bit for bit.
    """

    def __init__(self, folder: Path | None, n_heads: int, top_examples: int, fold_every: int | None = None) -> None:
        self.folder = folder
        self.n_heads, self.top_examples = n_heads, top_examples
        self.fold_every = fold_every or FOLD_EVERY
        self.memory: dict[int, BatchPart] = {}
        self.checkpoint: BatchPart | None = None  # in memory; in a folder it is checkpoint.parquet

    def prepare(self, manifest: dict, restart: bool) -> None:
        if self.folder is None:
            return
        path = self.folder / "manifest.json"
        if self.folder.exists() and restart:
            shutil.rmtree(self.folder)
        if path.exists():
            found = json.loads(path.read_text("utf-8"))
            if found != manifest:
                changed = sorted(k for k in manifest if found.get(k) != manifest[k])
                raise CensusInputError(code="census_parts_differ", folder=str(self.folder),
                                       changed=", ".join(changed))
            if self._checkpoint_file.exists():
                self.checkpoint = BatchPart.from_bytes(self._checkpoint_file.read_bytes())
            return
        if self.folder.exists() and any(self.folder.iterdir()):
            raise CensusInputError(code="census_parts_foreign", folder=str(self.folder))
        self.folder.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(manifest, indent=1, ensure_ascii=False), "utf-8")

    @property
    def _checkpoint_file(self) -> Path:
        return self.folder / "checkpoint.parquet"

    def _file(self, batch_id: int) -> Path:
        return self.folder / f"batch-{batch_id:07d}.parquet"

    def _waiting(self) -> list[int]:
        if self.folder is None:
            return sorted(self.memory)
        return sorted(int(p.stem.split("-")[1]) for p in self.folder.glob("batch-*.parquet"))

    @property
    def folded(self) -> int:
        """Batches ``0 .. folded - 1`` are in the checkpoint."""
        return 0 if self.checkpoint is None else self.checkpoint.batch_id + 1

    def done(self) -> set[int]:
        return set(range(self.folded)) | set(self._waiting())

    def _write(self, path: Path, part: BatchPart) -> None:
        temporary = path.with_name("." + path.name + ".tmp")
        temporary.write_bytes(part.to_bytes())
        temporary.replace(path)  # a file is there whole or not at all

    def put(self, part: BatchPart | bytes) -> None:
        part = BatchPart.from_bytes(part) if isinstance(part, bytes) else part
        if self.folder is None:
            self.memory[part.batch_id] = part
        else:
            self._write(self._file(part.batch_id), part)
        self.fold()

    def _part(self, batch_id: int) -> BatchPart:
        return self.memory[batch_id] if self.folder is None else BatchPart.from_bytes(self._file(batch_id).read_bytes())

    def fold(self, at_least: int | None = None) -> None:
        """Fold the run of parts right after the checkpoint into it, once it is ``at_least`` long."""
        waiting, start = set(self._waiting()), self.folded
        run = []
        while start + len(run) in waiting:
            run.append(start + len(run))
        if not run or len(run) < (self.fold_every if at_least is None else at_least):
            return
        accumulator = Accumulator(self.n_heads, self.top_examples)
        for part in ([self.checkpoint] if self.checkpoint is not None else []) + [self._part(i) for i in run]:
            accumulator.add(part)
        self.checkpoint = accumulator.as_part()
        if self.folder is not None:
            self._write(self._checkpoint_file, self.checkpoint)  # first the checkpoint, then its parts go
        for batch_id in run:
            if self.folder is None:
                del self.memory[batch_id]
            else:
                self._file(batch_id).unlink()

    def parts(self) -> Iterator[BatchPart]:
        """The checkpoint, then the other parts in batch order."""
        if self.checkpoint is not None:
            yield self.checkpoint
        for batch_id in self._waiting():
            yield self._part(batch_id)

    def remove(self) -> None:
        if self.folder is not None and self.folder.exists():
            shutil.rmtree(self.folder)


def parts_folder(out: Path) -> Path:
    return out.with_name(out.name + ".parts")


# ------------------------------------------------------------------------------------------------ engines
def _progress_reporter(progress: bool | Progress, total: int, already: int, n_texts: int,
                       batch_size: int) -> tuple[Progress, Callable[[], None]]:
    """A callback ``(batches done, batches)``; ``progress=True`` draws a bar in sentences, with sentences/s
    and the time left."""
    if callable(progress):
        return progress, lambda: None
    if not progress:
        return (lambda done, total: None), lambda: None
    texts = lambda batches: min(n_texts, batches * batch_size)  # noqa: E731
    try:
        from tqdm.auto import tqdm
    except ImportError:
        started = time.perf_counter()

        def report(done: int, total: int) -> None:
            if done == total or done % max(1, total // 20) == 0:
                rate = (texts(done) - texts(already)) / max(time.perf_counter() - started, 1e-9)
                left = (n_texts - texts(done)) / rate if rate else 0.0
                print(f"census: {texts(done)}/{n_texts} sentences, {rate:.0f} sentences/s, {left:.0f} s left",
                      file=sys.stderr, flush=True)

        return report, lambda: None
    bar = tqdm(total=n_texts, initial=texts(already), unit=" sentences", unit_scale=False, desc="census",
               file=sys.stderr, smoothing=0.1)
    return (lambda done, total: bar.update(texts(done) - bar.n)), bar.close


def run_local(loaded: LoadedModel, batches: Sequence[Batch], options: CensusOptions,
              store: PartStore, report: Progress, total: int) -> None:
    done = total - len(batches)
    for batch in batches:
        store.put(census_batch(loaded, batch, options))
        done += 1
        report(done, total)


class CensusActor:
    """A Ray Data actor: loads the model once, then runs :func:`census_batch` on each row (one batch)."""

    def __init__(self, model: str, options: dict, device: str = "cpu") -> None:
        import transformers

        from attnviz.models.loading import load_model

        transformers.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()
        self.loaded = load_model(model, device=device)
        self.options = CensusOptions(**{k: v for k, v in options.items() if k != "stats_version"})

    def __call__(self, rows: dict) -> dict:
        import numpy as np

        ids, parts = [], []
        for batch_id, batch in zip(rows["batch_id"], rows["batch"]):
            part = census_batch(self.loaded, Batch.from_item({"batch_id": batch_id, "batch": batch}), self.options)
            ids.append(int(batch_id))
            parts.append(part.to_bytes())
        return {"batch_id": np.array(ids, dtype=np.int64), "part": np.array(parts, dtype=object)}


def run_ray(model: str, batches: Sequence[Batch], options: CensusOptions, store: PartStore, report: Progress,
            total: int, *, workers: int | None = None, address: str | None = None,
            num_cpus: int | None = None) -> None:
    """The same batches through ``ray.data`` with model-holding actors; parts written as they arrive."""
    try:
        import ray
    except ImportError:
        raise CensusInputError(code="census_needs_ray") from None
    import logging

    import torch

    logging.getLogger("ray.data").setLevel(logging.WARNING)
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    try:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
        cpus = int(ray.available_resources().get("CPU", 1)) or 1
        count = workers or (gpus if gpus else cpus)
        count = max(1, min(count, len(batches)))
        dataset = ray.data.from_items([b.to_item() for b in batches], override_num_blocks=len(batches))
        results = dataset.map_batches(
            CensusActor, fn_constructor_kwargs={"model": model, "options": options.to_dict(),
                                                "device": "cuda" if gpus else "cpu"},
            batch_size=1, compute=ray.data.ActorPoolStrategy(size=count), num_gpus=1 if gpus else 0,
            num_cpus=0 if gpus else max(1, cpus // count), batch_format="numpy",
        )
        done = total - len(batches)
        for row in results.iter_rows():
            store.put(bytes(row["part"]))
            done += 1
            report(done, total)
    finally:
        if started:
            ray.shutdown()


# ------------------------------------------------------------------------------------------------ entry point
def _corpus(data, column: str, target_column: str | None, alignment_column: str | None, split: str,
            limit: int | None) -> Corpus:
    if isinstance(data, Corpus):
        return data
    if isinstance(data, str | Path):
        return read_corpus(data, column=column, target_column=target_column, alignment_column=alignment_column,
                           split=split, limit=limit)
    if isinstance(data, Iterable):
        texts = list(data)[:limit] if limit else list(data)
        return corpus_from_texts(texts)
    raise CensusInputError(code="census_bad_data", given=type(data).__name__)


def _model_name(model: str | LoadedModel) -> str:
    if isinstance(model, str):
        return model
    from attnviz.models.registry import BUILTIN_MODELS

    return model.name if model.name in BUILTIN_MODELS else model.location


def census(
    model: str | LoadedModel,
    data: str | Path | Corpus | Sequence[str],
    out: str | Path | None = None,
    *,
    engine: Engine = "local",
    options: CensusOptions | None = None,
    column: str = "text",
    target_column: str | None = None,
    alignment_column: str | None = None,
    split: str = "train",
    limit: int | None = None,
    qk_method: Method = "pca",
    progress: bool | Progress = False,
    restart: bool = False,
    keep_parts: bool = False,
    workers: int | None = None,
    ray_address: str | None = None,
    ray_cpus: int | None = None,
) -> CensusResult:
    """Statistics of every head over a corpus.

    ``data``: a text file (one text per line), a CSV/TSV/Parquet/JSONL file (``column``), ``hf:NAME``
    (a Hugging Face dataset, ``split``), a ``save_to_disk`` folder, a :class:`Corpus` or a list of texts.
    With ``out`` the census is saved there as one Parquet file, and finished batches are kept in
    ``<out>.parts/`` until it is: run the same call again after an interruption and it resumes.
    ``engine="ray"`` runs the batches through Ray Data (a running cluster, or a local one started here).
    For the toy translator, grammar sentences get their gold target and alignment.
    """
    options = options or CensusOptions()
    if engine not in ENGINES:
        raise CensusInputError(code="census_engine", engine=engine)
    if qk_method not in ("pca", "umap"):
        raise CensusInputError(code="census_qk_method", method=qk_method)
    if qk_method == "umap" and not umap_available():
        raise CensusInputError(code="census_needs_umap")
    if options.batch_size < 1 or options.max_tokens < 2:
        raise CensusInputError(code="census_bad_options", batch_size=options.batch_size,
                               max_tokens=options.max_tokens)
    started = time.perf_counter()
    name = _model_name(model)
    corpus = with_gold(_corpus(data, column, target_column, alignment_column, split, limit), name)
    out_path = Path(out).expanduser() if out is not None else None
    if out_path is not None and out_path.suffix.lower() not in (".parquet", ".pq"):
        raise CensusInputError(code="census_out_suffix", path=str(out_path))
    if out_path is not None and not out_path.parent.is_dir():
        raise CensusInputError(code="census_no_out_folder", folder=str(out_path.parent))
    from attnviz.models.loading import load_model

    loaded = model if isinstance(model, LoadedModel) else load_model(model)
    batches = make_batches(corpus.texts, corpus.targets, corpus.alignments, options)
    heads = head_keys(loaded.shape)
    store = PartStore(parts_folder(out_path) if out_path is not None else None, len(heads), options.top_examples)
    store.prepare({"model": name, "corpus": corpus.fingerprint(), "texts": len(corpus),
                   "options": options.to_dict(), "batches": len(batches)}, restart)
    finished = store.done()
    todo = [b for b in batches if b.batch_id not in finished]
    report, close = _progress_reporter(progress, len(batches), len(batches) - len(todo), len(corpus),
                                       options.batch_size)
    try:
        if todo and engine == "local":
            run_local(loaded, todo, options, store, report, len(batches))
        elif todo:
            run_ray(name, todo, options, store, report, len(batches), workers=workers, address=ray_address,
                    num_cpus=ray_cpus)
    finally:
        close()
    accumulator = Accumulator(len(heads), options.top_examples)
    for part in store.parts():
        accumulator.add(part)
    notes = [f"Resumed: {len(finished)} of {len(batches)} batches were already done."] if finished and todo else []
    if not loaded.capture_path == "interface" and options.qk_texts:
        notes.append("This model's attention runs outside the attention interface: no query/key map.")
    shape = loaded.shape
    result = build_result(
        accumulator, heads, corpus, model=name, engine=engine, seconds=time.perf_counter() - started,
        options=options.to_dict(), qk_method=qk_method, kinds={k: shape.n_layers[k] for k in shape.kinds},
        heads_per_layer={k: [shape.heads_of(k, i) for i in range(shape.n_layers[k])] for k in shape.kinds},
        notes=notes)
    if out_path is not None:
        result.save(out_path)
        if not keep_parts:
            store.remove()
    return result
