"""Run a model on texts and capture the attention of the layers asked for.

:func:`capture` takes one text, :func:`capture_batch` several (padded into one forward pass; each
result equals the single-text one, padded positions never appear). Both return
:class:`~attnviz.result.AttentionResult`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from attnviz.capturing.tokenizing import clean_text, sequence_from_ids, tokenize
from attnviz.errors import AttnvizError, CaptureShapeError, InputTextError, LayerRequestError, NoAttentionError
from attnviz.models.loading import LoadedModel
from attnviz.result import AttentionKind, AttentionResult, HeadVectors, TokenSequence, Truncation
from attnviz.tracing.generate import greedy
from attnviz.tracing.handler import CaptureSession, RecordedVectors, SiteKey, routing
from attnviz.tracing.modules import accepted_kwargs  # noqa: F401  (the reference tests read it here)
from attnviz.tracing.names import NameFilter
from attnviz.tracing.probe import returned_attentions
from attnviz.tracing.trace import Hooks, Trace, run
from attnviz.tracing.vocab import without_unknown

LayerRequest = Iterable[int] | Mapping[AttentionKind, Iterable[int]] | None
Storage = Literal["float32", "float16"]
_STORAGE = {"float32": torch.float32, "float16": torch.float16}


def layer_plan(loaded: LoadedModel, layers: LayerRequest) -> dict[AttentionKind, tuple[int, ...]]:
    """Which layers of which kind to capture, validated against the model."""
    available = loaded.shape.n_layers
    if layers is None:
        return {kind: tuple(range(n)) for kind, n in available.items()}
    requested = (
        {kind: tuple(sorted(set(ls))) for kind, ls in layers.items()}
        if isinstance(layers, Mapping)
        else {kind: tuple(sorted(set(layers))) for kind in available}
    )
    for kind, chosen in requested.items():
        if kind not in available:
            raise LayerRequestError(code="no_such_kind", model=loaded.name, kind=kind, kinds=tuple(available))
        bad = [i for i in chosen if not 0 <= i < available[kind]]
        if bad:
            raise LayerRequestError(code="no_such_layer", model=loaded.name, kind=kind, n_layers=available[kind],
                                    asked=bad)
    return {kind: chosen for kind, chosen in requested.items() if chosen}


@dataclass(frozen=True)
class _Encoded:
    """One text, tokenized, with its decoder side for encoder-decoders."""

    source: TokenSequence
    source_truncation: Truncation
    reads: TokenSequence | None = None  # decoder input: row i reads reads[i] ...
    produces: TokenSequence | None = None  # ... and produces produces[i]
    target_truncation: Truncation | None = None
    generated: bool = False


def _model_inputs(loaded: LoadedModel, ids: Sequence[int]) -> dict:
    input_ids = torch.tensor([list(ids)], device=loaded.device)
    inputs = {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids)}
    if "token_type_ids" in loaded.tokenizer.model_input_names:
        inputs["token_type_ids"] = torch.zeros_like(input_ids)
    return inputs


def _decoder_start(loaded: LoadedModel) -> int:
    model = loaded.model
    start = getattr(model.config, "decoder_start_token_id", None)  # some configs (T5's in v5) lack it
    if start is None:
        start = getattr(getattr(model, "generation_config", None), "decoder_start_token_id", None)
    if start is None:
        start = loaded.tokenizer.pad_token_id or 0
    return int(start)


def _encode(loaded: LoadedModel, text: str, target: str | None, limit: int, generate_target: bool,
            max_new_tokens: int) -> _Encoded:
    tokenizer = loaded.tokenizer
    cleaned, total_chars = clean_text(text)
    source, source_truncation = tokenize(tokenizer, cleaned, total_chars, limit)
    if loaded.family != "encoder-decoder":
        return _Encoded(source, source_truncation)
    if target is not None and str(target).strip():
        cleaned_target, target_chars = clean_text(target, target=True)
        labels, truncation = tokenize(tokenizer, cleaned_target, target_chars, limit, as_target=True)
        start = _decoder_start(loaded)
        reads = labels.shifted_right(start, tokenizer.convert_ids_to_tokens(start))  # as in training
        return _Encoded(source, source_truncation, reads, labels, truncation)
    if not generate_target:
        raise InputTextError(code="needs_target")
    sequence = greedy(loaded, _model_inputs(loaded, source.token_ids), max_new_tokens)
    reads = sequence[:-1] if len(sequence) > 1 else sequence
    produces = sequence_from_ids(tokenizer, sequence[1:]) if len(sequence) > 1 else None
    return _Encoded(source, source_truncation, sequence_from_ids(tokenizer, reads), produces, None, generated=True)


def _padded(loaded: LoadedModel, sequences: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right padding keeps every real token at its own position, so padded rows equal single-text ones."""
    pad = loaded.tokenizer.pad_token_id
    pad = 0 if pad is None else pad
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, sequence in enumerate(sequences):
        ids[row, : len(sequence)] = torch.tensor(list(sequence))
        mask[row, : len(sequence)] = 1
    return ids.to(loaded.device), mask.to(loaded.device)


def _batch_inputs(loaded: LoadedModel, encoded: Sequence[_Encoded]) -> dict:
    input_ids, attention_mask = _padded(loaded, [e.source.token_ids for e in encoded])
    inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
    if "token_type_ids" in loaded.tokenizer.model_input_names:
        inputs["token_type_ids"] = torch.zeros_like(input_ids)
    if loaded.family == "encoder-decoder":
        decoder_ids, decoder_mask = _padded(loaded, [e.reads.token_ids for e in encoded])
        inputs["decoder_input_ids"] = decoder_ids
        if len(encoded) > 1:  # a mask of ones changes nothing; only padding needs one
            inputs["decoder_attention_mask"] = decoder_mask
    return inputs


def model_inputs(loaded: LoadedModel, text: str, target: str | None = None, *, max_tokens: int | None = None,
                 max_new_tokens: int = 32) -> tuple[dict, TokenSequence, TokenSequence | None]:
    """The tensors ``capture`` feeds the model for ``text`` (and the target it reads, generated if not given):
    ``(inputs, source tokens, decoder tokens read)``, for analyses that run the model themselves."""
    limit = loaded.shape.max_tokens if not max_tokens else max(1, int(max_tokens))
    encoded = _encode(loaded, text, target, limit, True, max_new_tokens)
    return _batch_inputs(loaded, [encoded]), encoded.source, encoded.reads


def _query_key_lengths(loaded: LoadedModel, inputs: dict) -> dict[AttentionKind, tuple[int, int]]:
    n_source = inputs["input_ids"].shape[1]
    n_target = inputs["decoder_input_ids"].shape[1] if "decoder_input_ids" in inputs else n_source
    return {"encoder": (n_source, n_source), "decoder": (n_target, n_target), "cross": (n_target, n_source)}


def _session(loaded: LoadedModel, plan: dict[AttentionKind, tuple[int, ...]], inputs: dict, batch: int,
             storage: torch.dtype, record_vectors: bool) -> CaptureSession:
    lengths = _query_key_lengths(loaded, inputs)
    session = routing(loaded.sites)
    session.record_vectors = record_vectors
    for kind, chosen in plan.items():
        n_query, n_key = lengths[kind]
        heads = max(loaded.shape.heads_of(kind, layer) for layer in chosen)
        # Layers with fewer heads than others of their kind leave NaN, never uninitialised memory.
        session.buffers[kind] = torch.full((len(chosen), batch, heads, n_query, n_key), float("nan"), dtype=storage)
        for slot, layer in enumerate(chosen):
            session.slots[(kind, layer)] = slot
    return session


def _forward_through_interface(loaded, plan, inputs, batch, storage, record_vectors):
    session = _session(loaded, plan, inputs, batch, storage, record_vectors)
    outputs = run(loaded, inputs, session=session).outputs
    missing = [key for key in session.slots if key not in session.captured]
    if missing:
        raise NoAttentionError(code="missing_layers", model=loaded.name, missing=missing[:3])
    return outputs, session.buffers, session.vectors


def _forward_returning_attentions(loaded, plan, inputs, storage):
    """Models outside the attention interface: their own eager ``output_attentions=True``.

    Every layer's weights are computed (the model offers no way to skip some); only the asked-for
    ones are kept.
    """
    outputs = run(loaded, inputs, output_attentions=True).outputs
    returned = returned_attentions(outputs, loaded.family)
    buffers = {}
    for kind, chosen in plan.items():
        if kind not in returned:
            raise NoAttentionError(code="missing_kind", model=loaded.name, kind=kind)
        stacked = torch.stack([returned[kind][layer] for layer in chosen])  # [layer, batch, head, query, key]
        expected = _query_key_lengths(loaded, inputs)[kind]
        if tuple(stacked.shape[-2:]) != expected:
            raise CaptureShapeError(code="capture_shape", kind=kind, layer=chosen[0],
                                    shape=tuple(stacked.shape[-2:]), expected=expected)
        buffers[kind] = stacked.to("cpu", storage)
    return outputs, buffers, {}


def _head_vectors(recorded: RecordedVectors, row: int, n_query: int, n_key: int) -> HeadVectors:
    if recorded.mask is None:
        forbidden = np.zeros((n_query, n_key), dtype=bool)
    else:
        mask = recorded.mask[min(row, recorded.mask.shape[0] - 1), 0, :n_query, :n_key]
        forbidden = (mask <= torch.finfo(torch.float32).min / 2).numpy()
    return HeadVectors(
        query=recorded.query[row, :, :n_query].numpy(), key=recorded.key[row, :, :n_key].numpy(),
        value=recorded.value[row, :, :n_key].numpy(), mask=forbidden, scaling=recorded.scaling,
        softcap=recorded.softcap, output=recorded.output[row, :n_query].numpy(),
    )


def capture_batch(
    loaded: LoadedModel,
    texts: Sequence[str],
    targets: Sequence[str | None] | None = None,
    layers: LayerRequest = None,
    *,
    generate_target: bool = True,
    max_tokens: int | None = None,
    max_new_tokens: int = 32,
    record_vectors: bool = False,
    storage: Storage = "float32",
) -> list[AttentionResult]:
    """Capture several texts in one padded forward pass; result ``i`` equals ``capture(loaded, texts[i])``."""
    if isinstance(texts, str) or not texts:
        raise InputTextError(code="empty_batch")
    shape = loaded.shape
    limit = shape.max_tokens if not max_tokens else min(max(1, int(max_tokens)), shape.max_positions or max_tokens)
    plan = layer_plan(loaded, layers)
    targets = list(targets) if targets is not None else [None] * len(texts)
    if len(targets) != len(texts):
        raise InputTextError(code="targets_mismatch")
    encoded = [_encode(loaded, t, g, limit, generate_target, max_new_tokens) for t, g in zip(texts, targets)]
    results, _ = _capture_encoded(loaded, plan, encoded, limit, record_vectors, storage)
    return results


def _capture_encoded(loaded: LoadedModel, plan, encoded: Sequence[_Encoded], limit: int, record_vectors: bool,
                     storage: Storage) -> tuple[list[AttentionResult], torch.Tensor | None]:
    inputs = _batch_inputs(loaded, encoded)
    if record_vectors and loaded.capture_path != "interface":
        raise NoAttentionError(code="no_vectors", model=loaded.name)
    try:
        if loaded.capture_path == "interface":
            outputs, buffers, vectors = _forward_through_interface(loaded, plan, inputs, len(encoded),
                                                                    _STORAGE[storage], record_vectors)
        else:
            outputs, buffers, vectors = _forward_returning_attentions(loaded, plan, inputs, _STORAGE[storage])
    except AttnvizError:
        raise
    except Exception as error:  # the model's own code failed (out of memory, a bug in a custom layer ...)
        raise NoAttentionError(code="forward_failed", model=loaded.name, error=type(error).__name__) from error
    logits = getattr(outputs, "logits", None)
    return [_result(loaded, plan, e, row, buffers, vectors, logits, limit, single=len(encoded) == 1)
            for row, e in enumerate(encoded)], logits


def capture_token_ids(loaded: LoadedModel, ids: Sequence[int], target_ids: Sequence[int] | None = None,
                      layers: LayerRequest = None, *, storage: Storage = "float32"
                      ) -> tuple[AttentionResult, np.ndarray | None]:
    """Capture a sequence given as token ids (say one the model generated: decoding and tokenizing again
    need not give the same ids). ``target_ids`` is what an encoder-decoder's decoder reads. Returns the
    result and the model's logits ``[decoder position, vocabulary]`` (None if it has no LM head)."""
    ids = [int(i) for i in ids]
    if not ids or (loaded.family == "encoder-decoder" and not target_ids):
        raise InputTextError(code="no_tokens")
    shape = loaded.shape
    limit = shape.max_positions or max(len(ids), len(target_ids or ()))
    if len(ids) > limit or len(target_ids or ()) > limit:
        raise InputTextError(code="too_many_ids", model=loaded.name, limit=limit)
    source = sequence_from_ids(loaded.tokenizer, ids)
    whole = Truncation(len(ids), len(ids), 0, 0)
    reads = sequence_from_ids(loaded.tokenizer, list(target_ids)) if target_ids else None
    encoded = _Encoded(source, whole, reads, None, Truncation(len(reads), len(reads), 0, 0) if reads else None)
    results, logits = _capture_encoded(loaded, layer_plan(loaded, layers), [encoded], limit, False, storage)
    return results[0], None if logits is None else logits[0].float().cpu().numpy()


def _result(loaded: LoadedModel, plan, encoded: _Encoded, row: int, buffers: dict[AttentionKind, torch.Tensor],
            vectors: dict[SiteKey, RecordedVectors], logits, limit: int, single: bool) -> AttentionResult:
    n_source = len(encoded.source)
    n_target = len(encoded.reads) if encoded.reads is not None else n_source
    lengths = {"encoder": (n_source, n_source), "decoder": (n_target, n_target), "cross": (n_target, n_source)}
    arrays = {}
    for kind, buffer in buffers.items():
        n_query, n_key = lengths[kind]
        view = buffer[:, row, :, :n_query, :n_key].numpy()  # float16 storage stays float16
        arrays[kind] = view if single and view.flags.c_contiguous else np.ascontiguousarray(view)
    output_tokens = encoded.produces
    if loaded.family == "decoder" and logits is not None:
        guesses = without_unknown(logits[row, :n_source], loaded.tokenizer).argmax(-1)
        output_tokens = sequence_from_ids(loaded.tokenizer, guesses.tolist())
    notes = []
    if encoded.generated:
        notes.append("The target was generated by the model (greedy decoding).")
    if encoded.source_truncation.truncated:
        notes.append(
            f"The text was cut to {encoded.source_truncation.kept_tokens} of {encoded.source_truncation.total_tokens} "
            f"tokens ({limit} is the limit here)."
        )
    if loaded.capture_path == "output_attentions":
        notes.append("Captured through the model's own output_attentions (its attention is outside transformers' "
                     "attention interface).")
    return AttentionResult(
        model_name=loaded.name,
        shape=loaded.shape,
        source=encoded.source,
        decoder_input=encoded.reads,
        arrays=arrays,
        layers=plan,
        source_truncation=encoded.source_truncation,
        target_truncation=encoded.target_truncation,
        target_generated=encoded.generated,
        output_tokens=output_tokens,
        notes=tuple(notes),
        vectors={kind: {layer: _head_vectors(v, row, *lengths[kind]) for (k, layer), v in vectors.items() if k == kind}
                 for kind in plan} if vectors else {},
    )


def capture(loaded: LoadedModel, text: str, target: str | None = None, layers: LayerRequest = None,
            **options) -> AttentionResult:
    """Run ``loaded`` on ``text`` and return the attention of the requested layers.

    ``layers``: ``None`` for all, a list of layer numbers (for every kind of attention), or a dict
    ``{"encoder": [...], "decoder": [...], "cross": [...]}``: only those leave the fast SDPA path.
    For encoder-decoders, ``target`` is the decoder text (teacher forcing); without it the model
    generates one (greedy). Keyword options, as for :func:`capture_batch`: ``max_tokens`` may exceed
    the default cut (512) up to the model's own limit; ``storage="float16"`` halves the memory of
    long captures; ``record_vectors=True`` keeps each captured layer's Q, K, V as the attention
    function received them (``result.vectors``); ``generate_target``, ``max_new_tokens``.
    """
    return capture_batch(loaded, [text], [target], layers, **options)[0]


def trace(loaded: LoadedModel, text: str, target: str | None = None, *, cache: NameFilter = True, hooks: Hooks = (),
          max_tokens: int | None = None, keep_grad: bool = False) -> Trace:
    """Run ``loaded`` once on ``text`` and read it at TransformerLens-style hook points (``blocks.3.attn.hook_pattern``,
    ``blocks.3.hook_resid_pre`` ...; see :mod:`attnviz.tracing.names`): ``trace.cache["pattern", 3]``.

    ``cache``: the names to keep (a name, several, a predicate; all by default). ``hooks``: ``(names, fn)`` pairs,
    ``fn(tensor, name)`` returning a replacement (a write) or None. ``target``: an encoder-decoder's decoder text
    (generated when not given). ``keep_grad``: keep the cache in the autograd graph.
    """
    inputs, source, reads = model_inputs(loaded, text, target, max_tokens=max_tokens)
    traced = run(loaded, inputs, cache=cache, hooks=hooks, keep_grad=keep_grad)
    return dataclasses.replace(traced, tokens=source, decoder_tokens=reads)
