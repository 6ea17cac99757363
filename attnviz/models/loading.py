"""Load a model and tokenizer, route its attention through the capture point and learn its shape."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import torch
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForCausalLM,
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)
from transformers.models.auto.modeling_auto import (
    MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
    MODEL_FOR_MASKED_LM_MAPPING_NAMES,
)

from attnviz.capture.interface import ATTNVIZ, register
from attnviz.capture.sites import AttentionSites, find_sites
from attnviz.errors import AttnvizError, ModelLoadError
from attnviz.models.registry import ResolvedModel, downloads_allowed, resolve
from attnviz.result import Family, ModelShape

log = logging.getLogger(__name__)
DEFAULT_TOKEN_LIMIT = 512  # beyond this, [layers, heads, n, n] arrays stop fitting comfortably in memory


@dataclass(frozen=True)
class LoadedModel:
    """A model ready for :func:`attnviz.capture`. Shared read-only between callers."""

    name: str
    location: str
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    shape: ModelShape
    sites: AttentionSites
    plain_formula: frozenset[int] = frozenset()  # ids of site modules safe for the fast capture path

    @property
    def family(self) -> Family:
        return self.shape.family


def family_of(config: PretrainedConfig) -> Family:
    if getattr(config, "is_encoder_decoder", False):
        return "encoder-decoder"
    model_type = getattr(config, "model_type", "")
    causal_only = (model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
                   and model_type not in MODEL_FOR_MASKED_LM_MAPPING_NAMES)
    if causal_only or getattr(config, "is_decoder", False):
        return "decoder"
    return "encoder"


_MODEL_CLASSES = {
    "encoder": (AutoModel,),
    "decoder": (AutoModelForCausalLM, AutoModel),
    "encoder-decoder": (AutoModelForSeq2SeqLM, AutoModel),
}


def _token_limit(config: PretrainedConfig, tokenizer: PreTrainedTokenizerBase) -> int:
    text_config = config.get_text_config()
    limits = [DEFAULT_TOKEN_LIMIT]
    for attribute in ("max_position_embeddings", "n_positions", "max_seq_len"):
        value = getattr(text_config, attribute, None)
        if isinstance(value, int) and value > 0:
            limits.append(value)
    if isinstance(tokenizer.model_max_length, int) and 0 < tokenizer.model_max_length < 1_000_000:
        limits.append(tokenizer.model_max_length)
    return min(limits)


def _friendly(error: Exception, resolved: ResolvedModel) -> str:
    text = str(error).splitlines()[0][:300] if str(error) else type(error).__name__
    if not resolved.is_local_dir:
        hint = (
            "it is not in the local Hugging Face cache and downloads are off "
            "(set ATTNVIZ_ALLOW_DOWNLOADS=1 on a machine with internet)"
            if not downloads_allowed()
            else "it could not be fetched from the hub"
        )
        return f"Could not load '{resolved.name}': {hint}. Details: {text}"
    return f"Could not load the model at '{resolved.location}': {text}"


def load_model(name: str) -> LoadedModel:
    """Load a built-in model (``minilm``, ``toy-translator``, ``toy-lm``), a hub id or a local folder.

    Never runs remote code. Raises :class:`ModelLoadError` with a readable message on any failure.
    """
    register()
    resolved = resolve(name)
    local_only = resolved.is_local_dir or not downloads_allowed()
    common = {"trust_remote_code": False, "local_files_only": local_only}
    if local_only:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no network round-trips for what must be local
    try:
        config = AutoConfig.from_pretrained(resolved.location, **common)
        family = family_of(config)
        tokenizer = AutoTokenizer.from_pretrained(resolved.location, **common)
        model = _load_weights(resolved, family, common)
    except AttnvizError:
        raise
    except Exception as error:  # transformers raises OSError, ValueError, KeyError ... for bad models
        raise ModelLoadError(_friendly(error, resolved)) from error
    model.eval()
    sites, probe_shapes = find_sites(model, family)
    text_config = config.get_text_config()
    shape = ModelShape(
        family=family,
        n_layers={kind: len(modules) for kind, modules in sites.items()},
        n_heads=probe_shapes.n_heads,
        n_kv_heads=probe_shapes.n_kv_heads,
        head_dim=probe_shapes.head_dim,
        d_model=int(getattr(text_config, "hidden_size", 0) or getattr(text_config, "d_model", 0)),
        max_tokens=_token_limit(config, tokenizer),
    )
    return LoadedModel(resolved.name, resolved.location, model, tokenizer, shape, sites, probe_shapes.plain_formula)


def _load_weights(resolved: ResolvedModel, family: Family, common: dict) -> PreTrainedModel:
    last_error: Exception | None = None
    for model_class in _MODEL_CLASSES[family]:
        try:
            return model_class.from_pretrained(
                resolved.location, attn_implementation=ATTNVIZ, dtype=torch.float32, **common
            )
        except ValueError as error:  # e.g. no LM head for this config: try the base model
            last_error = error
            log.debug("loading %s with %s failed: %s", resolved.name, model_class.__name__, error)
    assert last_error is not None
    raise last_error
