"""Pooling a map over square tiles of cells, for maps too large to draw cell by cell: one definition for the
browser's payloads (attnviz/figures/live.py) and the plotly head grid (attnviz/figures/grid.py)."""

from __future__ import annotations

import numpy as np

PANEL_CELLS = 64  # a small panel of a head grid shows at most 64 × 64 cells (tile means beyond)


def block_sums(cells: np.ndarray, block: int) -> np.ndarray:
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
        counts = block_sums((~masked).astype(np.uint16), block).astype(np.float32)  # unmasked cells per tile
        self.empty = counts == 0
        self.counts = np.where(self.empty, np.float32(1), counts)
        self.buffer = np.zeros((self.shape[0] * block, self.shape[1] * block), dtype=np.float32)

    def __call__(self, cells: np.ndarray) -> np.ndarray:
        inside = self.buffer[: cells.shape[0], : cells.shape[1]]
        inside[...] = cells  # the one conversion to float32; the padding stays zero
        if self.masked is not None:
            np.copyto(inside, 0, where=self.masked)
        sums = block_sums(self.buffer, self.block)
        return np.where(self.empty, np.float32(0), sums / self.counts)


def block_for(n_rows: int, n_cols: int, max_side: int) -> int:
    """The smallest tile side that keeps both sides of a pooled map within ``max_side``."""
    return max(1, -(-max(n_rows, n_cols) // max_side))


def pool_blocks(matrix: np.ndarray, max_side: int) -> tuple[np.ndarray, int]:
    """Average ``matrix`` over square blocks so neither side exceeds ``max_side``; returns (pooled, block).

    NaN cells (masked) are left out of each block's mean; an all-NaN block stays NaN.
    """
    block = block_for(*matrix.shape, max_side)
    if block <= 1:
        return matrix, 1
    masked = np.isnan(matrix)
    means = TileMeans(masked, block)
    return np.where(means.empty, np.nan, means(matrix)), block
