"""Residual decomposition: what the embeddings, every attention head and every MLP block wrote into the stream.

One forward pass of the model, as it runs for a capture. Each head's output ``(Q, H, D)`` is taken at
the capture point (the same :class:`~attnviz.tracing.handler.CaptureSession` the interventions use)
and mapped through its slice of W_O; everything else is read from the real pass:

* each block's input and output (``h_l`` and ``h_{l+1}``), so the MLP is what the block added that
  the attention did not: ``mlp_l = h_{l+1} − h_l − attn_l``, the same for pre-LN and for parallel
  attention + MLP (GPT-J, GPT-NeoX, Phi);
* every norm call inside a block, with its real input. A norm on a sublayer's output (Gemma 2's and
  OLMo 2's sandwich norms) is linear once its per-position scale is known, so it is applied to each
  head; a norm on the residual itself (post-LN BERT, BART, Marian) is applied to every component
  written so far (centred, times the real scale and γ; its β becomes a bias term), as Kobayashi et
  al. (2021) do. The final norm's scale is kept for the direct logit attribution and the lens.

Completeness is checked, not assumed: the components must add up to the stream's real final
residual, and each layer's heads plus the W_O bias to what the model's W_O produced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from attnviz.capturing.run import accepted_kwargs, model_inputs, routing_session
from attnviz.errors import AttnvizError
from attnviz.models.loading import LoadedModel
from attnviz.models.weights import weight_in_out
from attnviz.result import AttentionKind, TokenSequence
from attnviz.tracing.handler import CaptureSession
from attnviz.tracing.interface import handling

NormKind = Literal["layernorm", "rmsnorm"]
_CLOSE = 1e-3  # relative distance under which two residual-sized vectors are "the same tensor" (a sublayer is far more)


class DecompositionError(AttnvizError):
    """The residual stream of this model cannot be split into head and MLP contributions."""

    default_code = "no_decomposition"


@dataclass(frozen=True)
class NormScale:
    """A norm as it acted in the real pass: ``y = (x − mean(x) if layernorm) · scale[pos] · weight + bias``."""

    kind: NormKind
    scale: np.ndarray  # [pos]
    weight: np.ndarray  # [d] (Gemma's 1 + w already added)
    bias: np.ndarray | None  # [d]
    eps: float = 1e-5

    def normalise(self, x: np.ndarray) -> np.ndarray:
        """The norm applied afresh to a whole residual ``[..., pos, d]``, with that residual's own scale (the lens)."""
        x = x.astype(np.float64)
        if self.kind == "layernorm":
            x = x - x.mean(axis=-1, keepdims=True)
        scale = 1 / np.sqrt((x * x).mean(axis=-1, keepdims=True) + self.eps)
        return (x * scale * self.weight + (0 if self.bias is None else self.bias)).astype(np.float32)

    def apply(self, component: np.ndarray) -> np.ndarray:
        """The norm applied to one component ``[..., pos, d]`` of its input (β left out: it is a term of its own)."""
        if self.kind == "layernorm":
            component = component - component.mean(axis=-1, keepdims=True)
        return component * self.scale[:, None] * self.weight


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
# Recording the real pass


class _Recorder(CaptureSession):
    """The interventions' routing session, also keeping each wanted head output ``(Q, H, D)`` in call order."""

    def __init__(self, base: CaptureSession, events: list, wanted: set[AttentionKind]):
        super().__init__(sites=base.sites, applications=base.applications)
        self._events = events
        self._wanted = wanted

    def attend(self, module, query, key, value, attention_mask, kwargs):
        per_pass = self.applications.get(id(module))
        site = self.sites.get((id(module), self._calls.get(id(module), 0) % per_pass)) if per_pass else None
        output, weights = super().attend(module, query, key, value, attention_mask, kwargs)
        if site is not None and site.kind in self._wanted:
            self._events.append(("attention", site, output[0].detach().float()))  # (Q, H, D)
        return output, weights


def _is_norm(module: torch.nn.Module) -> bool:
    return isinstance(module, torch.nn.LayerNorm) or "norm" in type(module).__name__.lower()


def _blocks(loaded: LoadedModel, kind: AttentionKind) -> list[torch.nn.Module]:
    """The block (the ModuleList entry) holding each layer's attention module."""
    parents: dict[int, tuple[torch.nn.Module, torch.nn.Module]] = {}
    for parent in loaded.model.modules():
        for child in parent.children():
            parents[id(child)] = (parent, child)
    blocks = []
    for site in loaded.sites[kind]:
        # The outermost ModuleList entry holding the module: T5's block is itself a list of sublayers.
        node, found = site.module, None
        while id(node) in parents:
            if isinstance(parents[id(node)][0], torch.nn.ModuleList):
                found = node
            node = parents[id(node)][0]
        node = found
        if node is None:
            raise DecompositionError(f"{loaded.name}'s {kind} layer {site.layer} sits in no list of blocks.",
                                     code="no_blocks", model=loaded.name)
        blocks.append(node)
    if len({id(b) for b in blocks}) != len(blocks):  # ALBERT runs one block for every layer
        raise DecompositionError(f"{loaded.name} shares one block between layers, so a layer's contribution cannot "
                                 "be told from another's.", code="shared_blocks", model=loaded.name)
    return blocks


def _tensor_out(output) -> torch.Tensor:
    return output[0] if isinstance(output, tuple) else output


def _record(loaded: LoadedModel, kind: AttentionKind, inputs: dict) -> tuple[list, object]:
    """Run the model once; return the timeline of block, attention, norm and W_O events, and the outputs."""
    events: list = []
    wanted = {kind, "cross"} if loaded.family == "encoder-decoder" and kind == "decoder" else {kind}
    blocks = _blocks(loaded, kind)
    index = {id(b): layer for layer, b in enumerate(blocks)}
    projections = {id(s.output_projection): s for k in wanted for s in loaded.sites.get(k, ())}
    hooks = []

    def block_in(module, args, kwargs):
        x = args[0] if args else kwargs.get("hidden_states")
        events.append(("block_in", index[id(module)], x[0].detach().float()))

    def block_out(module, args, output):
        events.append(("block_out", index[id(module)], _tensor_out(output)[0].detach().float()))

    def norm_call(module, args, output):
        if args and isinstance(args[0], torch.Tensor):
            events.append(("norm", module, (args[0][0].detach().float(), _tensor_out(output)[0].detach().float())))

    def unembedded(module, args, output):
        events.append(("unembedding", module, args[0][0].detach().float()))

    def projected(module, args, output):
        events.append(("projected", projections[id(module)], _tensor_out(output)[0].detach().float()))

    try:
        for block in blocks:
            hooks.append(block.register_forward_pre_hook(block_in, with_kwargs=True))
            hooks.append(block.register_forward_hook(block_out))
        for module in loaded.model.modules():
            if _is_norm(module) and not list(module.children()):
                hooks.append(module.register_forward_hook(norm_call))
            if id(module) in projections:
                hooks.append(module.register_forward_hook(projected))
        head = loaded.model.get_output_embeddings() if kind == "decoder" else None
        if isinstance(head, torch.nn.Module):
            hooks.append(head.register_forward_hook(unembedded))
        session = _Recorder(routing_session(loaded), events, wanted)
        with handling(session), torch.inference_mode():
            outputs = loaded.model(**accepted_kwargs(loaded.model, inputs), use_cache=False)
    except AttnvizError:
        raise
    except Exception as error:
        raise DecompositionError(f"{loaded.name} failed while reading the text ({type(error).__name__}).",
                                 code="decompose_failed", model=loaded.name, error=type(error).__name__) from error
    finally:
        for hook in hooks:
            hook.remove()
    return events, outputs


# ---------------------------------------------------------------------------------------------------------------
# Norms, linearised


def _same(a: torch.Tensor, b: torch.Tensor, tolerance: float = _CLOSE) -> bool:
    if a.shape != b.shape:
        return False
    return float((a - b).norm()) <= tolerance * (float(b.norm()) + 1e-6)


def _epsilon(module: torch.nn.Module) -> float:
    for name in ("eps", "variance_epsilon", "epsilon"):
        value = getattr(module, name, None)
        if isinstance(value, (int, float)):
            return float(value)
    shape = getattr(module, "normalized_shape", None)
    return 1e-5 if shape is not None else 1e-6


def norm_scale(module: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> NormScale:
    """The norm ``module`` as it turned ``x`` into ``y`` ``[pos, d]``: which formula, its per-position scale.

    The formula is not guessed from the class name (T5's "LayerNorm" is an RMSNorm, Gemma's weight is
    1 + w): each candidate is applied to ``x`` and the one that reproduces ``y`` is kept.
    """
    x64, y64 = x.double(), y.double()
    d = x.shape[-1]
    weight = getattr(module, "weight", None)
    weight = torch.ones(d, dtype=torch.float64) if weight is None else weight.detach().double().cpu()
    bias = getattr(module, "bias", None)
    bias = None if bias is None else bias.detach().double().cpu()
    eps = _epsilon(module)
    centred = x64 - x64.mean(-1, keepdim=True)
    candidates = {"layernorm": (centred, 1 / torch.sqrt(centred.pow(2).mean(-1) + eps)),
                  "rmsnorm": (x64, 1 / torch.sqrt(x64.pow(2).mean(-1) + eps))}
    for kind, (base, scale) in candidates.items():
        for gamma in (weight, 1 + weight):
            rebuilt = base * scale[:, None] * gamma + (0 if bias is None else bias)
            if _same(rebuilt, y64, 1e-4):
                return NormScale(kind, scale.float().numpy(), gamma.float().numpy(),
                                 None if bias is None else bias.float().numpy(), eps)
    raise DecompositionError(f"attnviz cannot reproduce the norm {type(module).__name__} as a LayerNorm or an RMSNorm, "
                             "so it cannot carry contributions through it.", code="unknown_norm",
                             norm=type(module).__name__)


# ---------------------------------------------------------------------------------------------------------------
# Splitting the stream


def _w_o(site) -> tuple[torch.Tensor, torch.Tensor | None]:
    """W_O as ``[heads, head_dim, d]`` and its bias ``[d]``."""
    if site.output_projection is None:
        raise DecompositionError(f"attnviz found no output projection W_O for {site.kind} layer {site.layer}.",
                                 code="no_output_projection", kind=site.kind, layer=site.layer)
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
        raise DecompositionError(f"attnviz did not see every {kind} block of {loaded.name} run once.",
                                 code="missing_blocks", model=loaded.name, kind=kind)
    stream = _Stream(grouped[0][1].clone(), {}, {}, {}, torch.zeros_like(grouped[0][1]))
    residuals = [grouped[0][1]]
    any_post = False
    for layer, block_input, inside, out in grouped:
        if not _same(block_input, residuals[-1], 1e-6):  # something outside the blocks changed the stream
            raise DecompositionError(f"{loaded.name}'s {kind} block {layer} does not read what block {layer - 1} "
                                     "wrote.",
                                     code="broken_stream", model=loaded.name, kind=kind, layer=layer)
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
        raise DecompositionError("The LM head does not read the final norm's output, so attnviz cannot attribute the "
                                 "logits to the parts of the stream.", code="unembedding_input")
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
            raise DecompositionError(f"{loaded.name}'s {site.kind} layer {site.layer}: the heads through W_O do not "
                                     "add up to what its output projection produced.", code="projection_mismatch",
                                     model=loaded.name, kind=site.kind, layer=site.layer)


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
    if loaded.capture_path != "interface":
        raise DecompositionError(f"{loaded.name} computes attention outside transformers' attention interface, so "
                                 "attnviz cannot read each head's output.", code="no_head_outputs", model=loaded.name)
    kind: AttentionKind = "encoder" if loaded.family == "encoder" else "decoder"
    inputs, source, reads = model_inputs(loaded, text, target, max_tokens=max_tokens)
    events, outputs = _record(loaded, kind, inputs)
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
        raise DecompositionError(f"The parts of {loaded.name}'s residual stream do not add up to it "
                                 f"(off by {gap:.2g}).",
                                 code="incomplete", model=loaded.name, gap=float(gap))
    return decomposition
