"""Operator settings: what visitors of a hosted attnviz may do. One place, a file and matching variables.

The file is ``attnviz.toml`` in the working folder, or the path in ``ATTNVIZ_CONFIG``; each key can
be overridden by an environment variable ``ATTNVIZ_<KEY>`` (upper case)::

    # attnviz.toml
    models = ["gpt2", "Helsinki-NLP/opus-mt-en-zh"]   # hub ids visitors may pick, besides the built-ins
    allow_hub_ids = false        # may visitors type any hub id?
    allow_local_paths = false    # may visitors name folders on the server?
    allow_downloads = false      # may the server download models from the hub?
    max_tokens = 512             # longest input a visitor's text is cut to
    cache_bytes = 1073741824     # memory for cached captures and figures, in bytes
    torch_threads = 0            # threads per forward pass: 0 follows the load (all cores alone, 1 each side by side)

Defaults depend on who can reach the server: listening only on localhost (a single user on their own
machine) everything is on; listening on other addresses (a class, a public demo) visitors get the
built-ins plus the allow-list, no local folders, no downloads unless enabled.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import tomllib

from attnviz.errors import SettingsError
from attnviz.result import Family

LOCAL_ADDRESSES = {"localhost", "127.0.0.1", "::1", "[::1]"}
# The small hub models offered on one's own machine, with their family so each page lists only those it can show.
CURATED_FAMILIES: dict[str, Family] = {
    "gpt2": "decoder", "distilgpt2": "decoder", "HuggingFaceTB/SmolLM2-135M": "decoder",
    "Qwen/Qwen2.5-0.5B": "decoder", "Helsinki-NLP/opus-mt-en-zh": "encoder-decoder",
    "t5-small": "encoder-decoder", "bert-base-uncased": "encoder",
}
CURATED_HUB_MODELS = tuple(CURATED_FAMILIES)


@dataclass(frozen=True)
class Settings:
    models: tuple[str, ...] = ()  # hub ids visitors may pick besides the built-ins
    allow_hub_ids: bool = False
    allow_local_paths: bool = False
    allow_downloads: bool = False
    max_tokens: int = 512
    cache_bytes: int = 1 << 30
    # 0: threads follow the load (attnviz/threads.py): a lone visitor's pass gets every core; passes side by side
    # get one each, since two threads per pass on two shared cores spin against each other (a MiniLM capture cost
    # 132 ms of CPU instead of 9 ms). N > 0 pins every pass to N threads.
    torch_threads: int = 0
    source: tuple[str, ...] = field(default=(), compare=False)  # where the values came from, for the operator


def defaults(local_only: bool) -> Settings:
    if local_only:
        return Settings(models=CURATED_HUB_MODELS, allow_hub_ids=True, allow_local_paths=True, allow_downloads=True)
    return Settings()


def listens_only_locally(address: str | None) -> bool:
    """Streamlit's ``server.address``: unset means every interface."""
    return bool(address) and address.strip().lower() in LOCAL_ADDRESSES


def _parse(key: str, value, kind: type):
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(f"{key} must be true or false, not {value!r}")
    if kind is int:
        number = int(value)
        if number < 0 or (number == 0 and key != "torch_threads"):  # torch_threads 0: follow the load
            raise ValueError(f"{key} must be a positive number, not {value!r}")
        return number
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return tuple(str(v) for v in value)


_KINDS = {"models": tuple, "allow_hub_ids": bool, "allow_local_paths": bool, "allow_downloads": bool,
          "max_tokens": int, "cache_bytes": int,
          "torch_threads": int}


def load_settings(local_only: bool, config: str | os.PathLike | None = None,
                  environ: dict[str, str] | None = None) -> Settings:
    """Defaults for who can reach the server, then the file, then ``ATTNVIZ_*`` variables."""
    environ = os.environ if environ is None else environ
    settings = defaults(local_only)
    sources = ["defaults (localhost)" if local_only else "defaults (shared server)"]
    path = Path(config or environ.get("ATTNVIZ_CONFIG") or "attnviz.toml")
    values: dict = {}
    if path.is_file():
        try:
            values.update(tomllib.loads(path.read_text("utf-8")))
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise SettingsError(code="settings_unreadable", path=str(path), error=str(error)) from error
        sources.append(str(path))
    for key in _KINDS:
        variable = f"ATTNVIZ_{key.upper()}"
        if variable in environ:
            values[key] = environ[variable]
            sources.append(variable)
    unknown = set(values) - set(_KINDS)
    if unknown:
        raise SettingsError(code="settings_unknown", names=", ".join(sorted(unknown)))
    try:
        parsed = {key: _parse(key, value, _KINDS[key]) for key, value in values.items()}
    except (TypeError, ValueError) as error:
        raise SettingsError(code="settings_bad_value", error=str(error)) from error
    return replace(settings, **parsed, source=tuple(sources))
