"""Residual decomposition: what the embeddings, every attention head and every MLP block wrote into the stream.

One traced forward pass of the model (:func:`attnviz.tracing.trace.run` with its timeline). Each head's
output ``(Q, H, D)`` is read at ``hook_z``, where the interventions write, and mapped through its slice
of W_O; everything else is read from the real pass, in the order it ran:

* each block's input and output (``h_l`` and ``h_{l+1}``), so the MLP is what the block added that
  the attention did not: ``mlp_l = h_{l+1} − h_l − attn_l``, the same for pre-LN and for parallel
  attention + MLP (GPT-J, GPT-NeoX, Phi);
* every norm call inside a block, with its real input. A norm on a sublayer's output (Gemma 2's and
  OLMo 2's sandwich norms) is linear once its per-position scale is known, so it is applied to each
  head; a norm on the residual itself (post-LN BERT, BART, Marian) is applied to every component
  written so far (centred, times the real scale and γ; its β becomes a bias term), as Kobayashi et
  al. (2021) do. The final norm's scale is kept for the direct logit attribution and the lens. Norms are
  linearised by :mod:`attnviz.tracing.norms`, as for the routes.

A block shared by several layers (ALBERT) is told apart by its run count in the pass (the tracer's
layers), so it splits like any other; whether a model can be split at all is decided once for every
view by :func:`attnviz.tracing.support.support`.

Completeness is checked, not assumed: the components must add up to the stream's real final
residual, and each layer's heads plus the W_O bias to what the model's W_O produced.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from attnviz.capturing.run import model_inputs
from attnviz.errors import AttnvizError, StreamError
from attnviz.models.loading import LoadedModel
from attnviz.result import AttentionKind, TokenSequence
from attnviz.tracing.modules import weight_in_out
from attnviz.tracing.names import stack_of
from attnviz.tracing.norms import NormScale, norm_scale
from attnviz.tracing.norms import same as _same
from attnviz.tracing.support import stream_kind, support
from attnviz.tracing.trace import run


@dataclass(frozen=True)
class ResidualDecomposition:
    """The stream ``kind`` of one text, split into what wrote it. Every array is float32 numpy.

    ``embeddings + heads.sum((0, 1)) + attention_bias.sum(0) + cross_heads.sum((0, 1)) + cross_bias.sum(0)
    + mlps.sum(0) + norm_bias == final_residual`` (:meth:`total`). For post-LN models every term is
    carried through the later norms, so it is what reaches the final residual, not what was first added.
    """

    model_name: str
    kind: AttentionKind  # "decoder" (also an encoder-decoder's decoder) or "encoder"
    tokens: TokenSequence  # the tokens of this stream
    embeddings: np.ndarray  # [pos, d]: what enters the first block
    heads: np.ndarray  # [layer, head, pos, d]: each self-attention head through its slice of W_O
    attention_bias: np.ndarray  # [layer, pos, d]: W_O's bias (zero when it has none)
    mlps: np.ndarray  # [layer, pos, d]
    final_residual: np.ndarray  # [pos, d]: the last block's output (before the final norm)
    final_norm: NormScale | None  # None when the stream has no final norm (post-LN)
    residuals: np.ndarray  # [layer + 1, pos, d]: the real stream before block 0, 1, ... and after the last
    norm_bias: np.ndarray  # [pos, d]: the β of norms on the residual (post-LN); zero otherwise
    cross_heads: np.ndarray | None = None  # [layer, head, pos, d]: an encoder-decoder's cross-attention heads
    cross_bias: np.ndarray | None = None  # [layer, pos, d]
    logits: np.ndarray | None = None  # [pos, vocab]: the model's own logits (None for an encoder)
    unembedding_scale: float = 1.0  # what the LM head's input is, times the final norm's output (T5: d^-0.5)
    post_ln: bool = False  # norms sit on the residual stream (BERT, BART, Marian)
    sublayer_norms: bool = False  # norms on the attention's output, applied to each head (Gemma 2, OLMo 2)

    @property
    def n_layers(self) -> int:
        return self.heads.shape[0]

    @property
    def n_heads(self) -> int:
        return self.heads.shape[1]

    def head_norms(self, position: int) -> np.ndarray:
        """``‖what each head wrote‖`` at ``position`` [layer, head]: for an encoder, whose stream has no logits."""
        return np.linalg.norm(self.heads[:, :, position].astype(np.float64), axis=-1)

    def attention(self) -> np.ndarray:
        """Each layer's attention output ``[layer, pos, d]`` (heads + bias, cross-attention included)."""
        total = self.heads.sum(axis=1) + self.attention_bias
        if self.cross_heads is not None:
            total = total + self.cross_heads.sum(axis=1) + self.cross_bias
        return total

    def total(self) -> np.ndarray:
        """The sum of every component, in float64: equals ``final_residual`` (the completeness check)."""
        total = self.embeddings.astype(np.float64) + self.norm_bias + self.attention_bias.sum(0, dtype=np.float64)
        total += self.heads.sum(axis=(0, 1), dtype=np.float64) + self.mlps.sum(axis=0, dtype=np.float64)
        if self.cross_heads is not None:
            total += self.cross_heads.sum(axis=(0, 1), dtype=np.float64) + self.cross_bias.sum(0, dtype=np.float64)
        return total


# ---------------------------------------------------------------------------------------------------------------
# The real pass, traced


def _timeline(loaded: LoadedModel, kind: AttentionKind, inputs: dict) -> tuple[list, object]:
    """Run the model once (:func:`attnviz.tracing.trace.run`); the timeline of ``kind``'s stream in batch row 0,
    as ``(event, subject, payload)``: a block event's subject is its layer, an attention or W_O event's its site."""
    wanted = {kind, "cross"} if loaded.family == "encoder-decoder" and kind == "decoder" else {kind}
    stack = stack_of(kind)
    try:
        trace = run(loaded, inputs, timeline=True)
    except AttnvizError:
        raise
    except Exception as error:
        raise StreamError(code="decompose_failed", model=loaded.name, error=type(error).__name__) from error
    events = []
    for event in trace.timeline:
        if event.what in ("block_in", "block_out"):
            if event.subject == stack:
                events.append((event.what, event.layer, event.value[0].float()))
        elif event.what in ("attention", "projected"):
            if event.subject.kind in wanted:
                events.append((event.what, event.subject, event.value[0].float()))
        elif event.what == "norm":
            x, y = event.value
            events.append(("norm", event.subject, (x[0].float(), y[0].float())))
        elif event.what == "unembed" and kind == "decoder":
            events.append(("unembedding", None, event.value[0].float()))
    return events, trace.outputs


# ---------------------------------------------------------------------------------------------------------------
# Splitting the stream


def _w_o(site) -> tuple[torch.Tensor, torch.Tensor | None]:
    """W_O as ``[heads, head_dim, d]`` and its bias ``[d]``."""
    if site.output_projection is None:
        raise StreamError(code="no_output_projection", kind=site.kind, layer=site.layer)
    weight, bias = weight_in_out(site.output_projection)  # [H·D, d]
    weight = torch.from_numpy(weight).float().reshape(site.heads, site.head_dim, -1)
    return weight, None if bias is None else torch.from_numpy(bias).float()


@dataclass
class _Stream:
    """Components written so far (torch float32), carried through every norm on the residual.

    ``running`` is their sum in float64, kept up to date so that each norm call compares against it
    without adding every component again.
    """

    embeddings: torch.Tensor
    heads: dict[tuple[str, int], torch.Tensor]  # (kind, layer) -> [head, pos, d]
    biases: dict[tuple[str, int], torch.Tensor]  # (kind, layer) -> [pos, d]
    mlps: dict[int, torch.Tensor]
    norm_bias: torch.Tensor
    running: torch.Tensor | None = None
    sublayer_norms: bool = False  # a norm on a sublayer's output was applied to its heads (Gemma 2, OLMo 2)

    def __post_init__(self) -> None:
        self.running = self.embeddings.double() + self.norm_bias

    def value(self) -> torch.Tensor:
        return self.running.float()

    def add(self, sublayer: _Sublayer) -> None:
        self.heads[sublayer.key], self.biases[sublayer.key] = sublayer.heads, sublayer.bias
        self.running = self.running + sublayer.total

    def add_mlp(self, layer: int, part: torch.Tensor) -> None:
        self.mlps[layer] = self.mlps.get(layer, torch.zeros_like(part)) + part
        self.running = self.running + part

    def through(self, norm: NormScale) -> None:
        """Apply a norm on the residual to every component (β joins the bias term)."""
        apply = lambda t: torch.from_numpy(norm.apply(t.numpy())).float()  # noqa: E731
        self.embeddings = apply(self.embeddings)
        self.norm_bias = apply(self.norm_bias) + (0 if norm.bias is None else torch.from_numpy(norm.bias))
        self.heads = {key: apply(h) for key, h in self.heads.items()}
        self.biases = {key: apply(b) for key, b in self.biases.items()}
        self.mlps = {layer: apply(m) for layer, m in self.mlps.items()}
        parts = [self.embeddings, self.norm_bias, *(h.sum(0) for h in self.heads.values()), *self.biases.values(),
                 *self.mlps.values()]
        self.running = torch.stack(parts).double().sum(0)


def _blocks_of(events: list) -> tuple[list[tuple[int, torch.Tensor, list, torch.Tensor]], list]:
    """Group the timeline by block: ``(layer, input, events inside, output)``, and the events after the last."""
    grouped, inside, current, after = [], [], None, []
    for event, subject, payload in events:
        if event == "block_in":
            current, inside = (subject, payload), []
        elif event == "block_out" and current is not None:
            grouped.append((current[0], current[1], inside, payload))
            current = None
        elif current is not None:
            inside.append((event, subject, payload))
        elif grouped:
            after.append((event, subject, payload))
    return grouped, after


def _post_ln(inside: list, out: torch.Tensor) -> bool:
    """A post-LN block hands on the output of its last norm; a pre-LN one hands on residual + sublayers."""
    norms = [payload for event, _, payload in inside if event == "norm" and payload[1].shape == out.shape]
    return bool(norms) and _same(norms[-1][1], out, 1e-6)


def _split(loaded: LoadedModel, kind: AttentionKind, events: list
           ) -> tuple[_Stream, list, torch.Tensor, NormScale | None, bool]:
    n_layers = loaded.shape.n_layers[kind]
    grouped, after = _blocks_of(events)
    if [layer for layer, *_ in grouped] != list(range(n_layers)):
        raise StreamError(code="missing_blocks", model=loaded.name, kind=kind)
    stream = _Stream(grouped[0][1].clone(), {}, {}, {}, torch.zeros_like(grouped[0][1]))
    residuals = [grouped[0][1]]
    any_post = False
    for layer, block_input, inside, out in grouped:
        if not _same(block_input, residuals[-1], 1e-6):  # something outside the blocks changed the stream
            raise StreamError(code="broken_stream", model=loaded.name, kind=kind, layer=layer)
        post = _post_ln(inside, out)
        any_post |= post
        pending: list = []  # sublayer outputs not yet added to the stream
        for event, subject, payload in inside:
            if event == "attention":
                w, b = _w_o(subject)
                heads = torch.einsum("qhd,hdm->hqm", payload, w)  # [head, pos, d]
                bias = torch.zeros_like(heads[0]) if b is None else b.expand_as(heads[0]).clone()
                pending.append(_Sublayer((subject.kind, subject.layer), heads, bias, heads.sum(0) + bias))
            elif event == "projected":
                _check_projection(loaded, subject, payload, pending)
            elif event == "norm":
                pending = _norm_event(stream, layer, subject, *payload, pending, post)
        _add(stream, pending)
        # The MLP (with any norm of its own): what the block handed on that nothing above accounts for.
        stream.add_mlp(layer, (out.double() - stream.running).float())
        residuals.append(out)
    final = residuals[-1]
    final_norm = next((norm_scale(subject, *payload) for event, subject, payload in after
                       if event == "norm" and _same(payload[0], final, 1e-6)), None)
    return stream, residuals, final, final_norm, any_post


def _unembedding_scale(events: list, final: torch.Tensor, final_norm: NormScale | None) -> float:
    """The factor between the final norm's output and what the LM head reads (1, or T5's d^-0.5 when tied)."""
    read = next((payload for event, _, payload in events if event == "unembedding"), None)
    if read is None:
        return 1.0
    normed = torch.from_numpy(final_norm.apply(final.numpy()) + (0 if final_norm.bias is None else final_norm.bias)) \
        if final_norm is not None else final
    factor = float((read * normed).sum() / (normed * normed).sum().clamp_min(1e-30))
    if not _same(read, normed * factor, 1e-4):
        raise StreamError(code="unembedding_input")
    return 1.0 if abs(factor - 1) < 1e-5 else factor  # float noise of an identity


def _norm_event(stream: _Stream, layer: int, module, x: torch.Tensor, y: torch.Tensor, pending: list,
                post: bool) -> list:
    """One norm call inside a block; returns the sublayer outputs still waiting to be added."""
    current = stream.value()
    if x.shape != current.shape or _same(x, current):
        return pending  # a norm on queries/keys (Gemma 3, OLMo 2) or a pre-norm reading the residual
    if pending and _same(x, pending[-1].total):  # a sandwich norm on the sublayer's output (Gemma 2, OLMo 2)
        norm = norm_scale(module, x, y)
        last = pending[-1]
        shift = 0 if norm.bias is None else torch.from_numpy(norm.bias)
        heads = torch.from_numpy(norm.apply(last.heads.numpy()))
        bias = torch.from_numpy(norm.apply(last.bias.numpy())) + shift
        pending[-1] = _Sublayer(last.key, heads, bias, heads.sum(0) + bias)
        stream.sublayer_norms = True
        return pending
    if pending and _same(x, current + sum(p.total for p in pending)):
        _add(stream, pending)  # the sublayer joined the residual: post-LN normalises the sum, pre-LN reads it
        if post:
            stream.through(norm_scale(module, x, y))
        return []
    if post and not pending:  # post-LN after the MLP: norm(residual + mlp)
        stream.add_mlp(layer, (x.double() - stream.running).float())
        stream.through(norm_scale(module, x, y))
    return pending  # a norm inside the MLP (Gemma 2's post-feedforward norm): the block's remainder covers it


@dataclass(frozen=True)
class _Sublayer:
    """An attention sublayer's output, split by head, not yet added to the stream."""

    key: tuple[str, int]
    heads: torch.Tensor  # [head, pos, d]
    bias: torch.Tensor  # [pos, d]
    total: torch.Tensor  # heads summed + bias


def _add(stream: _Stream, pending: list[_Sublayer]) -> None:
    for sublayer in pending:
        stream.add(sublayer)


def _check_projection(loaded: LoadedModel, site, produced: torch.Tensor, pending: list) -> None:
    """The heads plus the bias must equal what the model's W_O produced, else the split is wrong.

    For a pre-LN model the MLP is the remainder of its block, so completeness alone would not notice a
    wrong head split: this check does.
    """
    for sublayer in pending:
        if sublayer.key == (site.kind, site.layer) and not _same(sublayer.total, produced, 1e-4):
            raise StreamError(code="projection_mismatch", model=loaded.name, kind=site.kind, layer=site.layer)


def _stack(stream: _Stream, kind: str, n_layers: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    if (kind, 0) not in stream.heads:
        return None, None
    stacked = torch.stack([stream.heads[(kind, layer)] for layer in range(n_layers)]).numpy()
    biases = torch.stack([stream.biases[(kind, layer)] for layer in range(n_layers)]).numpy()
    return stacked, biases


def decompose(loaded: LoadedModel, text: str, target: str | None = None, *,
              max_tokens: int | None = None) -> ResidualDecomposition:
    """Split the residual stream of ``text`` (an encoder-decoder's decoder reading ``target``, generated when not
    given) into embeddings, each head, each MLP and the bias terms. See :class:`ResidualDecomposition`."""
    support(loaded, "contributions")
    kind = stream_kind(loaded)
    inputs, source, reads = model_inputs(loaded, text, target, max_tokens=max_tokens)
    events, outputs = _timeline(loaded, kind, inputs)
    stream, residuals, final, final_norm, post_ln = _split(loaded, kind, events)
    n_layers = loaded.shape.n_layers[kind]
    heads, biases = _stack(stream, kind, n_layers)
    cross_heads, cross_bias = _stack(stream, "cross", n_layers) if kind == "decoder" else (None, None)
    logits = getattr(outputs, "logits", None)
    decomposition = ResidualDecomposition(
        model_name=loaded.name, kind=kind, tokens=reads if loaded.family == "encoder-decoder" else source,
        embeddings=stream.embeddings.numpy(), heads=heads, attention_bias=biases,
        mlps=torch.stack([stream.mlps[layer] for layer in range(n_layers)]).numpy(),
        final_residual=final.numpy(), final_norm=final_norm, residuals=torch.stack(residuals).numpy(),
        norm_bias=stream.norm_bias.numpy(), cross_heads=cross_heads, cross_bias=cross_bias,
        logits=None if logits is None or kind == "encoder" else logits[0].float().cpu().numpy(), post_ln=post_ln,
        unembedding_scale=_unembedding_scale(events, final, final_norm), sublayer_norms=stream.sublayer_norms,
    )
    gap = np.abs(decomposition.total() - decomposition.final_residual).max()
    if gap > 1e-4 * (np.abs(decomposition.final_residual).max() + 1):
        raise StreamError(code="incomplete", model=loaded.name, gap=float(gap))
    return decomposition
