"""The logit lens (nostalgebraist, 2020): the residual stream at every layer read as a prediction.

Row 0 is the stream before the first block (the embeddings), row ``l`` the stream after block
``l − 1``; each is put through the final norm, with its own scale as the model would compute it
for that vector, and the unembedding (soft-capped like the model's logits). The last row is the
model's real prediction, and the lens checks that it is. The final prediction's rank and
probability at every row show at which layer the answer appears.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from attnviz.contributions.decompose import DecompositionError, ResidualDecomposition
from attnviz.contributions.logits import Unembedding, unembedding
from attnviz.errors import LayerRequestError
from attnviz.models.loading import LoadedModel


@dataclass(frozen=True)
class LensRow:
    """One cell of the lens: the top ``k`` tokens of one row at one position."""

    layer: int  # row: 0 = embeddings, l = after block l − 1
    position: int
    labels: tuple[str, ...]
    token_ids: tuple[int, ...]
    probabilities: tuple[float, ...]
    prediction_rank: int  # 1 = the final prediction is this row's top token
    prediction_probability: float


@dataclass(frozen=True)
class LogitLens:
    """``top_*[row, pos, k]``, ``prediction_*[row, pos]`` for rows 0 (embeddings) .. n_layers (the model's output)."""

    model_name: str
    positions: tuple[str, ...]  # the stream's token labels
    top_ids: np.ndarray  # [row, pos, k] int
    top_labels: tuple[tuple[tuple[str, ...], ...], ...]  # [row][pos][k]
    top_probabilities: np.ndarray  # [row, pos, k]
    predictions: tuple[str, ...]  # the final prediction at each position
    prediction_ids: np.ndarray  # [pos]
    prediction_rank: np.ndarray  # [row, pos] (1-based)
    prediction_probability: np.ndarray  # [row, pos]

    @property
    def n_rows(self) -> int:
        return self.top_ids.shape[0]

    def row(self, layer: int, position: int) -> LensRow:
        return LensRow(layer, position, self.top_labels[layer][position], tuple(int(i) for i in self.top_ids[layer, position]),
                       tuple(float(p) for p in self.top_probabilities[layer, position]),
                       int(self.prediction_rank[layer, position]), float(self.prediction_probability[layer, position]))

    def first_layer(self, position: int) -> int | None:
        """The first row from which the final prediction stays the top token at ``position``."""
        top = self.prediction_rank[:, position] == 1
        for row in range(self.n_rows):
            if top[row:].all():
                return row
        return None

    def records(self) -> list[dict]:
        """``{"layer", "position", "top": [[token, probability], ...]}`` per cell: the CLI's ``--json``."""
        return [{"layer": row, "position": pos,
                 "top": [[label, float(p)] for label, p in zip(self.top_labels[row][pos], self.top_probabilities[row, pos])]}
                for row in range(self.n_rows) for pos in range(len(self.positions))]


def _normed(decomposition: ResidualDecomposition, residuals: np.ndarray) -> np.ndarray:
    norm = decomposition.final_norm
    return residuals if norm is None else norm.normalise(residuals)


def _probabilities(unembed: Unembedding, decomposition: ResidualDecomposition, residuals: np.ndarray) -> torch.Tensor:
    return torch.softmax(unembed.logits(_normed(decomposition, residuals)).double(), dim=-1)


def logit_lens(loaded: LoadedModel, decomposition: ResidualDecomposition, k: int = 5) -> LogitLens:
    """The top ``k`` tokens and their probabilities at every row and position, and the final prediction's rank."""
    unembed = unembedding(loaded, decomposition)
    k = max(1, min(int(k), unembed.weight.shape[1]))
    probabilities = _probabilities(unembed, decomposition, decomposition.residuals)  # [row, pos, vocab]
    final = torch.from_numpy(decomposition.logits).double()
    if not torch.allclose(torch.log_softmax(final, -1), torch.log(probabilities[-1].clamp_min(1e-300)), atol=1e-3):
        raise DecompositionError(f"The last row of the lens does not reproduce {loaded.name}'s own logits, so its "
                                 "final norm or LM head is not what attnviz read.", code="lens_mismatch",
                                 model=loaded.name)
    predicted = final.argmax(-1)  # [pos]
    chance = probabilities.gather(-1, predicted[None, :, None].expand(probabilities.shape[0], -1, 1))[..., 0]
    rank = (probabilities > chance[..., None]).sum(-1) + 1
    top = probabilities.topk(k, dim=-1)
    convert = loaded.tokenizer.convert_ids_to_tokens
    ids = top.indices.numpy()
    labels = tuple(tuple(tuple(convert(ids[row, pos].tolist())) for pos in range(ids.shape[1]))
                   for row in range(ids.shape[0]))
    return LogitLens(loaded.name, decomposition.tokens.labels, ids, labels, top.values.float().numpy(),
                     tuple(convert(predicted.tolist())), predicted.numpy(), rank.numpy(), chance.float().numpy())


def lens_row(loaded: LoadedModel, decomposition: ResidualDecomposition, layer: int, position: int,
             k: int = 5) -> LensRow:
    """One cell of the lens, computed alone (one vector through the norm and the unembedding)."""
    rows, n = decomposition.residuals.shape[0], len(decomposition.tokens)
    if not (0 <= layer < rows and 0 <= position < n):
        raise LayerRequestError(f"The lens has rows 0-{rows - 1} and positions 0-{n - 1}; asked for ({layer}, {position}).",
                                code="no_such_cell", layer=layer, position=position)
    unembed = unembedding(loaded, decomposition)
    probabilities = _probabilities(unembed, decomposition, decomposition.residuals[layer, position:position + 1])[0]
    predicted = int(np.argmax(decomposition.logits[position]))
    chance = float(probabilities[predicted])
    top = probabilities.topk(max(1, min(int(k), probabilities.shape[0])))
    ids = top.indices.tolist()
    return LensRow(layer, position, tuple(loaded.tokenizer.convert_ids_to_tokens(ids)), tuple(ids),
                   tuple(float(p) for p in top.values), int((probabilities > chance).sum()) + 1, chance)
