"""Load a model and tokenizer, route its attention through the capture point and learn its shape."""

from __future__ import annotations

import dataclasses
import logging
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

from attnviz.errors import AttnvizError, ModelLoadError, NoAttentionError
from attnviz.hub import Progress, fetch
from attnviz.models.registry import ResolvedModel, resolve
from attnviz.result import AttentionKind, CapturePath, Family, ModelShape
from attnviz.settings import Settings
from attnviz.tracing.interface import ATTNVIZ, register
from attnviz.tracing.points import install as install_points
from attnviz.tracing.probe import AttentionSite, ProbeReport, probe_interface, probe_returned

log = logging.getLogger(__name__)
DEFAULT_TOKEN_LIMIT = 512  # beyond this, [layers, heads, n, n] arrays stop fitting comfortably in memory


@dataclass(frozen=True)
class LoadedModel:
    """A model ready for :func:`attnviz.capture`. Shared read-only between callers.

    ``sites[kind][layer]`` is that layer's :class:`AttentionSite` (its module, heads, W_o ...).
    ``capture_path`` says how weights are read: through attnviz's attention function
    ("interface"), or from the model's own ``output_attentions=True`` in eager mode for models
    whose attention does not go through transformers' attention interface.
    """

    name: str
    location: str
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    shape: ModelShape
    sites: dict[AttentionKind, list[AttentionSite]]

    @property
    def family(self) -> Family:
        return self.shape.family

    @property
    def capture_path(self) -> CapturePath:
        return self.shape.capture_path

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.model.parameters()).dtype


def family_of(config: PretrainedConfig) -> Family:
    if getattr(config, "is_encoder_decoder", False):
        return "encoder-decoder"
    model_type = getattr(config, "model_type", "")
    causal_only = (model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
                   and model_type not in MODEL_FOR_MASKED_LM_MAPPING_NAMES)
    if causal_only or getattr(config, "is_decoder", False):
        return "decoder"
    return "encoder"


KINDS_OF: dict[Family, tuple[AttentionKind, ...]] = {
    "encoder": ("encoder",), "decoder": ("decoder",), "encoder-decoder": ("encoder", "decoder", "cross")}
_MODEL_CLASSES = {
    "encoder": (AutoModel,),
    "decoder": (AutoModelForCausalLM, AutoModel),
    "encoder-decoder": (AutoModelForSeq2SeqLM, AutoModel),
}


def _position_limit(config: PretrainedConfig, tokenizer: PreTrainedTokenizerBase) -> int:
    """The most tokens the model itself can read (its position table or the tokenizer's limit)."""
    text_config = config.get_text_config()
    limits = [1_000_000]
    for attribute in ("max_position_embeddings", "n_positions", "max_seq_len"):
        value = getattr(text_config, attribute, None)
        if isinstance(value, int) and value > 0:
            limits.append(value)
    if isinstance(tokenizer.model_max_length, int) and 0 < tokenizer.model_max_length < 1_000_000:
        limits.append(tokenizer.model_max_length)
    return min(limits)


def _load_failed(error: Exception, resolved: ResolvedModel) -> ModelLoadError:
    """What transformers said, first line; a folder of one's own is named by its path."""
    said = str(error).splitlines()[0][:300] if str(error) else type(error).__name__
    own_folder = resolved.is_local_dir and not resolved.builtin
    return ModelLoadError(code="load_failed", model=resolved.location if own_folder else resolved.name, error=said)


def pick_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"``: CUDA when present, else Apple's MPS, else the CPU."""
    if str(device) != "auto":
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


_DTYPES = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
           "float16": torch.float16, "fp16": torch.float16}


def pick_dtype(dtype: str | torch.dtype | None) -> torch.dtype:
    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    if str(dtype) not in _DTYPES:
        raise ModelLoadError(code="bad_dtype", dtype=str(dtype))
    return _DTYPES[str(dtype)]


def load_model(name: str, *, device: str | torch.device = "cpu", dtype: str | torch.dtype | None = None,
               allow_download: bool = True, progress: Progress | None = None,
               visitor: Settings | None = None) -> LoadedModel:
    """Load a built-in model (``minilm``, ``toy-translator``, ``toy-lm``), a hub id or a local folder.

    A hub id comes from the local Hugging Face cache when it is there, else it downloads (as
    transformers does, with progress bars, or reporting ``progress(bytes done, bytes in all)``),
    unless ``allow_download`` is False or the machine is offline (``HF_HUB_OFFLINE=1``): then one
    clear :class:`ModelLoadError`. ``device``: "cpu" (default), "cuda", "mps" or "auto" (the best
    one present); ``dtype``: float32 (default), bfloat16 or float16. Captured weights always come
    back as float32 numpy. Never runs remote code. ``visitor``: the operator's settings when a web
    visitor names the model (what may be named, whether downloads are on).
    """
    register()
    resolved = resolve(name, visitor)
    if visitor is not None:
        allow_download = allow_download and visitor.allow_downloads
    if not resolved.is_local_dir:  # from here on the loader reads a local snapshot folder only
        folder = fetch(resolved.name, allow_download=allow_download, progress=progress)
        resolved = dataclasses.replace(resolved, location=str(folder))
    common = {"trust_remote_code": False, "local_files_only": True}
    torch_dtype, torch_device = pick_dtype(dtype), pick_device(device)
    try:
        config = AutoConfig.from_pretrained(resolved.location, **common)
        family = family_of(config)
        tokenizer = AutoTokenizer.from_pretrained(resolved.location, **common)
        model, through_interface = _load_weights(resolved, family, {**common, "dtype": torch_dtype})
        model.to(torch_device)
    except AttnvizError:
        raise
    except Exception as error:  # transformers raises OSError, ValueError, KeyError ... for bad models
        raise _load_failed(error, resolved) from error
    model.eval()
    try:
        report = probe_interface(model, family) if through_interface else None
    except NoAttentionError:  # code that expects eager's masks (MPT) fails under the interface's
        report = None
    if report is None or set(report.sites) != set(KINDS_OF[family]) or report.several_maps_per_layer:
        # Attention (partly) outside the interface: the model's own eager code may return the weights.
        eager = _reload_eager(resolved, family, {**common, "dtype": torch_dtype}, torch_device) \
            if through_interface else model
        try:
            returned = probe_returned(eager, family)
        except NoAttentionError:
            if report is None:
                raise
        else:
            if report is None or set(returned.sites) > set(report.sites) or report.several_maps_per_layer:
                model, report = eager, returned
    install_points(model, report.sites, family)
    return LoadedModel(resolved.name, resolved.location, model, tokenizer,
                       _shape(config, tokenizer, family, report), report.sites)


def wrap_model(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, name: str = "model") -> LoadedModel:
    """A model object you already hold (in a notebook, say), made ready for :func:`attnviz.capture`.

    Its attention is switched to attnviz's function where the model allows it; otherwise it is
    captured through its own ``output_attentions``, as :func:`load_model` does.
    """
    register()
    family = family_of(model.config)
    model.eval()
    report = None
    try:
        model.set_attn_implementation(ATTNVIZ)
        if model.config._attn_implementation == ATTNVIZ:
            report = probe_interface(model, family)
    except Exception as error:  # the model knows a fixed set of implementations
        log.debug("%s keeps its attention implementation: %s", type(model).__name__, error)
    if report is None:
        try:
            model.set_attn_implementation("eager")
        except Exception as error:
            log.debug("%s keeps its attention implementation: %s", type(model).__name__, error)
        report = probe_returned(model, family)
    install_points(model, report.sites, family)
    return LoadedModel(name, name, model, tokenizer, _shape(model.config, tokenizer, family, report), report.sites)


def _shape(config: PretrainedConfig, tokenizer: PreTrainedTokenizerBase, family: Family,
           report: ProbeReport) -> ModelShape:
    text_config = config.get_text_config()
    return ModelShape(
        family=family,
        n_layers={kind: len(sites) for kind, sites in report.sites.items()},
        layout=report.layouts,
        d_model=int(getattr(text_config, "hidden_size", 0) or getattr(text_config, "d_model", 0)),
        max_tokens=min(DEFAULT_TOKEN_LIMIT, _position_limit(config, tokenizer)),
        max_positions=_position_limit(config, tokenizer),
        capture_path=report.path,
    )


def _reload_eager(resolved: ResolvedModel, family: Family, options: dict, device: torch.device) -> PreTrainedModel:
    """Such models read the attention implementation once, when built (BLOOM builds its masks by it)."""
    for model_class in _MODEL_CLASSES[family]:
        try:
            model = model_class.from_pretrained(resolved.location, attn_implementation="eager", **options)
            return model.to(device).eval()
        except ValueError as error:
            last_error = error
    raise _load_failed(last_error, resolved) from last_error


def _load_weights(resolved: ResolvedModel, family: Family, options: dict) -> tuple[PreTrainedModel, bool]:
    """The model with attnviz's attention function, or with eager attention if the model refuses it.

    Returns the model and whether it runs attnviz's attention function.
    """
    last_error: Exception | None = None
    for model_class in _MODEL_CLASSES[family]:
        for implementation in (ATTNVIZ, "eager"):
            try:
                model = model_class.from_pretrained(resolved.location, attn_implementation=implementation, **options)
                return model, implementation == ATTNVIZ
            except ValueError as error:  # no LM head for this config (try the base model), or no such attention
                last_error = error
                log.debug("loading %s with %s failed: %s", resolved.name, model_class.__name__, error)
                if "attn" not in str(error).lower():
                    break
            except KeyError as error:  # the model's own code knows a fixed set of implementations (Falcon)
                last_error = error
                log.debug("%s refuses %s attention: %s", model_class.__name__, implementation, error)
    assert last_error is not None
    raise last_error
