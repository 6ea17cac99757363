"""One traced run: read and write a model at named hook points, and keep what was read in one cache.

    trace = run(loaded, inputs, cache=lambda name: name.endswith("hook_pattern"))
    trace.cache["pattern", 3]                      # blocks.3.attn.hook_pattern, [batch, head, query, key]

    def knock_out(z, name):                        # a write: return the new value
        z = z.clone(); z[:, :, 5] = 0; return z
    patched = run(loaded, inputs, hooks=[("blocks.1.attn.hook_z", knock_out)])

Reading and writing share one vocabulary (:mod:`attnviz.tracing.names`, TransformerLens' names), and
one mechanism: the attention handler (:mod:`attnviz.tracing.handler`) for the points inside an
attention call, the permanent module hooks (:mod:`attnviz.tracing.points`) for the points at a block's
boundary. A hook function gets ``(tensor, name)`` and returns a replacement, or None to leave it.

:func:`tracing` is the same as a context manager, around any calls of the model (``generate()`` too).
On the ``output_attentions`` path (models outside the attention interface) only the boundary points and
the patterns the model returns can be read, and nothing inside attention can be written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers.integrations.sdpa_attention import repeat_kv

from attnviz.errors import StreamError
from attnviz.result import AttentionKind
from attnviz.tracing import points as point_hooks
from attnviz.tracing.handler import CaptureSession, routing
from attnviz.tracing.interface import additive_mask, handling
from attnviz.tracing.modules import accepted_kwargs, weight_in_out
from attnviz.tracing.names import (
    ATTENTION_POINTS,
    NameFilter,
    Stack,
    attention_point,
    block_point,
    matcher,
    norm_point,
    prefix,
)
from attnviz.tracing.norms import NormScale, norm_scale, same
from attnviz.tracing.points import BlockInfo, ModelPoints
from attnviz.tracing.probe import AttentionSite

HookFn = Callable[[torch.Tensor, str], "torch.Tensor | None"]
Hooks = Sequence[tuple[NameFilter, HookFn]]


@dataclass(frozen=True)
class Event:
    """One step of the traced pass, in the order it ran: ``what`` happened at ``name``.

    ``what`` is "block_in", "block_out", "attention" (``value`` is hook_z), "projected" (W_O's output),
    "norm" (``value`` is ``(input, output)``) or "unembed". ``subject`` is the site, the norm module or
    the block's stack.
    """

    what: str
    name: str
    layer: int | None
    subject: Any
    value: Any


class ActivationCache(Mapping):
    """What a traced run read, by hook name, with TransformerLens' shorthand keys.

    ``cache["blocks.3.attn.hook_pattern"]``, ``cache["pattern", 3]`` (the model's main kind of attention),
    ``cache["pattern", 3, "cross"]`` and ``cache["resid_pre", 3]`` name the same kind of thing.
    ``hook_result`` is computed on access from ``hook_z`` and W_O when it was not stored itself.
    """

    def __init__(self, tensors: dict[str, torch.Tensor], family: str, sites: dict[AttentionKind, list[AttentionSite]],
                 norms: dict[str, tuple[torch.nn.Module, torch.Tensor, torch.Tensor]]):
        self._tensors = tensors
        self.family = family
        self._sites = sites
        self._norms = norms

    def name_of(self, key: str | tuple) -> str:
        if isinstance(key, str):
            return key
        point, layer, *rest = key
        kind: AttentionKind = rest[0] if rest else ("encoder" if self.family == "encoder" else (
            "encoder" if self.family == "encoder-decoder" and point.startswith("enc") else "decoder"))
        if point in ATTENTION_POINTS:
            return attention_point(kind, int(layer), point, self.family)
        stack: Stack = "encoder" if kind == "encoder" else "decoder"
        return block_point(stack, int(layer), point, self.family)

    def __getitem__(self, key: str | tuple) -> torch.Tensor:
        name = self.name_of(key)
        if name in self._tensors:
            return self._tensors[name]
        if name.endswith(".hook_result"):
            return self._result(name)
        raise KeyError(f"{name} was not traced (ask for it with cache=...)")

    def __iter__(self) -> Iterator[str]:
        return iter(self._tensors)

    def __len__(self) -> int:
        return len(self._tensors)

    def _result(self, name: str) -> torch.Tensor:
        """Each head's output through its slice of W_O: ``[batch, pos, head, d_model]`` (no bias)."""
        z = self[name.replace(".hook_result", ".hook_z")]  # [B, Q, H, D]
        site = self.site_of(name)
        if site.output_projection is None:
            raise StreamError(code="no_output_projection", kind=site.kind, layer=site.layer)
        weight, _ = weight_in_out(site.output_projection)  # [H·D, d]
        w_o = torch.from_numpy(weight).to(z.device, z.dtype).reshape(site.heads, site.head_dim, -1)
        return torch.einsum("bqhd,hdm->bqhm", z, w_o)

    def site_of(self, name: str) -> AttentionSite:
        for kind, sites in self._sites.items():
            for site in sites:
                if attention_point(kind, site.layer, "z", self.family).rsplit(".", 1)[0] == name.rsplit(".", 1)[0]:
                    return site
        raise KeyError(f"{name} names no attention layer of this model")

    def norm(self, name: str, row: int = 0) -> NormScale:
        """The norm called ``name`` (``blocks.2.ln1``, ``ln_final``) linearised on batch row ``row``."""
        name = name.removesuffix(".hook_scale").removesuffix(".hook_out")
        if name not in self._norms:
            raise KeyError(f"the norm {name} was not traced (ask for {name}.hook_scale)")
        module, x, y = self._norms[name]
        return norm_scale(module, x[row], y[row])

    def norm_call(self, name: str, row: int = 0) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
        """The norm called ``name`` as it ran on batch row ``row``: ``(module, input, output)``."""
        name = name.removesuffix(".hook_scale").removesuffix(".hook_out")
        if name not in self._norms:
            raise KeyError(f"the norm {name} was not traced (ask for {name}.hook_scale)")
        module, x, y = self._norms[name]
        return module, x[row], y[row]

    @property
    def norm_names(self) -> tuple[str, ...]:
        return tuple(self._norms)

    def stack(self, point: str, kind: AttentionKind | None = None) -> torch.Tensor:
        """One point of every layer stacked on a new first axis (``[layer, batch, ...]``)."""
        layers = []
        layer = 0
        while True:
            key = (point, layer) if kind is None else (point, layer, kind)
            try:
                layers.append(self[key])
            except KeyError:
                break
            layer += 1
        if not layers:
            raise KeyError(f"no layer's {point} was traced")
        return torch.stack(layers)


@dataclass(frozen=True)
class Trace:
    """A traced run: the model's outputs, what was read, and (when asked) the run's timeline."""

    outputs: Any
    cache: ActivationCache
    timeline: tuple[Event, ...] = ()
    tokens: Any = None  # TokenSequence of the text read (the encoder side of an encoder-decoder), when traced from text
    decoder_tokens: Any = None  # what an encoder-decoder's decoder read


@dataclass
class _Frame:
    """A block while it runs: its input, what its attention sublayers added, its norms so far."""

    stack: Stack
    layer: int
    pre: torch.Tensor
    added: list[torch.Tensor] = field(default_factory=list)
    norms: int = 0
    last_norm_out: torch.Tensor | None = None


class _SiteRequest:
    """The points of one attention site that the tracer reads or writes (used by the attention handler)."""

    def __init__(self, tracer: Tracer, site: AttentionSite):
        self.tracer, self.site = tracer, site
        self.names = {p: attention_point(site.kind, site.layer, p, tracer.family) for p in ATTENTION_POINTS}
        self.touched = {p for p, n in self.names.items() if tracer.touches(n)}
        self.needs_pattern = bool(self.touched & {"pattern", "attn_scores"})

    def vectors(self, query, key, value):
        """hook_q, hook_k, hook_v in TransformerLens' layout ``[batch, pos, head, d_head]``."""
        out = []
        for point, tensor in (("q", query), ("k", key), ("v", value)):
            if point in self.touched:
                written = self.tracer.visit(self.names[point], tensor.transpose(1, 2))
                if written is not None:
                    tensor = written.transpose(1, 2)
            out.append(tensor)
        return tuple(out)

    def after(self, module, query, key, value, attention_mask, kwargs, weights, output):
        """hook_attn_scores, hook_pattern (a written pattern recomputes the output), hook_z and hook_result."""
        if "attn_scores" in self.touched:
            self.tracer.visit(self.names["attn_scores"], self._scores(module, query, key, attention_mask, kwargs))
        if "pattern" in self.touched and weights is not None:
            written = self.tracer.visit(self.names["pattern"], weights)
            if written is not None:
                groups = query.shape[1] // value.shape[1]
                values = repeat_kv(value, groups) if groups > 1 else value
                output = torch.matmul(written.to(values.dtype), values).transpose(1, 2).contiguous()
        if "z" in self.touched:
            written = self.tracer.visit(self.names["z"], output)
            if written is not None:
                output = written
        if self.tracer.timeline_on:
            self.tracer.event("attention", self.names["z"], self.site.layer, self.site, output.detach())
        return output

    def _scores(self, module, query, key, attention_mask, kwargs):
        if not self.site.plain_formula:
            raise StreamError(code="no_scores", kind=self.site.kind, layer=self.site.layer)
        groups = query.shape[1] // key.shape[1]
        keys = repeat_kv(key, groups) if groups > 1 else key
        scaling = kwargs.get("scaling")
        scores = torch.matmul(query, keys.transpose(2, 3)) * (query.size(-1) ** -0.5 if scaling is None else scaling)
        if kwargs.get("softcap") is not None:
            scores = torch.tanh(scores / kwargs["softcap"]) * kwargs["softcap"]
        mask = additive_mask(module, query, key, attention_mask, kwargs.get("is_causal"))
        return scores if mask is None else scores + mask[:, :, :, : key.shape[-2]]


class Tracer:
    """The listener of one traced run (or several calls of the model inside :func:`tracing`)."""

    def __init__(self, loaded, cache: NameFilter, hooks: Hooks, timeline: bool, keep_grad: bool,
                 session: CaptureSession | None):
        self.loaded = loaded
        self.family = loaded.family
        self.points: ModelPoints = point_hooks.points_of(loaded.model)
        self._wants = matcher(cache)
        self._hook_filters = [(matcher(names), fn) for names, fn in hooks]
        self._decided: dict[str, tuple[bool, tuple[HookFn, ...]]] = {}
        self.timeline_on = timeline
        self.keep_grad = keep_grad
        # Nothing to read or write: the module hooks need not hear of this run (a plain capture costs nothing more)
        self.idle = not timeline and not hooks and (cache is None or cache is False)
        self.tensors: dict[str, torch.Tensor] = {}
        self.norm_io: dict[str, tuple[torch.nn.Module, torch.Tensor, torch.Tensor]] = {}
        self.events: list[Event] = []
        self._frames: list[_Frame] = []
        self._runs: dict[int, int] = {}  # id(block) -> times it ran in this pass
        self._ran: set[Stack] = set()  # stacks whose blocks have run
        self._outside: dict[tuple[Stack, str], int] = {}  # norms outside blocks, counted
        self._projected: dict[int, int] = {}  # id(W_O) -> times it ran (a shared W_O outside found blocks)
        if loaded.capture_path != "interface" or (self.idle and session is None):
            self.session = None  # an idle run leaves attention to whoever handles it already (SDPA, an ablation)
        else:
            self.session = session if session is not None else routing(loaded.sites)
            self.session.requests = {}
            for kind_sites in () if self.idle else loaded.sites.values():
                for site in kind_sites:
                    request = _SiteRequest(self, site)
                    if request.touched or timeline:
                        self.session.requests[(site.kind, site.layer)] = request
        if loaded.capture_path != "interface":
            inside = [n for kind_sites in ({} if self.idle else loaded.sites).values() for s in kind_sites
                      for p, n in _SiteRequest(self, s).names.items() if p != "pattern" and self.touches(n)]
            if inside:
                raise StreamError(code="no_interventions", model=loaded.name)

    # -- the points' bookkeeping

    def _decide(self, name: str) -> tuple[bool, tuple[HookFn, ...]]:
        decided = self._decided.get(name)
        if decided is None:
            decided = (self._wants(name), tuple(fn for wants, fn in self._hook_filters if wants(name)))
            self._decided[name] = decided
        return decided

    def touches(self, name: str) -> bool:
        keep, fns = self._decide(name)
        return keep or bool(fns)

    def visit(self, name: str, tensor: torch.Tensor) -> torch.Tensor | None:
        """Run the hooks of ``name`` on ``tensor``, keep the result if asked; the replacement, or None."""
        keep, fns = self._decide(name)
        written = None
        for fn in fns:
            new = fn(tensor if written is None else written, name)
            if new is not None:
                written = new
        if keep:
            final = tensor if written is None else written
            if self.keep_grad and final.requires_grad:
                final.retain_grad()
                self.tensors[name] = final
            else:
                self.tensors[name] = final.detach()
        return written

    def event(self, what: str, name: str, layer: int | None, subject, value) -> None:
        self.events.append(Event(what, name, layer, subject, value))

    # -- the module hooks' listener (see attnviz.tracing.points)

    def block_in(self, block: BlockInfo, hidden: torch.Tensor) -> torch.Tensor | None:
        run = self._runs.get(id(block.module), 0)
        self._runs[id(block.module)] = run + 1
        layer = block.layers[run % len(block.layers)]
        self._ran.add(block.stack)
        written = self.visit(block_point(block.stack, layer, "resid_pre", self.family), hidden)
        frame = _Frame(block.stack, layer, hidden if written is None else written)
        self._frames.append(frame)
        if self.timeline_on:
            self.event("block_in", block_point(block.stack, layer, "resid_pre", self.family), layer, block.stack,
                       frame.pre.detach())
        return written

    def block_out(self, block: BlockInfo, output: torch.Tensor) -> torch.Tensor | None:
        if not self._frames:
            return None
        frame = self._frames.pop()
        written = None
        mlp_name = block_point(frame.stack, frame.layer, "mlp_out", self.family)
        if self.touches(mlp_name):
            post_ln = frame.last_norm_out is not None and same(frame.last_norm_out, output, 1e-6)
            if post_ln and not self._decide(mlp_name)[1]:
                pass  # read-only: a post-LN block simply has no hook_mlp_out
            elif post_ln:
                raise StreamError(code="post_ln_mlp", model=self.loaded.name)
            else:
                mlp = output - frame.pre - sum(frame.added) if frame.added else output - frame.pre
                new_mlp = self.visit(mlp_name, mlp)
                if new_mlp is not None:
                    written = output = output + (new_mlp - mlp)
        post = self.visit(block_point(frame.stack, frame.layer, "resid_post", self.family), output)
        if post is not None:
            written = output = post
        if self.timeline_on:
            self.event("block_out", block_point(frame.stack, frame.layer, "resid_post", self.family), frame.layer,
                       frame.stack, output.detach())
        return written

    def norm(self, module: torch.nn.Module, stack: Stack, x: torch.Tensor, y: torch.Tensor) -> None:
        frame = self._frames[-1] if self._frames else None
        if frame is not None:
            frame.norms += 1
            name = norm_point(frame.stack, frame.layer, frame.norms, self.family)
            mlp_name = block_point(frame.stack, frame.layer, "mlp_out", self.family)
            # a sandwich norm on the sublayer's output (Gemma 2); only hook_mlp_out needs to know, and the
            # comparison reads two residual-sized tensors, so it is skipped when no one asked for that point
            if frame.added and self.touches(mlp_name) and same(x, frame.added[-1]):
                frame.added[-1] = y
            frame.last_norm_out = y
            layer = frame.layer
        else:
            place = "final" if stack in self._ran else "embed"
            count = self._outside.get((stack, place), 0) + 1
            self._outside[(stack, place)] = count
            name = norm_point(stack, None, count, self.family, final=place == "final")
            if place == "final" and count > 1:
                name = f"{name}{count}"
            layer = None
        self.visit(f"{name}.hook_out", y)
        if self.touches(f"{name}.hook_scale") or self.timeline_on:
            self.norm_io[name] = (module, x.detach(), y.detach())
        if self.timeline_on:
            self.event("norm", name, layer, module, (x.detach(), y.detach()))

    def projected(self, sites: Sequence[AttentionSite], module: torch.nn.Module, output: torch.Tensor
                  ) -> torch.Tensor | None:
        frame = self._frames[-1] if self._frames else None
        site = next((s for s in sites if frame is not None and s.layer == frame.layer), None)
        if site is None:  # no block found around it: the n-th run of a shared W_O is its n-th site
            run = self._projected.get(id(module), 0)
            self._projected[id(module)] = run + 1
            site = sites[run % len(sites)]
        stack: Stack = "encoder" if site.kind == "encoder" else "decoder"
        point = "cross_attn_out" if site.kind == "cross" else "attn_out"
        name = block_point(stack, site.layer, point, self.family)
        written = self.visit(name, output)
        final = output if written is None else written
        if frame is not None:
            frame.added.append(final)
        if self.timeline_on:
            self.event("projected", name, site.layer, site, final.detach())
        return written

    def projection_input(self, sites: Sequence[AttentionSite], role: str, x: torch.Tensor) -> None:
        frame = self._frames[-1] if self._frames else None
        site = next((s for s in sites if frame is None or s.layer == frame.layer), sites[0])
        self.visit(attention_point(site.kind, site.layer, f"{role}_input", self.family), x)

    def unembed(self, x: torch.Tensor) -> None:
        self.visit("unembed.hook_in", x)
        if self.timeline_on:
            self.event("unembed", "unembed.hook_in", None, None, x.detach())

    def trace(self, outputs) -> Trace:
        if self.loaded.capture_path != "interface" and not self.idle:  # the patterns the model returned
            self._returned_patterns(outputs)
        cache = ActivationCache(self.tensors, self.family, self.loaded.sites, self.norm_io)
        return Trace(outputs, cache, tuple(self.events))

    def _returned_patterns(self, outputs) -> None:
        from attnviz.tracing.probe import returned_attentions

        for kind, maps in returned_attentions(outputs, self.family).items():
            for layer, weights in enumerate(maps):
                self.visit(attention_point(kind, layer, "pattern", self.family), weights)


@contextmanager
def tracing(loaded, *, cache: NameFilter = None, hooks: Hooks = (), timeline: bool = False,
            keep_grad: bool = False, session: CaptureSession | None = None) -> Iterator[Tracer]:
    """Trace every call of ``loaded.model`` inside the block (this thread only).

    ``cache``: the names to keep (a name, several, a predicate, or True for all). ``hooks``: ``(names,
    fn)`` pairs; ``fn(tensor, name)`` returns a replacement or None. ``timeline``: keep the run's
    :class:`Event` order (what the decomposition walks). ``keep_grad``: keep tensors in the autograd
    graph, with ``retain_grad()`` (attribution patching). ``session``: a capture session to extend (the
    capture's buffers are filled in the same pass).
    """
    tracer = Tracer(loaded, cache, hooks, timeline, keep_grad, session)
    # An idle tracer leaves the module hooks to whoever listens already: inside an outer tracing(), a plain
    # capture's pass is still read at the block-boundary points the outer one asked for.
    token = None if tracer.idle else point_hooks.active.set(tracer)
    try:
        if tracer.session is not None:
            with handling(tracer.session):
                yield tracer
        else:
            yield tracer
    finally:
        if token is not None:
            point_hooks.active.reset(token)
        if tracer.session is not None:
            tracer.session.requests = {}


def run(loaded, inputs: Mapping[str, torch.Tensor], *, cache: NameFilter = None, hooks: Hooks = (),
        timeline: bool = False, keep_grad: bool = False, session: CaptureSession | None = None,
        inference: bool = True, **model_kwargs) -> Trace:
    """One forward pass of ``loaded`` on ``inputs`` (as :func:`attnviz.capturing.model_inputs` makes them), traced.

    Without ``keep_grad`` the pass runs under ``torch.inference_mode()``; ``inference=False`` leaves autograd
    as the caller set it (attributions that take gradients through the pass, under ``no_grad`` or not).
    """
    kwargs = {**accepted_kwargs(loaded.model, dict(inputs)), "use_cache": False, **model_kwargs}
    with tracing(loaded, cache=cache, hooks=hooks, timeline=timeline, keep_grad=keep_grad, session=session) as tracer:
        if keep_grad:
            with torch.enable_grad():
                outputs = loaded.model(**kwargs)
        elif not inference:
            outputs = loaded.model(**kwargs)
        else:
            with torch.inference_mode():
                outputs = loaded.model(**kwargs)
    return tracer.trace(outputs)


def all_names(loaded) -> tuple[str, ...]:
    """Every attention and block point name of ``loaded`` (norm names appear when a run meets them)."""
    names = [attention_point(kind, site.layer, p, loaded.family)
             for kind, sites in loaded.sites.items() for site in sites for p in ATTENTION_POINTS]
    stacks = {"encoder": loaded.shape.n_layers.get("encoder", 0), "decoder": loaded.shape.n_layers.get("decoder", 0)}
    for stack, n in stacks.items():
        for layer in range(n):
            names += [block_point(stack, layer, p, loaded.family) for p in ("resid_pre", "attn_out", "mlp_out",
                                                                             "resid_post")]
            if stack == "decoder" and "cross" in loaded.sites:
                names.append(block_point(stack, layer, "cross_attn_out", loaded.family))
    return tuple(names)


__all__ = ["ActivationCache", "Event", "HookFn", "Trace", "Tracer", "all_names", "prefix", "run", "tracing"]
