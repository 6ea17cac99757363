"""One 2-D map of a head's query and key vectors together (as AttentionViz draws them).

Before projecting, both sides are scaled so their mean norms match and the keys are moved so their
mean equals the queries' mean. Neither changes the attention pattern: adding a vector ``c`` to every key
adds ``q·c`` to a whole softmax row, and ``q·k`` is unchanged when queries are scaled by ``s`` and keys
by ``1/s``. What remains is where queries sit relative to the keys they attend to, which a joint map
can show. PCA (numpy SVD, signs fixed) by default; UMAP when the package ``umap-learn`` is installed
and asked for.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Method = Literal["pca", "umap"]


def umap_available() -> bool:
    try:
        import umap  # noqa: F401
    except ImportError:
        return False
    return True


def normalise(queries: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Queries scaled by ``s``, keys by ``1/s`` and moved onto the queries' centroid, with ``s`` chosen
    (by bisection) so both sides end with the same mean norm (float64)."""
    q = np.asarray(queries, dtype=np.float64)
    k = np.asarray(keys, dtype=np.float64)
    spread, centre = k - k.mean(0), q.mean(0)

    def placed(scale: float) -> tuple[np.ndarray, np.ndarray]:
        return q * scale, spread / scale + centre * scale

    # |k/s·spread + s·centre|² = |spread|²/s² + 2 spread·centre + s²|centre|²: each bisection step is then
    # a few operations per key instead of a norm of every scaled vector
    spread_sq, cross, centre_sq = (spread**2).sum(1), 2 * spread @ centre, float(centre @ centre)
    query_norm = np.linalg.norm(q, axis=1).mean()

    def longer_keys(log_scale: float) -> bool:
        scale = np.exp(log_scale)
        keys = np.sqrt(np.clip(spread_sq / scale**2 + cross + centre_sq * scale**2, 0.0, None)).mean()
        return keys > query_norm * scale

    low, high = -30.0, 30.0
    if np.linalg.norm(q, axis=1).mean() > 0 and np.linalg.norm(spread, axis=1).mean() > 0:
        for _ in range(80):  # keys are relatively longer at small scales, shorter at large ones
            middle = (low + high) / 2
            low, high = (middle, high) if longer_keys(middle) else (low, middle)
        return placed(float(np.exp((low + high) / 2)))
    return placed(1.0)


def pca_2d(points: np.ndarray) -> np.ndarray:
    """The first two principal components of ``points [n, d]``; each axis signed so its largest loading is positive."""
    centred = points - points.mean(0)
    if len(points) < 2:
        return np.zeros((len(points), 2))
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    axes = vt[:2]
    signs = np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(1)])
    projected = centred @ (axes * signs[:, None]).T
    if projected.shape[1] < 2:  # one-dimensional vectors
        projected = np.pad(projected, ((0, 0), (0, 2 - projected.shape[1])))
    return projected


def joint_map(queries: np.ndarray, keys: np.ndarray, method: Method = "pca", seed: int = 0,
              ) -> tuple[np.ndarray, np.ndarray]:
    """2-D coordinates of ``queries [n, d]`` and ``keys [m, d]`` in one shared map."""
    q, k = normalise(queries, keys)
    stacked = np.concatenate([q, k])
    if method == "umap":
        if not umap_available():
            raise ImportError("the UMAP map needs the package umap-learn (pip install umap-learn)")
        import umap

        neighbours = max(2, min(15, len(stacked) - 1))
        coords = umap.UMAP(n_components=2, n_neighbors=neighbours, random_state=seed).fit_transform(stacked)
    elif method == "pca":
        coords = pca_2d(stacked)
    else:
        raise ValueError(f"unknown map method {method!r}: pca or umap")
    coords = np.asarray(coords, dtype=np.float64)
    return coords[: len(q)], coords[len(q):]
