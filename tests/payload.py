"""The browser map's binary payload read back in Python (attnviz/figures/live.py ``encode`` writes it, the
browser reads it in ui/static/live_map.js ``parse``): a reader for tests, written from the format's description."""

from __future__ import annotations

import json
import struct

import numpy as np

from attnviz.figures.live import LEVELS, MAGIC


def decode(message: bytes) -> tuple[dict, np.ndarray, np.ndarray]:
    """Header, weights ``[..., row, col]`` as float32 in [0, 1], and the mask ``[row, col]`` as booleans."""
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
