"""The logit lens (nostalgebraist, 2020): the residual stream at every layer read as a prediction.

Row 0 is the stream before the first block (the embeddings), row ``l`` the stream after block
``l − 1``; each is put through the final norm, with its own scale as the model would compute it
for that vector, and the unembedding (soft-capped like the model's logits). The last row is the
model's real prediction, and the lens checks that it is. The final prediction's rank and
probability at every row show at which layer the answer appears.

With a large vocabulary the lens is the costly part (GPT-2's 50,257 words: 13 rows × 128 positions × 768 × 50,257
multiply-adds, 4× a forward pass), so it computes the positions it is asked for (``positions``: the ones shown);
any other cell comes from :func:`lens_row` on request.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from attnviz.capturing.tokenizing import token_labels
from attnviz.contributions.decompose import ResidualDecomposition
from attnviz.contributions.logits import unembedding
from attnviz.errors import LayerRequestError, StreamError
from attnviz.models.loading import LoadedModel

# Rows of the stream read through the unembedding in one matrix product: a 50,257-word unembedding is read from
# memory once per product (154 MB in float32), so a position's 13 rows cost one read, not 13; a block's
# [rows, vocabulary] logits stay near 25 MB
ROWS_PER_PRODUCT = 128


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
    positions: tuple[str, ...]  # token labels of the computed positions
    top_ids: np.ndarray  # [row, pos, k] int
    top_labels: tuple[tuple[tuple[str, ...], ...], ...]  # [row][pos][k]
    top_probabilities: np.ndarray  # [row, pos, k]
    predictions: tuple[str, ...]  # the final prediction at each position
    prediction_ids: np.ndarray  # [pos]
    prediction_rank: np.ndarray  # [row, pos] (1-based)
    prediction_probability: np.ndarray  # [row, pos]
    columns: tuple[int, ...] = ()  # the text position of each computed column (empty: every position, in order)

    @property
    def n_rows(self) -> int:
        return self.top_ids.shape[0]

    @property
    def text_positions(self) -> tuple[int, ...]:
        return self.columns or tuple(range(len(self.positions)))

    def column(self, position: int) -> int:
        """The array column of a text position; an error for a position the lens was not computed at."""
        try:
            return self.text_positions.index(position)
        except ValueError:
            raise LayerRequestError(code="no_such_cell", layer=0, position=position) from None

    def row(self, layer: int, position: int) -> LensRow:
        c = self.column(position)
        ids = tuple(int(i) for i in self.top_ids[layer, c])
        return LensRow(layer, position, self.top_labels[layer][c], ids,
                       tuple(float(p) for p in self.top_probabilities[layer, c]),
                       int(self.prediction_rank[layer, c]), float(self.prediction_probability[layer, c]))

    def first_layer(self, position: int) -> int | None:
        """The first row from which the final prediction stays the top token at ``position``."""
        top = self.prediction_rank[:, self.column(position)] == 1
        for row in range(self.n_rows):
            if top[row:].all():
                return row
        return None

    def records(self) -> list[dict]:
        """``{"layer", "position", "top": [[token, probability], ...]}`` per cell: the CLI's ``--json``."""
        return [{"layer": row, "position": position,
                 "top": [[label, float(p)]
                         for label, p in zip(self.top_labels[row][c], self.top_probabilities[row, c])]}
                for row in range(self.n_rows) for c, position in enumerate(self.text_positions)]


def _normed(decomposition: ResidualDecomposition, residuals: np.ndarray) -> np.ndarray:
    norm = decomposition.final_norm
    return residuals if norm is None else norm.normalise(residuals)


@dataclass(frozen=True)
class _RowReading:
    """One row of the lens, read without keeping a [pos, vocab] probability table: top ``k`` and the prediction."""

    top_ids: torch.Tensor  # [pos, k]
    top_probabilities: torch.Tensor  # [pos, k]
    rank: torch.Tensor  # [pos]
    chance: torch.Tensor  # [pos]
    log_probabilities: torch.Tensor | None = None  # [pos, vocab], kept only when asked


def read_row(logits: torch.Tensor, predicted: torch.Tensor, k: int, keep: bool = False) -> _RowReading:
    """``logits [pos, vocab]`` -> top ``k``, and the rank and probability of ``predicted [pos]`` (float32, one pass
    each: no softmax table of a 50k vocabulary per row)."""
    logits = logits.float()
    total = torch.logsumexp(logits, dim=-1, keepdim=True)  # [pos, 1]
    top = logits.topk(max(1, min(int(k), logits.shape[-1])), dim=-1)
    wanted = logits.gather(-1, predicted[:, None])  # [pos, 1]
    rank = torch.gt(logits, wanted).sum(-1, dtype=torch.int32) + 1  # an int32 count: a third of a bool->int64 sum
    return _RowReading(top.indices, torch.exp(top.values - total), rank,
                       torch.exp(wanted - total)[:, 0], logits - total if keep else None)


def _split_rows(readings: Sequence[_RowReading], n_rows: int, width: int) -> list[_RowReading]:
    """Blocks of row-major (row, position) readings back into one reading per row of the lens."""
    def joined(field: str) -> torch.Tensor:
        whole = torch.cat([getattr(r, field) for r in readings])
        return whole.reshape(n_rows, width, *whole.shape[1:])

    ids, chances, ranks, wanted = (joined(f) for f in ("top_ids", "top_probabilities", "rank", "chance"))
    return [_RowReading(ids[r], chances[r], ranks[r], wanted[r]) for r in range(n_rows)]


def lens_window(n_positions: int, position: int, width: int) -> tuple[int, ...]:
    """``width`` consecutive positions that hold ``position`` (as centred as the text allows)."""
    width = max(1, min(width, n_positions))
    start = min(max(0, position - width // 2), n_positions - width)
    return tuple(range(start, start + width))


def logit_lens(loaded: LoadedModel, decomposition: ResidualDecomposition, k: int = 5,
               positions: Sequence[int] | None = None) -> LogitLens:
    """The top ``k`` tokens and their probabilities at every row, at ``positions`` (default: every position), and
    the final prediction's rank."""
    n = len(decomposition.tokens)
    columns = tuple(range(n)) if positions is None else tuple(sorted(set(int(p) for p in positions)))
    if not columns or not all(0 <= p < n for p in columns):
        raise LayerRequestError(code="no_such_cell", layer=0, position=columns[0] if columns else -1)
    chosen = list(columns)
    unembed = unembedding(loaded, decomposition)
    final = torch.from_numpy(decomposition.logits[chosen]).float()
    predicted = final.argmax(-1)
    n_rows, width = decomposition.residuals.shape[0], len(chosen)
    # every (row, position) of the stream as one list, row-major, read through the unembedding in blocks
    normed = _normed(decomposition, decomposition.residuals[:, chosen]).reshape(n_rows * width, -1)
    wanted = predicted.repeat(n_rows)
    last_start = (n_rows - 1) * width  # the model's own output, checked against its logits
    readings, last_rows = [], []
    with torch.inference_mode():
        for start in range(0, n_rows * width, ROWS_PER_PRODUCT):
            stop = min(start + ROWS_PER_PRODUCT, n_rows * width)
            reading = read_row(unembed.logits(normed[start:stop]), wanted[start:stop], k, keep=stop > last_start)
            readings.append(reading)
            if reading.log_probabilities is not None:
                last_rows.append(reading.log_probabilities[max(0, last_start - start):])
        if not torch.allclose(torch.log_softmax(final, -1), torch.cat(last_rows), atol=1e-3):
            raise StreamError(code="lens_mismatch", model=loaded.name)
    rows = _split_rows(readings, n_rows, width)
    labels = decomposition.tokens.labels
    lens = lens_from_rows(loaded.name, [labels[p] for p in chosen], rows, predicted,
                          lambda ids: token_labels(loaded.tokenizer, ids))
    return lens if positions is None else dataclasses.replace(lens, columns=columns)


def lens_from_rows(model_name: str, positions: Sequence[str], rows: Sequence[_RowReading], predicted: torch.Tensor,
                   labels_of: Callable[[list[int]], Sequence[str]]) -> LogitLens:
    """A :class:`LogitLens` from each row's reading and the final prediction ``[pos]``."""
    ids = torch.stack([r.top_ids for r in rows]).numpy()  # [row, pos, k]
    unique = sorted(set(ids.ravel().tolist()) | set(predicted.tolist()))
    label = dict(zip(unique, labels_of(unique)))  # each id decoded once
    labels = tuple(tuple(tuple(label[i] for i in ids[row, pos]) for pos in range(ids.shape[1]))
                   for row in range(ids.shape[0]))
    probabilities = torch.stack([r.top_probabilities for r in rows]).numpy()
    return LogitLens(model_name, tuple(positions), ids, labels, probabilities,
                     tuple(label[i] for i in predicted.tolist()), predicted.numpy(),
                     torch.stack([r.rank for r in rows]).numpy(), torch.stack([r.chance for r in rows]).numpy())


def lens_row(loaded: LoadedModel, decomposition: ResidualDecomposition, layer: int, position: int,
             k: int = 5) -> LensRow:
    """One cell of the lens, computed alone (one vector through the norm and the unembedding)."""
    rows, n = decomposition.residuals.shape[0], len(decomposition.tokens)
    if not (0 <= layer < rows and 0 <= position < n):
        raise LayerRequestError(code="no_such_cell", layer=layer, position=position)
    unembed = unembedding(loaded, decomposition)
    predicted = int(np.argmax(decomposition.logits[position]))
    logits = unembed.logits(_normed(decomposition, decomposition.residuals[layer, position:position + 1]))
    reading = read_row(logits, torch.tensor([predicted]), k)
    ids = reading.top_ids[0].tolist()
    return LensRow(layer, position, token_labels(loaded.tokenizer, ids), tuple(ids),
                   tuple(float(p) for p in reading.top_probabilities[0]), int(reading.rank[0]),
                   float(reading.chance[0]))
