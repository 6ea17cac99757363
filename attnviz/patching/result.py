"""What a patching experiment returns: normalised scores on the component's axes, with the facts to read them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attnviz.result import AttentionKind


@dataclass(frozen=True)
class PatchingResult:
    """Scores of one component: 1 where patching the cell back brings the clean answer fully back, 0 where it
    changes nothing (the corrupted run's metric).

    ``values`` has the shape of ``axes`` (``("layer", "head")`` for head_out; TransformerLens' order).
    ``method`` is "exact" (one patched run per cell) or "attribution" (the first-order estimate).
    """

    component: str
    kind: AttentionKind
    method: str
    metric: str  # "logit_diff" or "embedding_projection"
    clean: float  # the metric on the clean run (raw, before normalising)
    corrupt: float
    axes: tuple[str, ...]
    values: np.ndarray
    clean_tokens: tuple[str, ...]  # tokens on the positions axis (the clean text's)
    corrupt_tokens: tuple[str, ...]
    answer: str = ""
    wrong: str = ""
    runs: int = 0  # patched runs made (exact), forward passes batched into (``passes``)
    passes: int = 0

    def matrix(self) -> tuple[np.ndarray, list[str], list[str], list[tuple[int, int | None]]]:
        """The scores as one 2-D map: ``(values, row labels, column labels, (layer, head) of each row)``.

        Layer × head and layer × position components are their own map; components by head *and* position
        (``head_out_by_pos``, ``head_pattern_by_pos`` ...) put one row per layer and head (``L1.H3``).
        """
        values, axes = self.values, self.axes
        if len(axes) == 2:
            layers = [(layer, None) for layer in range(values.shape[0])]
            cols = ([str(h) for h in range(values.shape[1])] if axes[1] == "head"
                    else list(self.clean_tokens[:values.shape[1]]))
            return values, [str(layer) for layer in range(values.shape[0])], cols, layers
        by_head = values if axes[1] == "head" else values.transpose(0, 2, 1)  # [layer, head, pos]
        n_layers, n_heads, n_pos = by_head.shape
        rows = [(layer, head) for layer in range(n_layers) for head in range(n_heads)]
        return (by_head.reshape(n_layers * n_heads, n_pos), [f"L{layer}.H{head}" for layer, head in rows],
                list(self.clean_tokens[:n_pos]), rows)

    def to_json(self) -> dict:
        """The CLI's answer: ``{"metric", "clean", "corrupt", "component", "values", ...}``."""
        return {"metric": self.metric, "clean": self.clean, "corrupt": self.corrupt, "component": self.component,
                "kind": self.kind, "method": self.method, "axes": list(self.axes), "answer": self.answer,
                "wrong": self.wrong, "tokens": list(self.clean_tokens), "values": self.values.tolist()}


@dataclass(frozen=True)
class Agreement:
    """How well attribution patching estimates exact patching on one component."""

    correlation: float  # Pearson, over every cell
    disagreements: tuple[tuple[tuple[int, ...], float, float], ...]  # (cell, exact, attribution), largest gap first


def agreement(exact: PatchingResult, estimate: PatchingResult, top: int = 5) -> Agreement:
    """Pearson correlation of the two maps and the ``top`` cells where they differ most."""
    if exact.values.shape != estimate.values.shape:
        raise ValueError(f"shapes differ: {exact.values.shape} and {estimate.values.shape}")
    a, b = exact.values.ravel().astype(np.float64), estimate.values.ravel().astype(np.float64)
    correlation = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else float("nan")
    order = np.argsort(-np.abs(a - b))[:top]
    cells = tuple((tuple(int(i) for i in np.unravel_index(k, exact.values.shape)), float(a[k]), float(b[k]))
                  for k in order)
    return Agreement(correlation, cells)
