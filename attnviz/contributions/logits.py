"""Direct logit attribution: how much each head, each MLP and the embeddings push one token's logit.

The final norm is linear once its per-position scale from the real pass is fixed (TransformerLens's
``apply_ln_to_stack``): a LayerNorm centres each component and multiplies it by that scale and γ, an
RMSNorm only multiplies. Each component's logit is then its normalised vector times the token's
column of the unembedding; with the β of the norms and the LM head's bias as one more term, the parts
add up to the model's own logit. A contrast "A minus B" uses the column difference W_U[:, A] − W_U[:, B].
Gemma 2's final soft-capping (tanh) comes after: the attribution is of the logit before it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from attnviz.capturing.tokenizing import token_labels
from attnviz.contributions.decompose import ResidualDecomposition
from attnviz.errors import InputTextError, StreamError
from attnviz.models.loading import LoadedModel


@dataclass(frozen=True)
class Unembedding:
    """The LM head as a matrix: ``logits = (normed · scale) @ weight + bias``, soft-capped after when ``softcap``."""

    weight: torch.Tensor  # [vocab, d]: the LM head's own weight, not copied
    bias: torch.Tensor | None  # [vocab]
    scale: float
    softcap: float | None

    @property
    def vocabulary(self) -> int:
        return self.weight.shape[0]

    def logits(self, normed: np.ndarray) -> torch.Tensor:
        """``normed [..., d]`` (the final norm's output) -> logits ``[..., vocab]``, soft-capped as the model does."""
        with torch.inference_mode():
            return self._logits(normed)

    def _logits(self, normed: np.ndarray) -> torch.Tensor:
        # the scale goes on the [..., d] input, not the [..., vocab] output: one pass over d numbers, not 50k
        logits = (torch.from_numpy(np.ascontiguousarray(normed, dtype=np.float32)) * self.scale) @ self.weight.T
        if self.bias is not None:
            logits = logits + self.bias
        if self.softcap:
            logits = torch.tanh(logits / self.softcap) * self.softcap
        return logits


def unembedding(loaded: LoadedModel, decomposition: ResidualDecomposition) -> Unembedding:
    """The model's LM head (and BART's ``final_logits_bias``); an error for a stream with none (an encoder)."""
    head = loaded.model.get_output_embeddings() if decomposition.kind == "decoder" else None
    if head is None or getattr(head, "weight", None) is None or decomposition.logits is None:
        raise StreamError(code="no_unembedding", model=loaded.name, kind=decomposition.kind)
    weight = head.weight.detach().float().cpu()  # [vocab, d]
    bias = None if getattr(head, "bias", None) is None else head.bias.detach().float().cpu()
    extra = getattr(loaded.model, "final_logits_bias", None)
    if isinstance(extra, torch.Tensor):
        bias = extra.detach().float().cpu().reshape(-1) + (0 if bias is None else bias)
    softcap = getattr(loaded.model.config.get_text_config(), "final_logit_softcapping", None)
    return Unembedding(weight, bias, decomposition.unembedding_scale, softcap or None)


@dataclass(frozen=True)
class HeadShare:
    kind: str  # "decoder" or "cross"
    layer: int
    head: int
    value: float
    share: float  # |value| over the sum of |every part|


@dataclass(frozen=True)
class LogitAttribution:
    """Each part's direct effect on ``logit(token) − logit(contrast)`` at ``position``."""

    model_name: str
    position: int
    token: str  # label of the token whose logit is explained
    token_id: int
    contrast: str | None
    contrast_id: int | None
    heads: np.ndarray  # [layer, head]
    mlps: np.ndarray  # [layer]
    attention_bias: np.ndarray  # [layer]: W_O's bias (and the cross-attention's)
    embeddings: float
    bias: float  # the norms' β and the LM head's bias
    logit: float  # the model's own logit (difference), before any soft-capping
    cross_heads: np.ndarray | None = None  # [layer, head] (an encoder-decoder's decoder)

    @property
    def total(self) -> float:
        """The sum of every part: equals :attr:`logit` (the completeness of the attribution)."""
        total = self.embeddings + self.bias + float(self.heads.sum()) + float(self.mlps.sum())
        total += float(self.attention_bias.sum())
        return total + (0.0 if self.cross_heads is None else float(self.cross_heads.sum()))

    @property
    def magnitude(self) -> float:
        parts = [self.heads.ravel(), self.mlps, self.attention_bias, [self.embeddings, self.bias]]
        if self.cross_heads is not None:
            parts.append(self.cross_heads.ravel())
        return float(np.abs(np.concatenate([np.asarray(p, dtype=np.float64) for p in parts])).sum())

    def shares(self) -> np.ndarray:
        """``|heads|`` as a share of all the parts' absolute effects [layer, head]."""
        return np.abs(self.heads) / max(self.magnitude, 1e-12)

    def top_heads(self, n: int = 5) -> list[HeadShare]:
        """The ``n`` heads with the largest effect (either sign), self- and cross-attention alike."""
        cells = [("decoder", self.heads)] + ([("cross", self.cross_heads)] if self.cross_heads is not None else [])
        total = max(self.magnitude, 1e-12)
        found = [HeadShare(kind, int(layer), int(head), float(grid[layer, head]), abs(float(grid[layer, head])) / total)
                 for kind, grid in cells for layer, head in np.ndindex(grid.shape)]
        return sorted(found, key=lambda share: -abs(share.value))[:n]

    def rows(self) -> list[dict]:
        """``{"layer", "head", "value"}`` for every head, then every MLP (head None): the CLI's and CSV's rows."""
        rows = [{"layer": int(layer), "head": int(head), "value": float(self.heads[layer, head])}
                for layer, head in np.ndindex(self.heads.shape)]
        if self.cross_heads is not None:
            rows += [{"layer": int(layer), "head": int(head), "value": float(self.cross_heads[layer, head]),
                      "kind": "cross"} for layer, head in np.ndindex(self.cross_heads.shape)]
        mlps = [{"layer": int(layer), "head": None, "value": float(value)} for layer, value in enumerate(self.mlps)]
        return rows + mlps


def token_id(loaded: LoadedModel, token: str) -> int:
    """The vocabulary id of ``token``, as typed (with or without a leading space) or as the tokenizer spells it."""
    tokenizer = loaded.tokenizer
    text = token.strip() if token else ""
    if not text:
        raise InputTextError(code="no_token")
    vocabulary = tokenizer.get_vocab()
    for spelling in (token, text):
        if spelling in vocabulary:
            return int(vocabulary[spelling])
    for candidate in (" " + text, text):
        ids = tokenizer.encode(candidate, add_special_tokens=False)
        if len(ids) == 1 and ids[0] != tokenizer.unk_token_id:
            return int(ids[0])
    raise InputTextError(code="not_one_token", token=text)


def _direction(loaded: LoadedModel, unembed: Unembedding, token: int, contrast: int | None):
    column = unembed.weight[token].double()
    bias = 0.0 if unembed.bias is None else float(unembed.bias[token])
    if contrast is not None:
        column = column - unembed.weight[contrast].double()
        bias -= 0.0 if unembed.bias is None else float(unembed.bias[contrast])
    return column.numpy() * unembed.scale, bias


def direct_logit_attribution(loaded: LoadedModel, decomposition: ResidualDecomposition, token: str | int | None = None,
                             contrast: str | int | None = None, position: int = -1) -> LogitAttribution:
    """Each part's direct contribution to ``token``'s logit at ``position`` (default: the last), minus ``contrast``'s.

    ``token`` defaults to the model's own prediction there; tokens are given as text or as ids.
    """
    unembed = unembedding(loaded, decomposition)
    n = len(decomposition.tokens)
    if not -n <= position < n:
        raise InputTextError(code="no_such_position", position=position, n=n)
    position %= n
    predicted = int(np.argmax(decomposition.logits[position]))
    target = predicted if token is None else (token if isinstance(token, int) else token_id(loaded, token))
    against = None if contrast is None else (contrast if isinstance(contrast, int) else token_id(loaded, contrast))
    direction, bias = _direction(loaded, unembed, target, against)
    norm = decomposition.final_norm

    def effect(component: np.ndarray) -> np.ndarray:
        """``component [..., pos, d]`` -> its logit at ``position`` [...]."""
        vector = component[..., position, :].astype(np.float64)
        if norm is not None:
            if norm.kind == "layernorm":
                vector = vector - vector.mean(axis=-1, keepdims=True)
            vector = vector * float(norm.scale[position]) * norm.weight
        return vector @ direction

    bias += float(effect(decomposition.norm_bias))  # the β of norms on the residual (post-LN), carried here
    if norm is not None and norm.bias is not None:
        bias += float(norm.bias @ direction)
    attention_bias = effect(decomposition.attention_bias)
    if decomposition.cross_bias is not None:
        attention_bias = attention_bias + effect(decomposition.cross_bias)
    raw = decomposition.logits[position].astype(np.float64)
    if unembed.softcap:  # undo the soft-capping to get the logit the parts add up to
        raw = np.arctanh(np.clip(raw / unembed.softcap, -1 + 1e-7, 1 - 1e-7)) * unembed.softcap
    logit = float(raw[target] - (raw[against] if against is not None else 0.0))
    labels = lambda i: token_labels(loaded.tokenizer, [i])[0]  # noqa: E731
    return LogitAttribution(
        model_name=loaded.name, position=position, token=labels(target), token_id=int(target),
        contrast=None if against is None else labels(against), contrast_id=against,
        heads=effect(decomposition.heads), mlps=effect(decomposition.mlps), attention_bias=attention_bias,
        embeddings=float(effect(decomposition.embeddings)), bias=bias, logit=logit,
        cross_heads=None if decomposition.cross_heads is None else effect(decomposition.cross_heads),
    )
