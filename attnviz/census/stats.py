"""The census's statistics: what is summed per text and head, and the torch reductions that sum it.

A census runs in four jobs, one module each: :mod:`~attnviz.census.batches` plans the batches,
:mod:`~attnviz.census.forward` reads each batch in one traced pass and reduces every layer's weights
``(B, H, Q, K)`` here *as the layer produces them* (torch operations on the model's device, masks for
padding and special tokens, no loop over texts), :mod:`~attnviz.census.parts` stores a batch's part
(Parquet), and :mod:`~attnviz.census.accumulate` adds parts. A part holds *sums and counts* in float64
(never means), so parts combine by addition in batch order: the result is the same whichever engine ran
the batches and in whatever order they finished.

Statistics, per head (kind, layer, head):

- the **head roles** of ``attnviz roles`` (:mod:`attnviz.roles.scores`, the same code): for each linear
  role its numerator, denominator and rows summed over texts, so the corpus score is
  ``sum(num) / sum(den)`` (the formula of one text, summed); ``broad`` and ``monotonic`` and every
  role's shuffled-position baseline are means over texts; the verdict (``roles``, ``primary``) uses the
  thresholds of :mod:`attnviz.roles.report`;
- over the rows of word tokens (self-attention: non-special query tokens, a decoder also skips row 0,
  which can only see itself; cross-attention: every target row):
  ``offset.d``: mean weight on the key at relative position ``d`` (key − query), for |d| <= 8 (self-attention);
  ``sink``: share of rows that put at least half their weight on sinks (the first key or a special token);
  ``entropy``: row entropy in bits; ``entropy_rel``: entropy / log2(keys the row may see), rows that
  see one key skipped; its distribution in ``ENTROPY_BINS`` bins and its square for a spread;
- ``alignment`` (cross-attention, texts with a gold alignment): share of target words whose strongest
  non-special source token belongs to one of the gold source words; ``alignment_mass``: weight on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from attnviz.census.sources import Alignment
from attnviz.errors import NoAttentionError
from attnviz.result import AttentionKind, Family, TokenSequence
from attnviz.roles.entropy import relative_entropy
from attnviz.roles.scores import (
    BatchFacts,
    RoleMasks,
    allowed_weights,
    diagonals,
    linear_rows,
    monotonic,
    role_masks,
    role_rows,
    text_scores,
    uniform_weights,
    wide,
)
from attnviz.roles.vocabulary import BY_FAMILY, LINEAR_ROLES

STATS_VERSION = 2
OFFSETS: tuple[int, ...] = tuple(range(-8, 9))
ENTROPY_BINS = 10
SINK_SHARE = 0.5  # a row is a sink row when at least this much of its weight is on sinks
MEANS: tuple[str, ...] = ("sink", "entropy", "entropy_rel", "alignment", "alignment_mass")
# the statistics whose strongest texts are kept: every role of any kind, then three distributions
EXAMPLE_STATS: tuple[str, ...] = (*BY_FAMILY, "sink", "entropy_rel", "alignment")


def _sum_names() -> tuple[str, ...]:
    names = [f"{r}.{part}" for r in LINEAR_ROLES for part in ("num", "den", "rows", "base")]
    names += ["broad.sum", "monotonic.sum", "monotonic.base", "texts"]
    names += ["sink.sum", "rows", "entropy.sum", "entropy_rel.sum", "entropy_rel_sq.sum", "entropy.count"]
    names += [f"entropy_bin.{b}" for b in range(ENTROPY_BINS)]
    names += [f"offset.{d}.{part}" for part in ("sum", "count") for d in OFFSETS]
    names += ["alignment.sum", "alignment_mass.sum", "alignment.count"]
    return tuple(names)


SUM_NAMES = _sum_names()
COLUMN = {name: i for i, name in enumerate(SUM_NAMES)}
HeadKey = tuple[str, int, int]  # (kind, layer, head)
_OFFSET_COLUMNS = [COLUMN[f"offset.{d}.sum"] for d in OFFSETS]


def _columns(*names: str) -> list[int]:
    return [COLUMN[n] for n in names]



# ---------------------------------------------------------------------------------------------- one kind
@contextmanager
def one_thread(device: torch.device | str):
    """On a CPU the statistics run on one thread: they are a few dozen small operations per layer, for which
    waking intra-op threads costs more than it saves (on a busy machine a descheduled helper thread
    stalls every one of them: 20-70 ms per MiniLM layer at batch 16 on 2 shared cores against 1-2 ms on
    one). The model's own layers keep the threads they had."""
    threads = torch.get_num_threads()
    if torch.device(device).type != "cpu" or threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@dataclass(frozen=True)
class KindContext:
    """What the statistics of one kind of attention need about a batch, on the model's device: built once
    per batch, used for every layer of that kind."""

    masks: RoleMasks
    cross: bool
    rows: torch.Tensor  # (B, Q) float: the word rows of the non-role statistics
    entropy_rows: torch.Tensor  # (B, Q) float: ... that see at least two keys
    offsets: torch.Tensor | None  # (B, Q, len(OFFSETS)) float: word rows whose key i + d exists
    gold: torch.Tensor | None  # (B, Q, K) float: gold source tokens of each target row (cross, with alignments)
    gold_rows: torch.Tensor | None  # (B, Q) float: target rows with a gold alignment
    candidates: torch.Tensor | None  # (B, K) bool: keys the alignment's argmax may choose
    fixed: torch.Tensor  # (B, len(SUM_NAMES)): the head-independent columns (row counts, baselines)
    row_weights: torch.Tensor  # (B, 1, Q, X): what each row adds to each of the X per-row sums of head_sums
    columns: list[int]  # their columns in SUM_NAMES


def kind_context(facts: BatchFacts, gold: torch.Tensor | None = None,
                 gold_rows: torch.Tensor | None = None) -> KindContext:
    masks = role_masks(facts)
    real = facts.query_real
    device = real.device
    if facts.cross:
        rows = real
    else:
        rows = real & ~facts.query_special
        if facts.causal:
            rows = rows & (torch.arange(real.shape[1], device=device) >= 1)[None]
    entropy_rows = rows & masks.entropy_rows
    fixed = wide(torch.zeros((real.shape[0], len(SUM_NAMES)), device=device))
    offsets = None
    if not facts.cross:
        q = torch.arange(real.shape[1], device=device)[None, :, None]
        d = torch.as_tensor(OFFSETS, device=device)[None, None, :]
        inside = (q + d >= 0) & (q + d < facts.key_length[:, None, None])
        if facts.causal:
            inside = inside & (d <= 0)
        offsets = (rows[:, :, None] & inside).float()
        fixed[:, _columns(*(f"offset.{d}.count" for d in OFFSETS))] = wide(offsets).sum(1)
    n_rows = role_rows(masks)
    fixed[:, _columns(*(f"{r}.rows" for r in masks.roles))] = n_rows
    base = text_scores(uniform_weights(masks), masks)  # the uniform map's scores: the shuffled baseline
    fixed[:, _columns(*(f"{r}.base" for r in masks.roles))] = torch.stack([base[r][:, 0] for r in masks.roles], -1)
    if facts.cross:
        fixed[:, COLUMN["monotonic.base"]] = base["monotonic"][:, 0]
    fixed[:, COLUMN["texts"]] = 1.0
    fixed[:, COLUMN["rows"]] = wide(rows).sum(1)
    fixed[:, COLUMN["entropy.count"]] = wide(entropy_rows).sum(1)
    candidates = None
    if gold is not None:
        candidates = facts.key_real & ~facts.key_special
        gold_rows = gold_rows & candidates.any(-1, keepdim=True)
        fixed[:, COLUMN["alignment.count"]] = wide(gold_rows).sum(1)
    # per-row sums, in the order head_sums stacks them: numerators and denominators of the linear roles (on
    # their rows), sink rows, bits, relative entropy and its square and its histogram (on the word rows that
    # see two keys), broad (each row's share of its text's mean), then the offsets
    counted = entropy_rows.float()[..., None]
    parts = [masks.rows, masks.rows, rows.float()[..., None], counted.expand(-1, -1, 3 + ENTROPY_BINS),
             (masks.entropy_rows.float() / masks.entropy_rows.sum(-1, keepdim=True).clamp(min=1))[..., None]]
    columns = _columns(*(f"{r}.num" for r in masks.roles), *(f"{r}.den" for r in masks.roles), "sink.sum",
                       "entropy.sum", "entropy_rel.sum", "entropy_rel_sq.sum",
                       *(f"entropy_bin.{b}" for b in range(ENTROPY_BINS)), "broad.sum")
    if offsets is not None:
        parts.append(offsets)
        columns += _OFFSET_COLUMNS
    return KindContext(masks, facts.cross, rows.float(), entropy_rows.float(), offsets,
                       None if gold is None else gold.float(), None if gold_rows is None else gold_rows.float(),
                       candidates, fixed, torch.cat(parts, -1)[:, None], columns)




def head_sums(weights: torch.Tensor, context: KindContext) -> torch.Tensor:
    """One layer's weights ``(B, H, Q, K)`` -> each text's sums ``(B, H, len(SUM_NAMES))`` in float64, on the device.

    Every per-row quantity is stacked into one ``(B, H, Q, X)`` tensor and summed over each text's rows
    with one product: the statistics are few large operations, not many small ones.
    """
    m = context.masks
    a = allowed_weights(weights, m)  # (B, H, Q, K), NaN-free, zero outside each row's allowed keys
    out = context.fixed[:, None, :].repeat(1, a.shape[1], 1)
    near = diagonals(a, OFFSETS) if context.offsets is not None else None  # (B, H, Q, 17): weight at i + d
    centre = OFFSETS.index(0)
    num, den, sinks = linear_rows(a, m, None if near is None else near[..., centre - 2: centre + 3])
    relative = relative_entropy(a, m.keys_seen[:, None])  # (B, H, Q)
    bins = (relative * ENTROPY_BINS).long().clamp(0, ENTROPY_BINS - 1)
    histogram = (bins[..., None] == torch.arange(ENTROPY_BINS, device=bins.device)).float()
    per_row = [num, den, (sinks >= SINK_SHARE).float()[..., None],
               torch.stack([relative * m.log_allowed[:, None], relative, relative * relative], -1), histogram,
               relative[..., None]] + ([near] if near is not None else [])
    sums = (torch.cat(per_row, -1) * context.row_weights).sum(2)  # (B, H, X): rows of one text in float32
    out[..., context.columns] = wide(sums)
    out[..., COLUMN["broad.sum"]].clamp_(0.0, 1.0)
    if context.cross:
        out[..., COLUMN["monotonic.sum"]] = monotonic(weights, m, masked=a)
    if context.gold is not None:
        strongest = torch.where(context.candidates[:, None, None, :], a, float("-inf")).argmax(-1)  # (B, H, Q)
        hits = context.gold[:, None].expand_as(a).gather(-1, strongest[..., None])[..., 0]
        gold_rows = context.gold_rows[:, None]
        out[..., COLUMN["alignment.sum"]] = (hits * gold_rows).sum(-1)
        out[..., COLUMN["alignment_mass.sum"]] = ((a * context.gold[:, None]).sum(-1) * gold_rows).sum(-1)
    return out



# ---------------------------------------------------------------------------------------------- the token facts
@dataclass(frozen=True)
class CensusText:
    """One text of a batch as the statistics see it: its tokens on each side and its gold word alignment."""

    text_id: int
    source: TokenSequence
    reads: TokenSequence | None = None  # an encoder-decoder's decoder input
    produces: TokenSequence | None = None  # ... and what each decoder row produces
    alignment: Alignment | None = None


def sides(family: Family, kinds: Sequence[AttentionKind], text: CensusText) -> dict[AttentionKind, tuple]:
    """(query sequence, key sequence) of each kind of attention for one text."""
    if family == "encoder-decoder":
        return {"encoder": (text.source, text.source), "decoder": (text.reads, text.reads),
                "cross": (text.reads, text.source)}
    return {kinds[0]: (text.source, text.source)}


def _gold(texts: Sequence[CensusText], width_q: int, width_k: int, device
          ) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Gold source tokens of each target row (from each text's word alignment), or None without alignments."""
    if all(t.alignment is None or t.produces is None for t in texts):
        return None
    gold = torch.zeros((len(texts), width_q, width_k), dtype=torch.bool)
    for b, t in enumerate(texts):  # input preparation from the token facts: no attention is read here
        produced, alignment = t.produces, t.alignment
        if alignment is None or produced is None:
            continue
        key_words = t.source.word_ids[:width_k]
        for i, word in enumerate(produced.word_ids[:width_q]):
            if word is None or word >= len(alignment) or not alignment[word]:
                continue
            wanted = set(alignment[word])
            gold[b, i, : len(key_words)] = torch.tensor([w is not None and w in wanted for w in key_words])
    return gold.to(device), gold.any(-1).to(device)


def contexts_for(family: Family, kinds: Sequence[AttentionKind], texts: Sequence[CensusText],
                 widths: dict[str, int], device) -> dict[AttentionKind, KindContext]:
    """The :class:`KindContext` of each kind of attention for a padded batch (``widths``: its source and target)."""
    text_sides = [sides(family, kinds, t) for t in texts]
    out = {}
    for kind in text_sides[0]:
        query = [(s[kind][0].token_ids, s[kind][0].special) for s in text_sides]
        key = [(s[kind][1].token_ids, s[kind][1].special) for s in text_sides]
        cross = kind == "cross"
        q_width = widths["target" if kind != "encoder" and family == "encoder-decoder" else "source"]
        k_width = widths["source" if kind != "decoder" or family != "encoder-decoder" else "target"]
        facts = BatchFacts.padded(query, key if cross else None, causal=kind == "decoder",
                                  widths=(q_width, k_width), device=device)
        gold = _gold(texts, q_width, k_width, device) if cross else None
        out[kind] = kind_context(facts, *(gold or (None, None)))
    return out


def stack_sums(sums: dict[tuple[str, int], torch.Tensor], heads: Sequence[HeadKey], model: str) -> np.ndarray:
    """Each layer's ``(B, H, len(SUM_NAMES))`` sums as ``[texts, heads, len(SUM_NAMES)]`` float64 in ``heads`` order.
    ``model``: its name, for the error when a layer gave no weights."""
    layers = list(dict.fromkeys((kind, layer) for kind, layer, _ in heads))
    missing = [kl for kl in layers if kl not in sums]
    if missing:
        raise NoAttentionError(code="missing_layers", model=model, missing=missing[:3])
    parts = []
    for kind, layer in layers:
        n_heads = sum(1 for k, li, _ in heads if (k, li) == (kind, layer))
        parts.append(sums[(kind, layer)][:, :n_heads])
    return torch.cat(parts, 1).cpu().numpy().astype(np.float64, copy=False)
