"""Hub models: what a download would cost, fetching it with progress, and the local cache.

A hub id is turned into a local snapshot folder before anything loads, so the loader only ever reads
files: a model already in the cache costs no network round trip, and a missing one downloads once
(as transformers would), with progress reported to the caller. Only the files a model needs are
fetched: its configuration and tokenizer, and safetensors weights (PyTorch .bin only when a repository
has no safetensors).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import snapshot_download
from huggingface_hub.errors import (
    GatedRepoError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from attnviz.errors import ModelLoadError

CONFIG_AND_TOKENIZER = ["*.json", "*.model", "*.txt", "*.tiktoken", "*.spm"]
SAFETENSORS = ["*.safetensors"]
PYTORCH_BINARIES = ["*.bin"]
Progress = Callable[[int, int], None]  # (bytes done, bytes in all)


def _where() -> dict:
    """Endpoint and cache folder read at call time (huggingface_hub reads its environment once, at import)."""
    options = {}
    if os.environ.get("HF_ENDPOINT"):
        options["endpoint"] = os.environ["HF_ENDPOINT"].rstrip("/")
    cache = os.environ.get("HF_HUB_CACHE") or (os.environ.get("HF_HOME") and os.path.join(os.environ["HF_HOME"], "hub"))
    if cache:
        options["cache_dir"] = cache
    return options


def offline() -> bool:
    """The user (or the operator) said the machine has no hub: ``HF_HUB_OFFLINE=1``."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class DownloadPlan:
    repo_id: str
    files: tuple[str, ...]
    total_bytes: int
    missing_bytes: int  # what is not in the cache yet


def _patterns(filenames: list[str]) -> list[str]:
    has_safetensors = any(name.endswith(".safetensors") for name in filenames)
    return CONFIG_AND_TOKENIZER + (SAFETENSORS if has_safetensors else PYTORCH_BINARIES)


def _explain(error: Exception, repo_id: str) -> ModelLoadError:
    while error.__cause__ is not None and not isinstance(error, (GatedRepoError, RepositoryNotFoundError)):
        error = error.__cause__  # dry runs wrap what the hub said
    if isinstance(error, GatedRepoError):
        return ModelLoadError(code="hub_gated", model=repo_id)
    if isinstance(error, (RepositoryNotFoundError, RevisionNotFoundError)):
        return ModelLoadError(code="hub_not_found", model=repo_id)
    if isinstance(error, LocalEntryNotFoundError) or "offline" in str(error).lower():
        return ModelLoadError(code="hub_offline", model=repo_id)
    return ModelLoadError(code="hub_failed", model=repo_id, error=type(error).__name__)


def cached_snapshot(repo_id: str) -> Path | None:
    """The local snapshot folder of ``repo_id`` if everything it needs is cached, else None (no network)."""
    try:
        folder = Path(snapshot_download(repo_id, local_files_only=True, allow_patterns=CONFIG_AND_TOKENIZER,
                                        **_where()))
    except Exception:  # not cached (LocalEntryNotFoundError), or a broken cache entry
        return None
    names = [p.name for p in folder.iterdir()]
    weights = [n for n in names if n.endswith((".safetensors", ".bin"))]
    return folder if (folder / "config.json").is_file() and weights else None


def plan_download(repo_id: str) -> DownloadPlan:
    """Which files a download of ``repo_id`` would fetch and how many bytes (asks the hub, downloads nothing)."""
    try:
        listing = snapshot_download(repo_id, dry_run=True, **_where())
        names = [info.filename for info in listing]
        chosen = snapshot_download(repo_id, dry_run=True, allow_patterns=_patterns(names), **_where())
    except Exception as error:
        raise _explain(error, repo_id) from error
    return DownloadPlan(repo_id, tuple(info.filename for info in chosen), sum(info.file_size for info in chosen),
                        sum(info.file_size for info in chosen if info.will_download))


def _progress_class(progress: Progress, total: int):
    """A tqdm stand-in that adds every file's bytes into one (done, total) report."""
    from tqdm.auto import tqdm

    state = {"done": 0}

    class Reporting(tqdm):
        def __init__(self, *args, **kwargs):
            self.counts_bytes = kwargs.get("unit") == "B"  # the files bar counts files, not bytes
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)

        def update(self, n=1):
            if self.counts_bytes:
                state["done"] += int(n or 0)
                progress(min(state["done"], total), total)
            return super().update(n)

    return Reporting


def fetch(repo_id: str, *, allow_download: bool = True, progress: Progress | None = None) -> Path:
    """A local folder holding ``repo_id``: from the cache when it is there, else downloaded (if allowed).

    Without ``progress`` the download shows huggingface_hub's own progress bars, as transformers does.
    """
    cached = cached_snapshot(repo_id)
    if cached is not None:
        return cached
    if not allow_download or offline():
        raise _explain(LocalEntryNotFoundError("offline"), repo_id)
    plan = plan_download(repo_id)
    options = {}
    if progress is not None:
        progress(0, plan.total_bytes)
        options["tqdm_class"] = _progress_class(progress, plan.total_bytes)
    try:
        folder = Path(snapshot_download(repo_id, allow_patterns=list(plan.files) or None, **options, **_where()))
    except Exception as error:
        raise _explain(error, repo_id) from error
    if progress is not None:
        progress(plan.total_bytes, plan.total_bytes)
    return folder
