"""Token labels for display, hiding special tokens and merging sub-words into words."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from attnviz.result import TokenSequence


def unique_labels(labels: Sequence[str], positions: Sequence[int] | None = None) -> list[str]:
    """Labels with duplicates told apart by token position ("the", "the" -> "the·1", "the·4").

    ``positions`` are the tokens' positions in the full sequence, so a label reads the same
    whether or not special tokens are hidden.
    """
    positions = list(range(len(labels))) if positions is None else list(positions)
    seen: dict[str, int] = {}
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
    return [label if seen[label] == 1 else f"{label}·{p}" for p, label in zip(positions, labels)]


def visible_positions(seq: TokenSequence, hide_special: bool) -> list[int]:
    """Positions to show; if hiding would leave nothing, everything stays visible."""
    kept = [i for i, special in enumerate(seq.special) if not (hide_special and special)]
    return kept or list(range(len(seq)))


def renormalise_rows(matrix: np.ndarray, masked: np.ndarray | None = None) -> np.ndarray:
    """Rows of ``[..., query, key]`` scaled to sum to 1 again (after columns were hidden), over the cells
    ``masked`` leaves (those become 0); all-zero rows stay zero. The one definition every view uses."""
    kept = matrix if masked is None else np.where(masked, 0, matrix)
    sums = kept.sum(axis=-1, keepdims=True)
    return np.divide(kept, sums, out=np.zeros_like(kept), where=sums > 0)


def word_groups(seq: TokenSequence, positions: Sequence[int]) -> list[list[int]]:
    """Consecutive positions of the same word form one group; specials stay alone."""
    groups: list[list[int]] = []
    for position in positions:
        word = seq.word_ids[position]
        if groups and word is not None and seq.word_ids[groups[-1][-1]] == word and groups[-1][-1] == position - 1:
            groups[-1].append(position)
        else:
            groups.append([position])
    return groups


def group_label(seq: TokenSequence, group: Sequence[int]) -> str:
    """The word a group of pieces spells: each character once, even where byte-level BPE split one
    character over two tokens (both tokens then cover the same span of the text)."""
    label, last_span = "", None
    for position in group:
        span = seq.offsets[position]
        if span != (0, 0) and span == last_span:
            continue
        piece = seq.labels[position]
        if piece == "␣" and len(group) > 1:  # a lone space piece (byte-level BPE) adds nothing to a word
            continue
        label += piece[2:] if label and piece.startswith("##") else piece
        last_span = span
    return label or "␣"


def merge_words(matrix: np.ndarray, row_groups: list[list[int]], col_groups: list[list[int]]) -> np.ndarray:
    """Word-level attention: sum over a word's key pieces (weight it receives), mean over its query pieces.

    Summing keys keeps each row a distribution; averaging queries keeps it one too.
    ``matrix`` is indexed by absolute positions ``[..., query, key]``. When nothing is merged or hidden the
    result may be ``matrix`` itself: treat it as read-only.
    """
    if all(len(g) == 1 for g in row_groups) and all(len(g) == 1 for g in col_groups):
        # one token per group (nothing merged): a selection, not a loop; long inputs have thousands of groups
        rows, cols = [g[0] for g in row_groups], [g[0] for g in col_groups]
        return matrix[..., _as_slice(rows), :][..., _as_slice(cols)]
    by_col = np.stack([matrix[..., group].sum(axis=-1) for group in col_groups], axis=-1)
    return np.stack([by_col[..., group, :].mean(axis=-2) for group in row_groups], axis=-2)


def _as_slice(positions: list[int]) -> slice | list[int]:
    """A run of consecutive positions as a slice (a view, no copy); any other selection as it is."""
    if positions and positions == list(range(positions[0], positions[-1] + 1)):
        return slice(positions[0], positions[-1] + 1)
    return positions


def unknown_words(tokenizer, text: str) -> list[str]:
    """The pieces of ``text`` a (fast) tokenizer mapped to its unknown token, in order, without repeats."""
    if tokenizer.unk_token_id is None or not getattr(tokenizer, "is_fast", False):
        return []
    encoding = tokenizer(text, return_offsets_mapping=True, add_special_tokens=False)
    words: list[str] = []
    for token_id, (start, end) in zip(encoding["input_ids"], encoding["offset_mapping"]):
        word = text[start:end]
        if token_id == tokenizer.unk_token_id and word and word not in words:
            words.append(word)
    return words
