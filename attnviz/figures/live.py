"""The compact form a heatmap takes to the browser, where heads and layers switch without a round trip.

One binary message: a magic word, the length of a JSON header, the header (labels, which layers and
heads are inside, where the window sits, and what the page adds: its words, the visitor's choices, colour
tables), then every head's weights as unsigned 16-bit integers (weight × 65535: 7.6e-6 apart, finer than the
four decimals a tooltip shows), then one byte per cell for the causal mask. Half the bytes of float32, and no
JSON number parsing. The browser reads it in ui/static/live_map.js (``parse``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from plotly.colors import get_colorscale, sample_colorscale

from attnviz.analysis.pooling import PANEL_CELLS, TileMeans, block_for
from attnviz.analysis.tokens import renormalise_rows
from attnviz.analysis.view import ViewOptions, axis_tokens, layer_cells, stack_views, view_axes, view_size
from attnviz.cache import ByteBoundedCache
from attnviz.figures.heatmap import MASKED_COLOUR
from attnviz.result import AttentionKind, AttentionResult

MAGIC = b"AVZ1"
LEVELS = 65535
# 9.4 MB of weights: every layer of MiniLM at 128 tokens; at 512 all 12 heads of the shown layer and the shown
# head of the other five layers (so head, mode and single-head layer switches stay in the browser)
BUDGET_CELLS = 17 * 512 * 512 + 8192
MAX_SIDE = 1024  # a longer side is shown pooled (an overview), and a zoomed window at full resolution


@dataclass(frozen=True)
class Window:
    """Which part of the full matrix a payload holds: rows/cols from ``row0``/``col0``, pooled by ``block``."""

    row0: int = 0
    col0: int = 0
    rows: int = 0
    cols: int = 0
    block: int = 1


@functools.lru_cache(maxsize=32)
def colorscale_table(colorscale: str, steps: int = 256) -> list[str]:
    """``steps`` colours sampled evenly from a plotly colour scale, as ``rgb(r, g, b)`` strings."""
    return sample_colorscale(get_colorscale(colorscale), [i / (steps - 1) for i in range(steps)], colortype="rgb")


def quantise(weights: np.ndarray) -> np.ndarray:
    """Weights in [0, 1] as unsigned 16-bit levels; weights already quantised pass through."""
    if weights.dtype == np.dtype("<u2"):
        return weights
    return np.rint(np.clip(np.nan_to_num(weights, nan=0.0), 0.0, 1.0) * LEVELS).astype("<u2")


def window_of(matrix: np.ndarray, masked: np.ndarray, window: Window) -> tuple[np.ndarray, np.ndarray]:
    """The window's cells of ``matrix[..., row, col]`` and of the mask, pooled by the window's block:
    each pooled cell is the mean of its tile's unmasked cells, and masked when all of them are."""
    rows = slice(window.row0, window.row0 + window.rows)
    cols = slice(window.col0, window.col0 + window.cols)
    part, part_mask = matrix[..., rows, cols], masked[rows, cols]
    if window.block == 1:
        return part, part_mask
    means = TileMeans(part_mask, window.block)
    pooled = np.empty((*part.shape[:-2], *means.shape), dtype=np.float32)
    for index in np.ndindex(*part.shape[:-2]):
        pooled[index] = means(part[index])
    return pooled, means.empty


def overview_window(n_rows: int, n_cols: int, max_side: int = MAX_SIDE) -> Window:
    """The whole matrix, pooled just enough that neither side exceeds ``max_side``."""
    return Window(0, 0, n_rows, n_cols, block_for(n_rows, n_cols, max_side))


def zoom_window(n_rows: int, n_cols: int, rows: tuple[int, int], cols: tuple[int, int],
                max_side: int = MAX_SIDE) -> Window:
    """A region ``[r0, r1) x [c0, c1)`` clipped to the matrix, at full resolution when it fits in ``max_side``."""
    r0, r1 = sorted(int(v) for v in rows)
    c0, c1 = sorted(int(v) for v in cols)
    r0, c0 = max(0, min(r0, n_rows - 1)), max(0, min(c0, n_cols - 1))
    r1, c1 = max(r0 + 1, min(r1, n_rows)), max(c0 + 1, min(c1, n_cols))
    return Window(r0, c0, r1 - r0, c1 - c0, block_for(r1 - r0, c1 - c0, max_side))


def encode(weights: np.ndarray, masked: np.ndarray, header: dict) -> bytes:
    """``weights[..., row, col]`` in [0, 1] (``[map, row, col]`` for the map, ``[layer, head, row, col]`` for
    the grid) and ``masked[row, col]`` -> one binary message."""
    if weights.ndim < 3 or masked.shape != weights.shape[-2:]:
        raise ValueError(f"weights {weights.shape} and mask {masked.shape} do not fit together")
    meta = {**header, "shape": list(weights.shape)}
    text = json.dumps(meta, ensure_ascii=False).encode("utf-8")
    text += b" " * (len(text) % 2)  # the weights start on an even byte for a Uint16Array view
    body = quantise(weights).tobytes() + np.ascontiguousarray(masked, dtype=np.uint8).tobytes()
    return MAGIC + struct.pack("<I", len(text)) + text + body


def maps_to_send(layers: Sequence[int], n_heads: int, cells: int, layer: int, shown: Sequence[int],
                 budget: int = BUDGET_CELLS) -> list[tuple[int, int]]:
    """The (layer, head) maps a payload carries: every one when all fit the budget, else groups by use while
    they fit: the heads the view shows (always); the other heads of its layer (head and mode switches); the
    shown heads of the other captured ``layers``, nearest first (layer steps); the rest of those layers."""
    shown = sorted(set(shown))
    rest = [h for h in range(n_heads) if h not in shown]
    others = sorted((other for other in layers if other != layer), key=lambda other: (abs(other - layer), other))
    groups = [[(layer, h) for h in rest]]
    groups += [[(other, h) for h in shown] for other in others]
    groups += [[(other, h) for h in rest] for other in others]
    chosen = [(layer, h) for h in shown]
    for group in groups:  # a group that does not fit is skipped; a smaller one after it may still fit
        if group and (len(chosen) + len(group)) * cells <= budget:
            chosen += group
    return sorted(chosen)


def window_labels(labels: Sequence[str], start: int, count: int, block: int) -> list[str]:
    """Axis labels of a window: the tokens themselves, or for pooled blocks the first token and the span."""
    if block == 1:
        return list(labels[start : start + count])
    return [f"{labels[i]} … #{i}–{min(i + block, start + count) - 1}" for i in range(start, start + count, block)]


def grid_payload(matrix: np.ndarray, masked: np.ndarray, row_labels: Sequence[str], col_labels: Sequence[str],
                 header: dict, *, renormalise: bool = False, max_side: int = PANEL_CELLS) -> bytes:
    """Every panel of a head grid, ``matrix[layer, head, row, col]``, pooled to ``max_side`` per side
    (72 panels of 64 × 64 cells stay under 0.6 MB).

    Rows are renormalised (over unmasked cells) before pooling when asked; ``header`` carries the title,
    layers, heads, colours and words; the browser draws it as one image (static/live_map.js ``renderGrid``).
    """
    matrix = np.asarray(matrix, dtype=np.float32)
    if renormalise:
        matrix = renormalise_rows(matrix, masked)
    n_rows, n_cols = matrix.shape[-2:]
    window = overview_window(n_rows, n_cols, max_side)
    weights, pooled_mask = window_of(matrix, masked, window)
    meta = {**header, "grid": True, "block": window.block,
            "rows": window_labels(row_labels, 0, n_rows, window.block),
            "cols": window_labels(col_labels, 0, n_cols, window.block)}
    return encode(weights, pooled_mask, meta)


def map_payload(result: AttentionResult, kind: AttentionKind, options: ViewOptions, *, layer: int,
                heads: Sequence[int], zoom: tuple[int, int, int, int] | None, n_heads: int, cache: ByteBoundedCache,
                interface: Mapping[str, object]) -> bytes:
    """The bytes the browser draws the map from: as many (layer, head) maps as the size budget allows, those of
    ``layer``'s ``heads`` first, over the whole matrix or the region ``zoom`` (rows r0–r1, columns c0–c1). Rows
    travel as captured (the browser rescales them when asked); a map drawn whole with no word merged travels with
    its special tokens, which the browser hides when asked. ``cache`` keeps maps already sent (to anyone) from the
    same capture and window; ``interface`` (the page's title, words, the visitor's choices ...) goes into the header
    as given, for the page's browser code."""
    every_token = replace(options, hide_special=False, renormalise=False)
    n_rows, n_cols = view_size(result, kind, every_token)
    hides_in_browser = not options.merge_subwords and zoom is None and max(n_rows, n_cols) <= MAX_SIDE
    options = every_token if hides_in_browser else replace(options, renormalise=False)
    if not hides_in_browser:
        n_rows, n_cols = view_size(result, kind, options)
    window = zoom_window(n_rows, n_cols, zoom[:2], zoom[2:]) if zoom else overview_window(n_rows, n_cols)
    cells = -(-window.rows // window.block) * -(-window.cols // window.block)
    maps = maps_to_send(result.layers[kind], n_heads, cells, layer, heads)
    weights, masked, rows, cols, base = _sent_maps(result, kind, options, maps, window, cache)
    version = hashlib.blake2b(repr((base, maps)).encode(), digest_size=8).hexdigest()
    header = {
        **interface, "maps": [list(pair) for pair in maps], "n_layers": result.shape.n_layers[kind],
        "n_heads": n_heads, "rows": rows, "cols": cols, "masked_colour": MASKED_COLOUR, "hidden": options.hide_special,
        "specials": _special_positions(result, kind, options) if hides_in_browser else None,
        "window": {"row0": window.row0, "col0": window.col0, "rows": window.rows, "cols": window.cols,
                   "block": window.block, "zoomed": zoom is not None},
        "version": version,
    }
    return encode(weights, masked, header)


def _special_positions(result: AttentionResult, kind: AttentionKind, options: ViewOptions) -> dict[str, list[int]]:
    """Rows and columns of special tokens in a map of every token, for the browser to hide."""
    return {axis: [i for i, special in enumerate(axis_tokens(result, kind, axis == "rows", options).special)
                   if special] for axis in ("rows", "cols")}


def _sent_maps(result: AttentionResult, kind: AttentionKind, options: ViewOptions, maps: list[tuple[int, int]],
               window: Window, cache: ByteBoundedCache) -> tuple[np.ndarray, np.ndarray, list[str], list[str], str]:
    """The maps' quantised weights ``[map, row, col]``, mask, labels and what they were cut from. Maps sent
    before (to anyone) from the same capture and window come from ``cache``."""
    base = hashlib.blake2b(repr((result.inputs, kind, options, window)).encode(), digest_size=8).hexdigest()
    kept = {pair: cache.peek(("sent-map", base, *pair)) for pair in maps}
    axes = cache.peek(("sent-axes", base))
    missing = [pair for pair, cells in kept.items() if cells is None]
    if missing or axes is None:
        weights, masked, rows, cols = _window_maps(result, kind, options, missing, window)
        axes = cache.get(("sent-axes", base), lambda: (masked, rows, cols))
        for pair, cells in zip(missing, quantise(weights)):
            kept[pair] = cache.get(("sent-map", base, *pair), lambda cells=cells: cells.copy())  # its own bytes
    return np.stack([kept[pair] for pair in maps]), *axes, base


def _window_maps(result: AttentionResult, kind: AttentionKind, options: ViewOptions, maps: list[tuple[int, int]],
                 window: Window) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """``maps``' weights in the window as ``[map, row, col]`` (pooled by the window's block), its mask and labels.
    One map at a time, straight from the capture's own storage: only the window's cells of the maps sent are
    converted, and a pooled overview never holds a float32 copy of a whole long map."""
    region = (slice(window.row0, window.row0 + window.rows), slice(window.col0, window.col0 + window.cols))
    axes = view_axes(result, kind, options, region)  # once for every map
    means = TileMeans(axes.masked, window.block) if window.block > 1 else None
    weights = np.empty((len(maps), *(means.shape if means else axes.masked.shape)), dtype=np.float32)
    for i, (layer, head) in enumerate(maps):
        cells = layer_cells(result, kind, layer, axes, slice(head, head + 1), region)[0]
        weights[i] = means(cells) if means else cells
    empty = means.empty if means else axes.masked
    rows = window_labels(axes.row_labels, window.row0, window.rows, window.block)
    cols = window_labels(axes.col_labels, window.col0, window.cols, window.block)
    return weights, empty, rows, cols


def grid_of_heads(result: AttentionResult, kind: AttentionKind, layers: Sequence[int], heads: Sequence[int],
                  options: ViewOptions, *, interface: Mapping[str, object]) -> bytes:
    """The all-heads grid's payload: every chosen head of every chosen layer, pooled to small panels; ``interface``
    (title, words, colours ...) goes into the header as given."""
    stack = stack_views(result, kind, layers, options)
    header = {**interface, "layers": list(layers), "heads": list(heads), "masked_colour": MASKED_COLOUR}
    return grid_payload(stack.matrix[:, list(heads)], stack.masked, stack.row_labels, stack.col_labels, header,
                        renormalise=options.renormalise)
