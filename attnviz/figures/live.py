"""The compact form a heatmap takes to the browser, where heads and layers switch without a round trip.

One binary message: a magic word, the length of a JSON header, the header (labels, which layers and
heads are inside, where the window sits, the colour table), then every head's weights as unsigned
16-bit integers (weight × 65535: 7.6e-6 apart, finer than the four decimals a tooltip shows), then
one byte per cell for the causal mask. Half the bytes of float32, and no JSON number parsing.
"""

from __future__ import annotations

import functools
import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from plotly.colors import get_colorscale, sample_colorscale

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
def colour_table(colorscale: str, steps: int = 256) -> list[str]:
    """``steps`` colours sampled evenly from a plotly colour scale, as ``rgb(r, g, b)`` strings."""
    return sample_colorscale(get_colorscale(colorscale), [i / (steps - 1) for i in range(steps)], colortype="rgb")


def quantise(weights: np.ndarray) -> np.ndarray:
    """Weights in [0, 1] as unsigned 16-bit levels; weights already quantised pass through."""
    if weights.dtype == np.dtype("<u2"):
        return weights
    return np.rint(np.clip(np.nan_to_num(weights, nan=0.0), 0.0, 1.0) * LEVELS).astype("<u2")


def _block_sums(cells: np.ndarray, block: int) -> np.ndarray:
    """Sums over ``block`` x ``block`` tiles of the last two axes (zero padding at the far edges)."""
    *lead, n_rows, n_cols = cells.shape
    rows, cols = -(-n_rows // block), -(-n_cols // block)
    if (rows * block, cols * block) != (n_rows, n_cols):
        cells = np.pad(cells, [(0, 0)] * len(lead) + [(0, rows * block - n_rows), (0, cols * block - n_cols)])
    # rows first, then columns: two contiguous reductions, about twice as fast as one over both tile axes
    by_rows = cells.reshape(*lead, rows, block, cols * block).sum(axis=-2)
    return by_rows.reshape(*lead, rows, cols, block).sum(axis=-1)


class TileMeans:
    """Means over ``block`` x ``block`` tiles of a map's unmasked cells (a tile wholly masked is masked),
    one map at a time through one reused float32 buffer: a 4,096-token float16 map is pooled without a
    float32 copy of the whole map, and its padding is made once."""

    def __init__(self, masked: np.ndarray, block: int):
        self.block = block
        self.shape = (-(-masked.shape[0] // block), -(-masked.shape[1] // block))
        self.masked = masked if masked.any() else None
        counts = _block_sums((~masked).astype(np.uint16), block).astype(np.float32)  # unmasked cells per tile
        self.empty = counts == 0
        self.counts = np.where(self.empty, np.float32(1), counts)
        self.buffer = np.zeros((self.shape[0] * block, self.shape[1] * block), dtype=np.float32)

    def __call__(self, cells: np.ndarray) -> np.ndarray:
        inside = self.buffer[: cells.shape[0], : cells.shape[1]]
        inside[...] = cells  # the one conversion to float32; the padding stays zero
        if self.masked is not None:
            np.copyto(inside, 0, where=self.masked)
        sums = _block_sums(self.buffer, self.block)
        return np.where(self.empty, np.float32(0), sums / self.counts)


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
    block = max(1, -(-max(n_rows, n_cols) // max_side))
    return Window(0, 0, n_rows, n_cols, block)


def zoom_window(n_rows: int, n_cols: int, rows: tuple[int, int], cols: tuple[int, int],
                max_side: int = MAX_SIDE) -> Window:
    """A region ``[r0, r1) x [c0, c1)`` clipped to the matrix, at full resolution when it fits in ``max_side``."""
    r0, r1 = sorted(int(v) for v in rows)
    c0, c1 = sorted(int(v) for v in cols)
    r0, c0 = max(0, min(r0, n_rows - 1)), max(0, min(c0, n_cols - 1))
    r1, c1 = max(r0 + 1, min(r1, n_rows)), max(c0 + 1, min(c1, n_cols))
    block = max(1, -(-max(r1 - r0, c1 - c0) // max_side))
    return Window(r0, c0, r1 - r0, c1 - c0, block)


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


def decode(message: bytes) -> tuple[dict, np.ndarray, np.ndarray]:
    """The inverse of :func:`encode` (what the browser reads), as float32 weights and a boolean mask."""
    if message[:4] != MAGIC:
        raise ValueError("not an attention payload")
    (length,) = struct.unpack("<I", message[4:8])
    meta = json.loads(message[8 : 8 + length].decode("utf-8"))
    shape = tuple(meta["shape"])
    cells = int(np.prod(shape))
    start = 8 + length
    weights = np.frombuffer(message, dtype="<u2", count=cells, offset=start).reshape(shape) / LEVELS
    masked = np.frombuffer(message, dtype=np.uint8, offset=start + 2 * cells).reshape(shape[-2:]).astype(bool)
    return meta, weights.astype(np.float32), masked


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


def combine(weights: np.ndarray, masked: np.ndarray, maps: Sequence[Sequence[int]], layer: int,
            shown: Sequence[int], mode: str, renormalise: bool = False) -> np.ndarray:
    """What the browser draws from a decoded payload (static/live_map.js ``combine``), for tests and notebooks:
    ``weights[map, row, col]`` holds the ``maps`` (layer, head) in order."""
    index = {tuple(pair): i for i, pair in enumerate(maps)}
    chosen = weights[[index[(layer, h)] for h in shown]]
    matrix = chosen.max(axis=0) if mode == "max" else chosen.mean(axis=0)
    if renormalise:
        sums = np.where(masked, 0.0, matrix).sum(axis=-1, keepdims=True)
        matrix = np.divide(matrix, sums, out=np.zeros_like(matrix), where=sums > 0)
    return matrix


def visible_part(matrix: np.ndarray, masked: np.ndarray, meta: dict, hide: bool, renormalise: bool
                 ) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """What the browser shows of a combined map (static/live_map.js ``visible``): special tokens' rows and
    columns left out when ``hide`` and the payload lists them, rows rescaled over what is left when asked."""
    specials = meta.get("specials")
    rows, cols = list(range(matrix.shape[0])), list(range(matrix.shape[1]))
    if specials and hide:
        rows = [r for r in rows if r not in set(specials["rows"])]
        cols = [c for c in cols if c not in set(specials["cols"])]
    part, part_mask = matrix[np.ix_(rows, cols)], masked[np.ix_(rows, cols)]
    if renormalise and (hide if specials else meta.get("hidden")):
        sums = np.where(part_mask, 0.0, part).sum(axis=-1, keepdims=True)
        part = np.divide(part, sums, out=np.zeros_like(part), where=sums > 0)
    return part, part_mask, [meta["rows"][r] for r in rows], [meta["cols"][c] for c in cols]


def window_labels(labels: Sequence[str], start: int, count: int, block: int) -> list[str]:
    """Axis labels of a window: the tokens themselves, or for pooled blocks the first token and the span."""
    if block == 1:
        return list(labels[start : start + count])
    return [f"{labels[i]} … #{i}–{min(i + block, start + count) - 1}" for i in range(start, start + count, block)]


GRID_PANEL_CELLS = 64  # a grid panel shows at most 64 × 64 cells (block means beyond): 72 panels stay under 0.6 MB


def grid_payload(matrix: np.ndarray, masked: np.ndarray, row_labels: Sequence[str], col_labels: Sequence[str],
                 header: dict, *, renormalise: bool = False, max_side: int = GRID_PANEL_CELLS) -> bytes:
    """Every panel of a head grid, ``matrix[layer, head, row, col]``, pooled to ``max_side`` per side.

    Rows are renormalised (over unmasked cells) before pooling when asked; ``header`` carries the title,
    layers, heads, colours and words; the browser draws it as one image (static/live_map.js ``renderGrid``).
    """
    matrix = np.asarray(matrix, dtype=np.float32)
    if renormalise:
        kept = np.where(masked, 0.0, matrix)
        sums = kept.sum(axis=-1, keepdims=True)
        matrix = np.divide(kept, sums, out=np.zeros_like(kept), where=sums > 0)
    n_rows, n_cols = matrix.shape[-2:]
    window = overview_window(n_rows, n_cols, max_side)
    weights, pooled_mask = window_of(matrix, masked, window)
    meta = {**header, "grid": True, "block": window.block,
            "rows": window_labels(row_labels, 0, n_rows, window.block),
            "cols": window_labels(col_labels, 0, n_cols, window.block)}
    return encode(weights, pooled_mask, meta)
