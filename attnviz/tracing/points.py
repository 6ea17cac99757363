"""The module hooks of the hook points at a block's boundary, installed once per model.

Every block, norm, output projection W_O, query/key projection and the LM head gets one permanent hook
when the model is loaded. A hook does nothing unless this thread has a :class:`~attnviz.tracing.trace.Tracer`
active (a ``ContextVar``), so one shared model serves many sessions, traced or not, and no hook is ever
added or removed while another thread runs the model.

Blocks are found once, here: the outermost ``ModuleList`` entry that holds a layer's attention module
(T5's block is itself a list of sublayers). A block that serves several layers (ALBERT runs one block
for all of them) is told apart by how many times it has run in the pass.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from transformers.pytorch_utils import Conv1D

from attnviz.errors import StreamError
from attnviz.result import AttentionKind, Family
from attnviz.tracing.names import Stack, stack_of
from attnviz.tracing.norms import is_norm
from attnviz.tracing.probe import AttentionSite


class BlockListener(Protocol):
    """What the active tracer answers to (see :class:`~attnviz.tracing.trace.Tracer`)."""

    def block_in(self, block: BlockInfo, hidden: torch.Tensor) -> torch.Tensor | None: ...
    def block_out(self, block: BlockInfo, output: torch.Tensor) -> torch.Tensor | None: ...
    def norm(self, module: torch.nn.Module, stack: Stack, x: torch.Tensor, y: torch.Tensor) -> None: ...
    def projected(self, sites: Sequence[AttentionSite], module: torch.nn.Module, output: torch.Tensor
                  ) -> torch.Tensor | None: ...
    def projection_input(self, sites: Sequence[AttentionSite], role: str, x: torch.Tensor) -> None: ...
    def unembed(self, x: torch.Tensor) -> None: ...


active: ContextVar[BlockListener | None] = ContextVar("attnviz_tracer", default=None)


@dataclass(frozen=True)
class BlockInfo:
    """A block module and the layers of ``stack`` it computes, in the order it runs them in one pass."""

    module: torch.nn.Module
    stack: Stack
    layers: tuple[int, ...]


@dataclass(frozen=True)
class ModelPoints:
    """Where a model's hook points are: its blocks per stack (one entry per layer), and its LM head."""

    blocks: dict[Stack, tuple[BlockInfo, ...]]  # stack -> the block of each layer (a shared block repeats)
    lm_head: torch.nn.Module | None
    problem: str | None = None  # why the blocks could not be found (the boundary points are then missing)


_SEPARATE = (("q_proj", "k_proj", "v_proj"), ("query", "key", "value"), ("q", "k", "v"))
_FUSED = ("c_attn", "qkv_proj", "query_key_value", "Wqkv")


def qkv_projections(attention: torch.nn.Module) -> tuple[list[torch.nn.Module] | None, bool]:
    """The query/key/value projections of an attention module: three modules, or one fused (``fused=True``)."""
    for names in _SEPARATE:
        modules = [getattr(attention, n, None) for n in names]
        if all(isinstance(m, (torch.nn.Linear, Conv1D)) for m in modules):
            return modules, False
    for name in _FUSED:
        module = getattr(attention, name, None)
        if isinstance(module, (torch.nn.Linear, Conv1D)):
            return [module], True
    return None, False


def _outermost_list_entry(parents: dict[int, torch.nn.Module], module: torch.nn.Module) -> torch.nn.Module | None:
    node, found = module, None
    while id(node) in parents:
        parent = parents[id(node)]
        if isinstance(parent, torch.nn.ModuleList):
            found = node
        node = parent
    return found


def find_blocks(model: torch.nn.Module, sites: dict[AttentionKind, list[AttentionSite]]
                ) -> tuple[dict[Stack, tuple[BlockInfo, ...]], str | None]:
    """The block of every layer of every stack, or the reason none could be found."""
    parents = {id(child): parent for parent in model.modules() for child in parent.children()}
    found: dict[Stack, tuple[BlockInfo, ...]] = {}
    for kind in ("encoder", "decoder"):
        kind_sites = sites.get(kind, [])
        if not kind_sites:
            continue
        if kind_sites[0].module is None:  # the output_attentions path: the list with one entry per layer
            lists = [(path, m) for path, m in model.named_modules()
                     if isinstance(m, torch.nn.ModuleList) and len(m) == len(kind_sites)
                     and (len(sites) < 2 or kind in path.split(".")[-2:-1] + path.split("."))]
            if not lists:
                return {}, f"no list of {len(kind_sites)} {kind} blocks was found"
            found[stack_of(kind)] = tuple(BlockInfo(block, stack_of(kind), (layer,))
                                          for layer, block in enumerate(lists[0][1]))
            continue
        modules = []
        for site in kind_sites:
            block = _outermost_list_entry(parents, site.module)
            if block is None:
                return {}, f"its {kind} layer {site.layer} sits in no list of blocks"
            modules.append(block)
        layers_of: dict[int, list[int]] = {}
        for layer, block in enumerate(modules):
            layers_of.setdefault(id(block), []).append(layer)
        found[stack_of(kind)] = tuple(BlockInfo(block, stack_of(kind), tuple(layers_of[id(block)]))
                                      for block in modules)
    return found, None


_installed: weakref.WeakKeyDictionary[torch.nn.Module, ModelPoints] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _first(value: Any) -> torch.Tensor:
    return value[0] if isinstance(value, (tuple, list)) else value


def _replace_first(value: Any, tensor: torch.Tensor) -> Any:
    if isinstance(value, tuple):
        return (tensor, *value[1:])
    if isinstance(value, list):
        return [tensor, *value[1:]]
    return tensor


def install(model: torch.nn.Module, sites: dict[AttentionKind, list[AttentionSite]], family: Family) -> ModelPoints:
    """Give ``model`` its permanent point hooks (once; later calls return what the first found)."""
    with _lock:
        if model in _installed:
            return _installed[model]
        blocks, problem = find_blocks(model, sites)
        infos = {id(info.module): info for stack in blocks.values() for info in stack}
        projections: dict[int, list[AttentionSite]] = {}
        inputs: dict[int, list[tuple[str, AttentionSite]]] = {}
        for kind_sites in sites.values():
            for site in kind_sites:
                if site.output_projection is not None:
                    projections.setdefault(id(site.output_projection), []).append(site)
                if site.module is not None:
                    modules, fused = qkv_projections(site.module)
                    if modules is not None:
                        inputs.setdefault(id(modules[0]), []).append(("q", site))
                        inputs.setdefault(id(modules[-1] if not fused else modules[0]), []).append(("k", site))
        single: Stack = "encoder" if family == "encoder" else "decoder"
        norm_stack: dict[int, Stack] = {}
        for path, module in model.named_modules():
            if is_norm(module):
                in_decoder = family == "encoder-decoder" and "decoder" in path.split(".")
                norm_stack[id(module)] = "decoder" if in_decoder else ("encoder" if family == "encoder-decoder"
                                                                       else single)
        lm_head = model.get_output_embeddings() if family != "encoder" else None
        lm_head = lm_head if isinstance(lm_head, torch.nn.Module) else None

        def block_in(module, args, kwargs):
            listener = active.get()
            if listener is None:
                return None
            hidden = args[0] if args else kwargs.get("hidden_states")
            if not isinstance(hidden, torch.Tensor):
                return None
            written = listener.block_in(infos[id(module)], hidden)
            if written is None:
                return None
            if args:
                return (written, *args[1:]), kwargs
            return args, {**kwargs, "hidden_states": written}

        def block_out(module, args, kwargs, output):
            listener = active.get()
            if listener is None:
                return None
            written = listener.block_out(infos[id(module)], _first(output))
            return None if written is None else _replace_first(output, written)

        def norm_out(module, args, output):
            listener = active.get()
            if listener is not None and args and isinstance(args[0], torch.Tensor):
                listener.norm(module, norm_stack.get(id(module), single), args[0], _first(output))

        def projected(module, args, output):
            listener = active.get()
            if listener is None:
                return None
            written = listener.projected(projections[id(module)], module, _first(output))
            return None if written is None else _replace_first(output, written)

        def projection_input(module, args):
            listener = active.get()
            if listener is not None and args and isinstance(args[0], torch.Tensor):
                for role, site in inputs[id(module)]:
                    listener.projection_input([site], role, args[0])

        def unembed(module, args):
            listener = active.get()
            if listener is not None and args and isinstance(args[0], torch.Tensor):
                listener.unembed(args[0])

        for module in model.modules():
            if id(module) in infos:
                module.register_forward_pre_hook(block_in, with_kwargs=True)
                module.register_forward_hook(block_out, with_kwargs=True)
            if is_norm(module) and not list(module.children()):
                module.register_forward_hook(norm_out)
            if id(module) in projections:
                module.register_forward_hook(projected)
            if id(module) in inputs:
                module.register_forward_pre_hook(projection_input)
        if lm_head is not None:
            lm_head.register_forward_pre_hook(unembed)
        points = ModelPoints(blocks, lm_head, problem)
        _installed[model] = points
        return points


def points_of(model: torch.nn.Module) -> ModelPoints:
    points = _installed.get(model)
    if points is None:
        raise StreamError(code="no_hook_points")
    return points
