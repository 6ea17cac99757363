"""Attention rollout and attention flow (Abnar & Zuidema, 2020), with the residual connection.

Each layer's attention, averaged over its heads, is mixed with the identity for the residual stream:
``Â = ½·A + ½·I``, rows renormalised. *Rollout* multiplies these layer by layer: ``R_l = Â_l ⋯ Â_0``,
so ``R_l[i, j]`` is how much of input token ``j`` reaches position ``i`` after layer ``l`` if mixing
were linear. *Flow* treats the same matrices as capacities of a layered graph (position ``i`` after
layer ``m`` linked to position ``j`` before it with capacity ``Â_m[i, j]``) and asks for the maximum
flow from position ``i`` at the top to input token ``j``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attnviz.errors import LayerRequestError
from attnviz.result import AttentionKind, AttentionResult

FLOW_MAX_TOKENS = 48  # one maximum-flow problem per cell: n² of them, each on a graph of (layers+1)·n nodes
_FLOW_SCALE = 1_000_000  # scipy's maximum flow takes integer capacities: weights in millionths


@dataclass(frozen=True)
class LayerMixing:
    """``maps[i]`` relates positions after model layer ``layers[i]`` (rows) to input tokens (columns)."""

    method: str  # "rollout" or "flow"
    kind: AttentionKind
    layers: tuple[int, ...]
    maps: np.ndarray  # [layer, query, input token], float64

    def at(self, layer: int) -> np.ndarray:
        return self.maps[self.layers.index(layer)]


def residual_attention(layer_weights: np.ndarray) -> np.ndarray:
    """``½·mean over heads + ½·I``, rows summing to 1: one layer's mixing with the residual stream."""
    mean = np.nan_to_num(np.asarray(layer_weights, dtype=np.float64)).mean(axis=0)
    mixed = 0.5 * mean + 0.5 * np.eye(mean.shape[-1])
    return mixed / mixed.sum(axis=-1, keepdims=True)


def _mixing_stack(result: AttentionResult, kind: AttentionKind, up_to: int | None) -> list[np.ndarray]:
    if kind == "cross" or kind not in result.arrays:
        raise LayerRequestError(code="no_rollout", kind=kind)
    n_layers = result.shape.n_layers[kind]
    last = n_layers - 1 if up_to is None else up_to
    needed = tuple(range(last + 1))
    if not set(needed) <= set(result.layers[kind]):
        raise LayerRequestError(code="rollout_needs_layers", kind=kind, n_layers=last + 1)
    return [residual_attention(result.attention(kind, layer)) for layer in needed]


def rollout(result: AttentionResult, kind: AttentionKind, up_to: int | None = None) -> LayerMixing:
    """Rollout after every layer from 0 to ``up_to`` (default: the last)."""
    stack = _mixing_stack(result, kind, up_to)
    maps, running = [], np.eye(stack[0].shape[0])
    for mixing in stack:
        running = mixing @ running
        maps.append(running)
    return LayerMixing("rollout", kind, tuple(range(len(stack))), np.stack(maps))


def _layered_graph(stack: list[np.ndarray]):
    """Sparse capacities: node ``m·n + p`` is position ``p`` before layer ``m`` (``m = len(stack)`` is the top)."""
    from scipy.sparse import csr_matrix

    n = stack[0].shape[0]
    rows, cols, capacity = [], [], []
    for m, mixing in enumerate(stack):
        queries, keys = np.nonzero(mixing > 0)
        rows.append((m + 1) * n + queries)
        cols.append(m * n + keys)
        capacity.append(np.rint(mixing[queries, keys] * _FLOW_SCALE).astype(np.int32))
    size = (len(stack) + 1) * n
    return csr_matrix((np.concatenate(capacity), (np.concatenate(rows), np.concatenate(cols))), shape=(size, size))


def attention_flow(result: AttentionResult, kind: AttentionKind, layer: int | None = None) -> LayerMixing:
    """Maximum flow from every position after ``layer`` (default: the last) to every input token."""
    from scipy.sparse.csgraph import maximum_flow

    stack = _mixing_stack(result, kind, layer)
    n = stack[0].shape[0]
    if n > FLOW_MAX_TOKENS:
        raise LayerRequestError(code="flow_too_long", limit=FLOW_MAX_TOKENS, n=n)
    graph = _layered_graph(stack)
    top = len(stack) * n
    flows = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            flows[i, j] = maximum_flow(graph, top + i, j, method="dinic").flow_value / _FLOW_SCALE
    return LayerMixing("flow", kind, (len(stack) - 1,), flows[None])
