"""A loaded model's attention weights as numpy: the projections the derivation and value-weighted maps read."""

from __future__ import annotations

import numpy as np

from attnviz.models.loading import LoadedModel
from attnviz.result import AttentionKind
from attnviz.tracing.modules import weight_in_out

__all__ = ["exposes_weights", "output_projection", "weight_in_out"]


def exposes_weights(loaded: LoadedModel, kind: AttentionKind) -> bool:
    """Q, K and V pass through the attention interface and every layer's W_O is known, at sites where the
    load-time probe proved the plain formula equal to the model's own."""
    sites = loaded.sites.get(kind)
    return (loaded.capture_path == "interface" and bool(sites)
            and all(s.output_projection is not None and s.plain_formula for s in sites))


def output_projection(loaded: LoadedModel, kind: AttentionKind, layer: int) -> tuple[np.ndarray, np.ndarray | None]:
    """W_O of ``kind`` attention in model layer ``layer`` as [heads × head_dim, d_model], and its bias."""
    return weight_in_out(loaded.sites[kind][layer].output_projection)
