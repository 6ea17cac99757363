"""The one entropy of attnviz: bits per attention row, and the same relative to the most a row could have, for
numpy arrays and for torch tensors on any device."""

from __future__ import annotations

import math

import numpy as np
import torch


def row_entropy(matrix: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """Entropy in bits of each row of ``[..., query, key]`` (0 log 0 = 0): the one entropy of attnviz.

    A torch tensor stays on its device (the census reduces batches on a GPU); a numpy array comes back
    as one. :func:`relative_entropy` divides it by log2 of the keys a row may see, so it is unit-free.
    """
    if isinstance(matrix, torch.Tensor):
        return torch.special.entr(matrix).sum(-1) / math.log(2)
    array = np.asarray(matrix)
    return row_entropy(torch.from_numpy(np.where(array > 0, array, 0))).numpy()  # NaN and <= 0 count as 0


def relative_entropy(matrix: np.ndarray | torch.Tensor, keys_seen: np.ndarray | torch.Tensor
                     ) -> np.ndarray | torch.Tensor:
    """Each row's entropy over the most it could have, log2 of the keys it may see: 0 when all its weight is
    on one key, 1 when it is spread evenly. The ``broad`` role, the census's ``entropy_rel`` and a head
    profile's ``relative_entropy`` are means of it.

    ``matrix``: ``[..., query, key]`` weights, zero on keys a row may not see; ``keys_seen``: how many keys
    each row may see, ``[..., query]`` (or broadcastable to it; 0 for a padding row).

    A row that sees fewer than two keys has no spread to measure (its most, log2 1, is 0): it is 0 here, and
    a mean over rows leaves it out by counting only the rows with ``keys_seen >= 2``.
    """
    if isinstance(keys_seen, torch.Tensor):
        return row_entropy(matrix) / torch.log2(keys_seen.clamp(min=2).to(torch.float32)) * (keys_seen >= 2)
    seen = np.asarray(keys_seen)
    return np.where(seen >= 2, row_entropy(matrix) / np.log2(np.maximum(seen, 2)), 0.0)
