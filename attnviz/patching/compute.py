"""Activation patching, exact and by attribution, as writes at named hook points of one traced run.

    pair = prepare(loaded, "When Mary and John went to the store, John gave a drink to",
                   "When Mary and John went to the store, Mary gave a drink to", " Mary", " John")
    exact = patch(loaded, pair, "head_out")          # [layer, head]: 1 = the clean answer fully back
    estimate = attribute(loaded, pair, "head_out")   # the same map from two forward passes and one backward

**Exact**: one patched run per cell (a layer's position, head, or head at a position): the corrupted input,
with the clean run's value of that cell written in at its hook point. Runs are batched: row ``r`` of one
forward pass carries patch ``r``, so a hook writes every row's own cell (many layers' cells share a pass).

**Attribution** (Nanda 2023; AtP, Kramár et al. 2024): the metric's first-order change when a cell's
activation ``a`` moves from its corrupted value to its clean one, ``(a_clean - a_corrupt) · ∂m/∂a``, the
gradient taken on the corrupted run. Every cell from one clean pass, one corrupted pass and one backward.

**The metric** ``m``: decoders and encoder-decoders, the logit of the answer token minus the logit of the wrong
token at the last (decoder) position; encoders, the mean-pooled last hidden state projected on the clean
run's own direction (the sentence-embedding output of the faithfulness view). Scores are normalised,
``(m - m_corrupt) / (m_clean - m_corrupt)``: 1 is the clean answer, 0 the corrupted one.
"""

from __future__ import annotations

import inspect
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from attnviz.capturing.run import model_inputs
from attnviz.errors import PatchingError
from attnviz.patching.components import Target, resolve
from attnviz.patching.result import PatchingResult
from attnviz.result import AttentionKind, TokenSequence
from attnviz.tracing.names import block_point
from attnviz.tracing.trace import run

# Tokens per batched forward pass (rows x sequence length): big enough that 72 head patches of a 32-token
# prompt share one pass, small enough that activations of a 6-layer, 768-wide model stay under ~1 GB.
BATCH_TOKENS = 4096


@dataclass(frozen=True)
class Pair:
    """A clean and a corrupted input of the same token length, and the tokens the metric compares."""

    clean: Mapping[str, torch.Tensor]
    corrupt: Mapping[str, torch.Tensor]
    clean_tokens: tuple[str, ...]
    corrupt_tokens: tuple[str, ...]
    metric: str  # "logit_diff" or "embedding_projection"
    answer: str = ""
    wrong: str = ""
    answer_id: int | None = None
    wrong_id: int | None = None
    target_tokens: tuple[str, ...] = ()  # an encoder-decoder's decoder input (the metric is read at its end)

    @property
    def lengths(self) -> dict[str, int]:
        """Tokens per stack: ``{"decoder": n}``, ``{"encoder": n}`` or both for an encoder-decoder."""
        if "decoder_input_ids" in self.clean:
            return {"encoder": int(self.clean["input_ids"].shape[1]),
                    "decoder": int(self.clean["decoder_input_ids"].shape[1])}
        return {"decoder" if self.metric == "logit_diff" else "encoder": int(self.clean["input_ids"].shape[1])}


def _labels(tokens: TokenSequence) -> tuple[str, ...]:
    return tuple(tokens.labels) if getattr(tokens, "labels", None) else tuple(tokens.tokens)


def _one_token(loaded, word: str | None, role: str) -> int:
    if word is None or not str(word).strip():
        raise PatchingError(code="patch_no_token", role=role)
    key = "text_target" if loaded.family == "encoder-decoder" else "text"
    ids = loaded.tokenizer(**{key: word}, add_special_tokens=False)["input_ids"]
    if len(ids) != 1:
        pieces = " ".join(loaded.tokenizer.convert_ids_to_tokens(ids)) or "(nothing)"
        raise PatchingError(code="patch_not_one_token", role=role, word=word, n=len(ids), pieces=pieces)
    return int(ids[0])


def prepare(loaded, clean: str, corrupt: str, answer: str | None = None, wrong: str | None = None,
            target: str | None = None) -> Pair:
    """Tokenize a clean and a corrupted text (an encoder-decoder's source texts; ``target`` is the target text
    both decoders read, generated from the clean source when not given) and check they can be patched."""
    clean_inputs, clean_tokens, reads = model_inputs(loaded, clean, target)
    # an encoder-decoder's corrupted run reads the clean run's target (set below): none generated for it
    corrupt_inputs, corrupt_tokens, _ = model_inputs(loaded, corrupt, target, max_new_tokens=1)
    n_clean, n_corrupt = len(clean_tokens.token_ids), len(corrupt_tokens.token_ids)
    if n_clean != n_corrupt:
        raise PatchingError(code="patch_lengths", n_clean=n_clean, n_corrupt=n_corrupt)
    if loaded.family == "encoder-decoder":  # both decoders read the same target
        corrupt_inputs = {**corrupt_inputs, "decoder_input_ids": clean_inputs["decoder_input_ids"]}
    if loaded.family == "encoder":
        return Pair(clean_inputs, corrupt_inputs, _labels(clean_tokens), _labels(corrupt_tokens),
                    "embedding_projection")
    target_tokens = _labels(reads) if reads is not None else ()
    answer_id, wrong_id = _one_token(loaded, answer, "answer"), _one_token(loaded, wrong, "wrong")
    if answer_id == wrong_id:
        raise PatchingError(code="patch_same_token", answer=answer, wrong=wrong)
    return Pair(clean_inputs, corrupt_inputs, _labels(clean_tokens), _labels(corrupt_tokens), "logit_diff",
                str(answer), str(wrong), answer_id, wrong_id, target_tokens)


class Metric:
    """``m`` of a batch of outputs, ``[batch]``; for encoders the direction is the clean run's (fixed)."""

    def __init__(self, loaded, pair: Pair):
        self.loaded, self.pair = loaded, pair
        self.direction: torch.Tensor | None = None
        self.kwargs: dict = {}
        if pair.metric == "logit_diff":
            if "logits_to_keep" in inspect.signature(loaded.model.forward).parameters:
                self.kwargs["logits_to_keep"] = 1  # the last position's logits only: not [rows, pos, vocab]
        elif not hasattr(loaded.model, "pooler") and "output_hidden_states" in inspect.signature(
                loaded.model.forward).parameters:
            self.kwargs["output_hidden_states"] = True

    def state(self, outputs) -> torch.Tensor:
        """The encoder's sentence embedding: the mean-pooled last hidden state, ``[batch, d_model]``."""
        hidden = getattr(outputs, "last_hidden_state", None)
        if hidden is None:
            hidden = outputs.hidden_states[-1]
        return hidden.float().mean(dim=1)

    def fix_direction(self, clean_outputs) -> None:
        if self.pair.metric == "embedding_projection":
            state = self.state(clean_outputs)[0].detach()
            self.direction = state / state.norm().clamp_min(1e-12)

    def __call__(self, outputs) -> torch.Tensor:
        if self.pair.metric == "embedding_projection":
            return self.state(outputs) @ self.direction
        logits = getattr(outputs, "logits", None)
        if logits is None:
            raise PatchingError(code="patch_no_logits", model=self.loaded.name)
        last = logits[:, -1].float()
        return last[:, self.pair.answer_id] - last[:, self.pair.wrong_id]


def _unchanged(value: torch.Tensor, point: str) -> None:
    """A hook that writes nothing: a point that cannot be written (post-LN hook_mlp_out, attention outside the
    interface) is refused by the tracer, with the reason every view gives, before any patched run."""
    return None


def _clean_run(loaded, pair: Pair, names: list[str], metric: Metric):
    clean = run(loaded, pair.clean, cache=names, hooks=[(names, _unchanged)], **metric.kwargs)
    metric.fix_direction(clean.outputs)
    m_clean = float(metric(clean.outputs)[0])
    return clean, m_clean


def _normaliser(m_clean: float, m_corrupt: float) -> float:
    gap = m_clean - m_corrupt
    if not abs(gap) > 1e-6 * (1 + abs(m_clean)):
        raise PatchingError(code="patch_no_difference", value=round(m_clean, 4))
    return gap


def _rows(inputs: Mapping[str, torch.Tensor], n: int) -> dict[str, torch.Tensor]:
    return {key: value.expand(n, *value.shape[1:]) for key, value in inputs.items()}


def patch(loaded, pair: Pair, name: str, kind: AttentionKind | None = None, *,
          batch_tokens: int = BATCH_TOKENS, split_rows: bool = True) -> PatchingResult:
    """Exact activation patching of component ``name`` (see :mod:`attnviz.patching.components`) of ``kind``
    attention: every cell's clean value in the corrupted run, one run per cell, batched.

    ``split_rows=False`` runs every patched row from the first layer on (the reference for the split passes)."""
    target = resolve(loaded, name, kind, pair.lengths)
    names = [target.name(layer) for layer in range(target.sizes["layer"])]
    metric = Metric(loaded, pair)
    # the clean and the corrupted run in one pass of two rows (same length; an encoder-decoder's same target)
    both = run(loaded, {key: torch.cat([pair.clean[key], pair.corrupt[key]]) for key in pair.clean}, cache=names,
               hooks=[(names, _unchanged)], **metric.kwargs)
    metric.fix_direction(both.outputs)  # row 0: the clean run
    m_clean, m_corrupt = (float(v) for v in metric(both.outputs))
    gap = _normaliser(m_clean, m_corrupt)
    clean = {point: both.cache[point][0] for point in names}  # without the batch axis
    corrupted = {point: both.cache[point][1] for point in names}
    # a cell whose clean value is its corrupted value (a position before the first changed token of a decoder)
    # changes nothing when patched: it scores 0 without a run
    every = target.cells()  # layer first: a chunk's cells come in layer order
    moved = [not torch.equal(clean[names[c[0]]][target.selection(c)], corrupted[names[c[0]]][target.selection(c)])
             for c in every]
    cells = [c for c, m in zip(every, moved) if m]
    per_row = sum(int(t.shape[1]) for key, t in pair.corrupt.items() if key.endswith("input_ids"))
    rows = max(1, batch_tokens // per_row)
    scores = np.empty(len(cells), dtype=np.float64)
    split = split_rows and loaded.family != "encoder-decoder"  # one stack: rows split off where their patch starts
    passes = 0
    for start in range(0, len(cells), rows):
        chunk = cells[start:start + rows]
        if split:
            try:
                scores[start:start + len(chunk)] = _split_pass(loaded, pair, target, names, chunk, clean, metric)
                passes += 1
                continue
            except RuntimeError:  # a model whose blocks keep the input's batch size: one full row per patch
                split = False
        scores[start:start + len(chunk)] = _full_pass(loaded, pair, names, target, chunk, clean, metric)
        passes += 1
    values = np.zeros(len(every))
    values[np.flatnonzero(moved)] = (scores - m_corrupt) / gap
    return _result(target, pair, "exact", m_clean, m_corrupt, values.reshape(target.shape), runs=len(cells),
                   passes=passes)


def _writer(target: Target, names: list[str], chunk: list[tuple[int, ...]], clean, first_row: int):
    """The hook that writes cell ``i`` of ``chunk`` into batch row ``first_row + i`` (rows with other cells, or
    in other layers, keep their values)."""
    writes: dict[str, list[tuple[int, tuple]]] = defaultdict(list)
    for row, cell in enumerate(chunk, start=first_row):
        writes[names[cell[0]]].append((row, target.selection(cell)))

    def write(value: torch.Tensor, point: str) -> torch.Tensor:
        patched = value.clone()
        source = clean[point]  # the clean run's value, no batch axis
        for row, selection in writes[point]:
            patched[(row, *selection)] = source[selection]
        return patched

    return list(writes), write


def _full_pass(loaded, pair: Pair, names, target: Target, chunk, clean, metric: Metric) -> np.ndarray:
    """One corrupted row per cell, from the first layer on."""
    points, write = _writer(target, names, chunk, clean, 0)
    trace = run(loaded, _rows(pair.corrupt, len(chunk)), hooks=[(points, write)], **metric.kwargs)
    return metric(trace.outputs).double().cpu().numpy()


def _split_pass(loaded, pair: Pair, target: Target, names, chunk, clean, metric: Metric) -> np.ndarray:
    """One corrupted row that runs the whole model unpatched, and each cell's row split off from it at its
    layer's input: a patch in layer L shares layers 0..L-1 with the unpatched run, so they are computed once
    (a 6-layer model does about 3.5 rows' work per patch instead of 6)."""
    counts: dict[int, int] = defaultdict(int)
    for cell in chunk:
        counts[cell[0]] += 1
    inputs = {block_point(target.stack, layer, "resid_pre", loaded.family): n for layer, n in counts.items()}

    def split(value: torch.Tensor, point: str) -> torch.Tensor:  # [rows, pos, d] -> [rows + n, pos, d]
        return torch.cat([value, value[:1].expand(inputs[point], *value.shape[1:])])

    points, write = _writer(target, names, chunk, clean, 1)
    trace = run(loaded, pair.corrupt, hooks=[(list(inputs), split), (points, write)], **metric.kwargs)
    values = metric(trace.outputs)
    if values.shape[0] != len(chunk) + 1:
        raise RuntimeError("the batch did not grow")
    return values[1:].double().cpu().numpy()


def attribute(loaded, pair: Pair, name: str, kind: AttentionKind | None = None) -> PatchingResult:
    """Attribution patching of ``name``: ``(a_clean - a_corrupt) · ∂m/∂a`` summed over each cell, normalised
    like exact patching. Two forward passes and one backward pass for every cell."""
    target = resolve(loaded, name, kind, pair.lengths)
    names = [target.name(layer) for layer in range(target.sizes["layer"])]
    metric = Metric(loaded, pair)
    clean, m_clean = _clean_run(loaded, pair, names, metric)
    kept: dict[str, torch.Tensor] = {}

    def keep(value: torch.Tensor, point: str) -> torch.Tensor:
        # a copy the rest of the pass reads, so its gradient is the metric's with respect to this point alone
        # (a point whose inputs need no gradient, parameters frozen, starts a graph of its own)
        copy = value.clone() if value.requires_grad else value.detach().clone().requires_grad_(True)
        kept[point] = copy
        return copy

    corrupted = run(loaded, pair.corrupt, hooks=[(names, keep)], keep_grad=True, **metric.kwargs)
    m = metric(corrupted.outputs)[0]
    m_corrupt = float(m.detach())
    gap = _normaliser(m_clean, m_corrupt)
    present = [n for n in names if n in kept]
    grads = torch.autograd.grad(m, [kept[n] for n in present], allow_unused=True)
    by_name = dict(zip(present, grads))
    layers = []
    for point in names:
        grad = by_name.get(point)
        if grad is None:  # the point does not reach the metric (a layer after the last position read)
            layers.append(torch.zeros(target.shape[1:], dtype=torch.float64))
            continue
        moved = (clean.cache[point][0].double() - kept[point][0].detach().double()) * grad[0].double()
        layers.append(target.reduce(moved))
    values = (torch.stack(layers).cpu().numpy() / gap).reshape(target.shape)
    return _result(target, pair, "attribution", m_clean, m_corrupt, values, runs=0, passes=2)


def _result(target: Target, pair: Pair, method: str, m_clean: float, m_corrupt: float, values: np.ndarray, *,
            runs: int, passes: int) -> PatchingResult:
    side = "encoder" if target.kind == "cross" and target.component.point in ("k", "v") else target.stack
    clean_tokens, corrupt_tokens = pair.clean_tokens, pair.corrupt_tokens
    if side == "decoder" and "decoder_input_ids" in pair.clean:  # the decoder's positions: the target it reads
        clean_tokens = corrupt_tokens = pair.target_tokens
    return PatchingResult(target.component.name, target.kind, method, pair.metric, m_clean, m_corrupt,
                          target.component.axes, np.asarray(values, dtype=np.float64), clean_tokens, corrupt_tokens,
                          pair.answer, pair.wrong, runs, passes)
