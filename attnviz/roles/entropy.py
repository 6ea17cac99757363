"""The one entropy of attnviz: bits per attention row, for numpy arrays and for torch tensors on any device."""

from __future__ import annotations

import math

import numpy as np
import torch


def row_entropy(matrix: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """Entropy in bits of each row of ``[..., query, key]`` (0 log 0 = 0): the one entropy of attnviz.

    A torch tensor stays on its device (the census reduces batches on a GPU); a numpy array comes back
    as one. Relative entropies divide it by log2 of the keys a row may see, so they are unit-free.
    """
    if isinstance(matrix, torch.Tensor):
        return torch.special.entr(matrix).sum(-1) / math.log(2)
    array = np.asarray(matrix)
    return row_entropy(torch.from_numpy(np.where(array > 0, array, 0))).numpy()  # NaN and <= 0 count as 0
