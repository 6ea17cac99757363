"""Run a model on text and capture the attention weights of the layers asked for."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import torch
from transformers import PreTrainedTokenizerBase

from attnviz.capture.interface import Recorder, Site, recording
from attnviz.errors import AttnvizError, InputTextError, NoAttentionError
from attnviz.models.loading import LoadedModel
from attnviz.result import AttentionKind, AttentionResult, TokenSequence, Truncation

MAX_CHARS = 20_000  # longer text is cut before tokenizing: no model here reads that much
LayerRequest = Iterable[int] | Mapping[AttentionKind, Iterable[int]] | None


class LayerRequestError(AttnvizError, ValueError):
    """Layers outside the model were asked for."""


def _clean_text(text: str, what: str) -> tuple[str, int]:
    if text is None or not str(text).strip():
        raise InputTextError(f"The {what} is empty: type a sentence.")
    text = str(text).replace("\x00", "").strip()
    return text[:MAX_CHARS], len(text)


def _tokenize(
    tokenizer: PreTrainedTokenizerBase, text: str, total_chars: int, limit: int, *, as_target: bool = False
) -> tuple[TokenSequence, Truncation]:
    key = "text_target" if as_target else "text"
    fast = getattr(tokenizer, "is_fast", False)
    # Fast tokenizers return what did not fit as extra rows, so one pass gives both the kept tokens
    # and the total count; slow ones need a second, untruncated pass (below) when the limit is hit.
    encoding = tokenizer(
        **{key: text}, truncation=True, max_length=limit, return_special_tokens_mask=True, add_special_tokens=True,
        return_overflowing_tokens=fast,
    )
    rows = encoding["input_ids"] if fast else [encoding["input_ids"]]
    ids = list(rows[0])
    special = [bool(s) for s in (encoding["special_tokens_mask"][0] if fast else encoding["special_tokens_mask"])]
    if fast:
        word_ids = list(encoding.word_ids(0))
    else:  # slow tokenizers know no words: each token is its own
        word_ids = [None if s else i for i, s in enumerate(special)]
    if all(special):
        raise InputTextError("Nothing in the text is left after tokenizing: type some words.")
    sequence = TokenSequence(
        tokens=tuple(tokenizer.convert_ids_to_tokens(ids)),
        token_ids=tuple(ids),
        special=tuple(special),
        word_ids=tuple(word_ids),
    )
    if fast:
        total = sum(len(row) for row in rows) - (len(rows) - 1) * tokenizer.num_special_tokens_to_add()
    elif len(ids) >= limit:  # only then can tokens have been cut: count them all
        total = len(tokenizer(**{key: text}, add_special_tokens=True)["input_ids"])
    else:
        total = len(ids)
    truncation = Truncation(len(ids), total, len(text), total_chars)
    return sequence, truncation


def _layer_plan(loaded: LoadedModel, layers: LayerRequest) -> dict[AttentionKind, tuple[int, ...]]:
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
            raise LayerRequestError(f"{loaded.name} has no {kind} attention (it has: {', '.join(available)}).")
        bad = [i for i in chosen if not 0 <= i < available[kind]]
        if bad:
            raise LayerRequestError(
                f"{loaded.name} has {available[kind]} {kind} layers (0-{available[kind] - 1}); asked for {bad}."
            )
    return {kind: chosen for kind, chosen in requested.items() if chosen}


def _sequence_from_ids(tokenizer: PreTrainedTokenizerBase, ids: list[int]) -> TokenSequence:
    special_ids = set(tokenizer.all_special_ids)
    special = [i in special_ids for i in ids]
    word_ids, word = [], 0
    for is_special in special:  # generated text: one word per token, which is all the ids tell us
        word_ids.append(None if is_special else word)
        word += not is_special
    return TokenSequence(tuple(tokenizer.convert_ids_to_tokens(ids)), tuple(ids), tuple(special), tuple(word_ids))


@functools.cache
def _forward_parameters(model_class: type) -> frozenset[str]:
    parameters = inspect.signature(model_class.forward).parameters
    names = set(parameters)
    if any(p.kind == p.VAR_KEYWORD for p in parameters.values()):
        names |= {"token_type_ids", "attention_mask"}
    return frozenset(names)


def _accepted_kwargs(model: torch.nn.Module, candidates: dict) -> dict:
    names = _forward_parameters(type(model))
    return {k: v for k, v in candidates.items() if k in names}


@dataclass(frozen=True)
class _DecoderSide:
    reads: TokenSequence  # decoder input: row i reads reads[i] ...
    produces: TokenSequence | None  # ... and produces produces[i]
    truncation: Truncation | None
    generated: bool


def _decoder_side(loaded: LoadedModel, inputs: dict, target: str | None, generate_target: bool, limit: int,
                  max_new_tokens: int) -> _DecoderSide:
    """Decoder input of an encoder-decoder: the given target (teacher forcing) or a greedy generation."""
    tokenizer, model = loaded.tokenizer, loaded.model
    if target is not None and str(target).strip():
        cleaned, total_chars = _clean_text(target, "target text")
        labels, truncation = _tokenize(tokenizer, cleaned, total_chars, limit, as_target=True)
        start = model.config.decoder_start_token_id
        if start is None:
            start = model.generation_config.decoder_start_token_id
        reads = [start, *labels.token_ids[:-1]]  # shifted right, as in training
        return _DecoderSide(_sequence_from_ids(tokenizer, reads), labels, truncation, generated=False)
    if not generate_target:
        raise InputTextError("This encoder-decoder needs a target text (or let the model generate one).")
    with torch.inference_mode():
        sequence = model.generate(**_accepted_kwargs(model, inputs), max_new_tokens=max_new_tokens,
                                  do_sample=False, num_beams=1)[0].tolist()
    reads = sequence[:-1] if len(sequence) > 1 else sequence
    produces = _sequence_from_ids(tokenizer, sequence[1:]) if len(sequence) > 1 else None
    return _DecoderSide(_sequence_from_ids(tokenizer, reads), produces, None, generated=True)


def _recorder_for(loaded: LoadedModel, plan: dict[AttentionKind, tuple[int, ...]], n_source: int,
                  n_decoder: int) -> Recorder:
    """Which modules to capture, and the buffers their weights are written into (the result owns them)."""
    n_query = {"encoder": n_source, "decoder": n_decoder, "cross": n_decoder}
    n_key = {"encoder": n_source, "decoder": n_decoder, "cross": n_source}
    wanted, buffers = {}, {}
    for kind, chosen in plan.items():
        buffers[kind] = torch.empty(len(chosen), loaded.shape.n_heads, n_query[kind], n_key[kind])
        for slot, layer in enumerate(chosen):
            module = loaded.sites[kind][layer]
            wanted[id(module)] = Site((kind, layer), slot, id(module) in loaded.plain_formula)
    return Recorder(wanted=wanted, buffers=buffers)


def capture(
    loaded: LoadedModel,
    text: str,
    target: str | None = None,
    layers: LayerRequest = None,
    *,
    generate_target: bool = True,
    max_tokens: int | None = None,
    max_new_tokens: int = 32,
) -> AttentionResult:
    """Run ``loaded`` on ``text`` and return the attention of the requested layers.

    ``layers``: ``None`` for all, a list of layer indices (for every kind of attention), or a dict
    ``{"encoder": [...], "decoder": [...], "cross": [...]}``. For encoder-decoders, ``target`` is
    the decoder text (teacher forcing); without it the model generates one (greedy).
    """
    tokenizer, model, shape = loaded.tokenizer, loaded.model, loaded.shape
    limit = min(shape.max_tokens, max_tokens or shape.max_tokens)
    plan = _layer_plan(loaded, layers)
    cleaned, total_chars = _clean_text(text, "text")
    source, source_truncation = _tokenize(tokenizer, cleaned, total_chars, limit)
    input_ids = torch.tensor([source.token_ids])
    inputs = {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids)}
    if "token_type_ids" in tokenizer.model_input_names:
        inputs["token_type_ids"] = torch.zeros_like(input_ids)

    target_side = None
    notes: list[str] = []
    if shape.family == "encoder-decoder":
        target_side = _decoder_side(loaded, inputs, target, generate_target, limit, max_new_tokens)
        inputs["decoder_input_ids"] = torch.tensor([target_side.reads.token_ids])
        if target_side.generated:
            notes.append("The target was generated by the model (greedy decoding).")
    target_seq = target_side.reads if target_side else None
    produced = target_side.produces if target_side else None

    recorder = _recorder_for(loaded, plan, len(source), len(target_seq) if target_seq else len(source))
    with recording(recorder), torch.inference_mode():
        outputs = model(**_accepted_kwargs(model, inputs), use_cache=False)
    missing = [site.key for site in recorder.wanted.values() if site.key not in recorder.captured]
    if missing:
        raise NoAttentionError(f"No attention weights came out of {loaded.name} for {missing[:3]}.")

    arrays = {kind: buffer.numpy() for kind, buffer in recorder.buffers.items()}
    if shape.family == "decoder" and getattr(outputs, "logits", None) is not None:
        produced = _sequence_from_ids(tokenizer, outputs.logits[0].argmax(-1).tolist())
    if source_truncation.truncated:
        notes.append(
            f"The text was cut to {source_truncation.kept_tokens} of {source_truncation.total_tokens} tokens "
            f"({limit} is this model's limit here)."
        )
    return AttentionResult(
        model_name=loaded.name,
        shape=shape,
        source=source,
        target=target_seq,
        arrays=arrays,
        layers=plan,
        source_truncation=source_truncation,
        target_truncation=target_side.truncation if target_side else None,
        target_generated=bool(target_side and target_side.generated),
        produced=produced,
        notes=tuple(notes),
    )
