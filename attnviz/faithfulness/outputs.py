"""The output being explained, as one number a gradient can flow back from.

Each family's output is a scalar function ``f`` of the input token embeddings ``E`` (the output of the
token-embedding module, before position embeddings are added; the model's own ``inputs_embeds``):

- **next token** (decoder): ``log p(token | text)`` at the last position; the token is the model's own
  top guess, or the first token of a word typed;
- **target token** (encoder-decoder): ``log p(target token t | source, target before t)`` with the target
  read by teacher forcing (typed, or the model's greedy translation);
- **sentence embedding** (encoder): the mean-pooled last hidden state (as MiniLM is used for sentence
  embeddings) projected on its own direction at the real input, ``f(E) = e(E) · e(E₀)/‖e(E₀)‖`` with
  ``e(E₀)`` held fixed: a length that moves when the embedding moves along itself;
- **first token ([CLS]) state** (encoder): the same projection of the first position's last hidden state.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import torch

from attnviz.capturing.tokenizing import token_labels
from attnviz.errors import InputTextError, NoAttentionError
from attnviz.models.loading import LoadedModel
from attnviz.result import AttentionKind, AttentionResult, Family
from attnviz.tracing.modules import accepted_kwargs
from attnviz.tracing.trace import run

OutputKind = Literal["next_token", "target_token", "sentence_mean", "cls"]
OUTPUTS_OF: dict[Family, tuple[OutputKind, ...]] = {
    "decoder": ("next_token",), "encoder-decoder": ("target_token",), "encoder": ("sentence_mean", "cls")}


@dataclass(frozen=True)
class OutputChoice:
    """What to explain. ``kind=None``: the family's first output (next token, target token, sentence embedding)."""

    kind: OutputKind | None = None
    token: str | None = None  # next_token: a word typed (its first token); None: the model's top guess
    position: int | None = None  # target_token: decoder position; None: the first non-special one


@dataclass(frozen=True)
class ExplainedOutput:
    """The output as resolved on one input: which token, which decoder position, which attention rows feed it."""

    kind: OutputKind
    label: str  # the token explained ("" for the encoder outputs)
    token_id: int | None
    position: int | None  # decoder position of the token explained (next_token: the last input position)
    attention_kind: AttentionKind  # whose query rows lead to the output: decoder, cross, or encoder
    query_rows: tuple[int, ...]  # rows of that attention averaged into the output's attention row
    value: float  # f at the real input


def _typed_token(loaded: LoadedModel, token: str) -> int:
    ids = loaded.tokenizer(token.strip(), add_special_tokens=False)["input_ids"] if token.strip() else []
    if not ids:
        raise InputTextError(code="faith_empty_token")
    return int(ids[0])


def resolve_output(loaded: LoadedModel, result: AttentionResult, choice: OutputChoice) -> ExplainedOutput:
    """The concrete output for ``result``'s input (without its value, filled by :class:`OutputScalar`)."""
    kinds = OUTPUTS_OF[loaded.family]
    kind = choice.kind or kinds[0]
    if kind not in kinds:
        raise InputTextError(code="faith_bad_output", output=kind, allowed=", ".join(kinds))
    n = len(result.source)
    if kind == "next_token":
        token_id = _typed_token(loaded, choice.token) if choice.token else int(result.output_tokens.token_ids[-1])
        label = token_labels(loaded.tokenizer, [token_id])[0]
        return ExplainedOutput(kind, str(label), token_id, n - 1, "decoder", (n - 1,), float("nan"))
    if kind == "target_token":
        produced = result.output_tokens
        if produced is None or not len(produced):
            raise InputTextError(code="faith_empty_target")
        if choice.position is None:
            position = next((i for i, special in enumerate(produced.special) if not special), 0)
        elif 0 <= choice.position < len(produced):
            position = int(choice.position)
        else:
            raise InputTextError(code="faith_bad_position", n=len(produced), position=choice.position)
        return ExplainedOutput(kind, produced.labels[position], int(produced.token_ids[position]), position,
                               "cross", (position,), float("nan"))
    rows = tuple(range(n)) if kind == "sentence_mean" else (0,)
    return ExplainedOutput(kind, "", None, None, "encoder", rows, float("nan"))


def blank_token_id(loaded: LoadedModel) -> int | None:
    """The token that stands for "nothing here": the padding token, else the unknown token (None: zeros)."""
    tokenizer = loaded.tokenizer
    for token_id in (tokenizer.pad_token_id, tokenizer.unk_token_id):
        if token_id is not None:
            return int(token_id)
    return None


def embedding_module(loaded: LoadedModel) -> torch.nn.Module:
    """The module whose output is the model's ``inputs_embeds`` (the encoder's for encoder-decoders)."""
    model = loaded.model
    if loaded.family == "encoder-decoder":
        return model.get_encoder().get_input_embeddings()
    return model.get_input_embeddings()


class OutputScalar:
    """``f(E)`` for a batch of input embeddings ``E`` [batch, token, hidden] -> [batch]: the function Captum attributes.

    Everything but the embeddings (masks, the decoder's input, the direction of an embedding) is fixed at
    construction from the real input, and expanded to the batch Captum sends.
    """

    def __init__(self, loaded: LoadedModel, result: AttentionResult, output: ExplainedOutput) -> None:
        self.loaded, self.output = loaded, output
        device = loaded.device
        ids = torch.tensor([list(result.source.token_ids)], device=device)
        self.fixed = {"attention_mask": torch.ones_like(ids)}
        if "token_type_ids" in loaded.tokenizer.model_input_names:
            self.fixed["token_type_ids"] = torch.zeros_like(ids)
        if loaded.family == "encoder-decoder":
            self.fixed["decoder_input_ids"] = torch.tensor([list(result.decoder_input.token_ids)], device=device)
        if "inputs_embeds" not in accepted_kwargs(loaded.model, {"inputs_embeds": None}):
            raise NoAttentionError(code="faith_no_embeds", model=loaded.name)
        with torch.no_grad():
            self.embeddings = embedding_module(loaded)(ids).detach().float()  # [1, token, hidden]
            self.blank_id = blank_token_id(loaded)
            blank = (embedding_module(loaded)(torch.tensor([[self.blank_id]], device=device)).detach().float()
                     if self.blank_id is not None else torch.zeros_like(self.embeddings[:, :1]))
            # the blank input B: every token but the specials ([CLS], </s> ...) replaced by the blank token, as
            # Captum's tutorials build BERT's reference; otherwise blanking </s> dominates integrated gradients
            self.blanks = blank.expand_as(self.embeddings).contiguous()  # what occlusion puts in, token by token
            special = torch.tensor(result.source.special, device=device)[None, :, None]  # [1, token, 1]
            self.baseline = torch.where(special, self.embeddings, self.blanks)
        self.direction = None
        if output.kind in ("sentence_mean", "cls"):
            with torch.no_grad():
                state = self._state(self.embeddings)
            self.direction = (state / state.norm(dim=-1, keepdim=True).clamp_min(1e-12))[0]  # [hidden]
        with torch.no_grad():
            value = float(self(self.embeddings)[0])
        self.output = replace(output, value=value)

    def _run(self, embeds: torch.Tensor):
        batch = embeds.shape[0]
        fixed = {name: t.expand(batch, *t.shape[1:]) for name, t in self.fixed.items()}
        inputs = {"inputs_embeds": embeds.to(self.loaded.dtype), **fixed}
        encoder_output = self.output.kind in ("sentence_mean", "cls")
        return run(self.loaded, inputs, inference=False, output_hidden_states=encoder_output).outputs

    def _state(self, embeds: torch.Tensor) -> torch.Tensor:
        """The encoder's vector: mean-pooled last hidden state or the first position's. [batch, hidden]"""
        outputs = self._run(embeds)
        hidden = getattr(outputs, "last_hidden_state", None)
        if hidden is None:
            hidden = outputs.hidden_states[-1]
        hidden = hidden.float()
        return hidden.mean(dim=1) if self.output.kind == "sentence_mean" else hidden[:, 0]

    def __call__(self, embeds: torch.Tensor) -> torch.Tensor:
        if self.direction is not None:
            return self._state(embeds) @ self.direction
        logits = getattr(self._run(embeds), "logits", None)
        if logits is None:
            raise NoAttentionError(code="faith_no_logits", model=self.loaded.name)
        log_p = torch.log_softmax(logits[:, self.output.position].float(), dim=-1)  # [batch, vocab]
        return log_p[:, self.output.token_id]
