"""The numbers of the induction-heads lesson: the two-head circuit on one text, read from the model.

For a query position ``i`` in the repeated part, with ``j`` the earlier position holding the same token:

1. the previous-token head (layer 0) at position ``j + 1`` looks at ``j``: it writes "the token before me
   was tokens[j]" into position ``j + 1``;
2. the induction head (layer 1) at ``i`` looks for a position whose previous token equals ``tokens[i]``:
   that is ``j + 1``;
3. so the model predicts ``tokens[j + 1]`` next.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import torch

from attnviz.capturing.tokenizing import token_labels
from attnviz.models.registry import BUILTIN_MODELS
from attnviz.roles.report import RoleReport
from attnviz.tracing.trace import run
from attnviz.tracing.vocab import without_unknown


@dataclass(frozen=True)
class CircuitHeads:
    previous_head: int  # in layer 0
    induction_head: int  # in layer 1
    previous_score: float
    induction_score: float


@dataclass(frozen=True)
class CircuitStep:
    query: int  # i
    earlier: int  # j: the earlier position with tokens[j] == tokens[i]
    tokens: tuple[str, ...]
    previous_row: np.ndarray  # layer-0 previous-token head, row j + 1
    induction_row: np.ndarray  # layer-1 induction head, row i
    predictions: tuple[tuple[str, float], ...]  # the model's top next tokens at i, with probabilities
    # at j, on the first copy: the probability the model gave the word that came next there (tokens[j + 1])
    first_copy_probability: float = float("nan")

    @property
    def copied(self) -> str:
        return self.tokens[self.earlier + 1]


def circuit_heads(report: RoleReport, kind: str = "decoder") -> CircuitHeads:
    """The strongest previous-token head of layer 0 and induction head of layer 1."""
    layer0 = [h for h in report.heads if h.kind == kind and h.layer == 0]
    layer1 = [h for h in report.heads if h.kind == kind and h.layer == 1]
    prev = max(layer0, key=lambda h: h.scores["previous"])
    ind = max(layer1, key=lambda h: h.scores["induction"])
    return CircuitHeads(prev.head, ind.head, prev.scores["previous"], ind.scores["induction"])


def repeated_positions(token_ids: tuple[int, ...], special: tuple[bool, ...]) -> list[tuple[int, int]]:
    """(i, j): positions i whose token appeared before at j (latest earlier copy), j + 1 < i, no specials."""
    out = []
    for i in range(len(token_ids)):
        if special[i]:
            continue
        earlier = [j for j in range(i - 1) if token_ids[j] == token_ids[i] and not special[j]]
        if earlier:
            out.append((i, earlier[-1]))
    return out


def circuit_step(loaded, result, heads: CircuitHeads, query: int, top: int = 3) -> CircuitStep:
    """The lesson's numbers at ``query`` (which must be a repeated position of ``result.source``)."""
    sequence = result.source
    pairs = dict(repeated_positions(sequence.token_ids, sequence.special))
    if query not in pairs:
        raise ValueError(f"position {query} has no earlier copy of its token")
    earlier = pairs[query]
    maps = result.arrays["decoder"]
    ids = torch.tensor([sequence.token_ids], device=loaded.device)
    every = run(loaded, {"input_ids": ids}).outputs.logits[0]  # [position, vocabulary]
    logits = every[query]
    first_copy = float(torch.softmax(every[earlier].float(), -1)[sequence.token_ids[earlier + 1]])
    probs = without_unknown(torch.softmax(logits.float(), -1), loaded.tokenizer, fill=-1.0)
    best = torch.topk(probs, top)
    words = token_labels(loaded.tokenizer, best.indices.tolist())
    return CircuitStep(
        query=query, earlier=earlier, tokens=tuple(sequence.tokens),
        previous_row=maps[result.layers["decoder"].index(0), heads.previous_head, earlier + 1, : earlier + 2].copy(),
        induction_row=maps[result.layers["decoder"].index(1), heads.induction_head, query, : query + 1].copy(),
        predictions=tuple((w, float(p)) for w, p in zip(words, best.values.tolist())),
        first_copy_probability=first_copy,
    )


@dataclass(frozen=True)
class CurveSummary:
    """What the training curve of toy-induction shows, for the lesson's text (the text reads its numbers here).

    The model is trained on the repeated copy only, so nothing holds its guesses on the random first copy
    near chance: that loss starts at about ln(vocabulary) and may rise above it (confidently wrong)."""

    first_start: float  # loss on the first copy (nats) at the first logged step
    first_end: float  # ... at the last
    repeated_start: float  # loss on the repeated copy at the first logged step
    repeated_end: float  # ... at the last
    drop_step: int  # first step where the repeated copy's loss fell below half its start
    steps: int  # the last logged step

    @property
    def first_rises(self) -> bool:
        """The first copy's loss ended clearly above where it started (more than 0.5 nats)."""
        return self.first_end > self.first_start + 0.5


def training_curve(model_name: str = "toy-induction") -> list[dict]:
    """The built-in model's training curve as its training wrote it (``training_curve.json``): rows of step,
    first_copy and repeated_copy (mean loss in nats on the first and the repeated half of the texts)."""
    return json.loads((BUILTIN_MODELS[model_name].locate() / "training_curve.json").read_text("utf-8"))["curve"]


def curve_summary(curve: list[dict]) -> CurveSummary:
    """The numbers of a training curve (``training_curve.json``'s rows: step, first_copy, repeated_copy)."""
    first, last = curve[0], curve[-1]
    half = first["repeated_copy"] / 2
    drop = next((row["step"] for row in curve if row["repeated_copy"] < half), last["step"])
    return CurveSummary(first_start=float(first["first_copy"]), first_end=float(last["first_copy"]),
                        repeated_start=float(first["repeated_copy"]), repeated_end=float(last["repeated_copy"]),
                        drop_step=int(drop), steps=int(last["step"]))
