"""The same agreement scores over many texts: the mean per method with its spread, and paired differences.

Each item is one output of one text (a translation gives one item per target word). Run locally, one item
after another; each run is already batched inside (integrated gradients' steps, occlusion's copies).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from attnviz.faithfulness.compute import faithfulness
from attnviz.faithfulness.gradients import IG_STEPS
from attnviz.faithfulness.outputs import OutputChoice
from attnviz.faithfulness.result import METHODS, REFERENCES
from attnviz.models.loading import LoadedModel


@dataclass(frozen=True)
class CorpusItem:
    text: str
    target: str | None = None
    output: OutputChoice = OutputChoice()


@dataclass(frozen=True)
class MethodAgreement:
    """ρ of one method with one reference over the items where both exist and ρ is defined."""

    method: str
    reference: str
    mean: float
    std: float
    n: int


@dataclass(frozen=True)
class CorpusAgreement:
    model_name: str
    rho: dict[str, dict[str, np.ndarray]]  # reference -> method -> [item] (NaN: not defined for that item)
    n_items: int
    mean_tokens: float
    seconds: float

    def summary(self) -> list[MethodAgreement]:
        rows = []
        for reference, by_method in self.rho.items():
            for method in [m for m in METHODS if m in by_method] + [m for m in by_method if m not in METHODS]:
                values = by_method[method][np.isfinite(by_method[method])]
                if values.size:
                    rows.append(MethodAgreement(method, reference, float(values.mean()),
                                                float(values.std(ddof=1)) if values.size > 1 else 0.0, values.size))
        return rows

    def paired(self, better: str, than: str, reference: str = "occlusion") -> tuple[float, float, float, int]:
        """ρ(better) − ρ(than) on the same items: mean, standard error, share of items where it is > 0, items."""
        a, b = self.rho[reference].get(better), self.rho[reference].get(than)
        if a is None or b is None:
            return float("nan"), float("nan"), float("nan"), 0
        both = np.isfinite(a) & np.isfinite(b)
        diff = a[both] - b[both]
        if not diff.size:
            return float("nan"), float("nan"), float("nan"), 0
        error = float(diff.std(ddof=1) / np.sqrt(diff.size)) if diff.size > 1 else float("nan")
        return float(diff.mean()), error, float((diff > 0).mean()), int(diff.size)


def corpus_agreement(loaded: LoadedModel, items: Sequence[CorpusItem], *, steps: int = IG_STEPS,
                     hide_special: bool = True, merge_words: bool = False,
                     progress: Callable[[int, int], None] | None = None) -> CorpusAgreement:
    start = time.perf_counter()
    collected: dict[str, dict[str, list[float]]] = {ref: {} for ref in REFERENCES}
    tokens = []
    for index, item in enumerate(items):
        run = faithfulness(loaded, item.text, item.target, item.output, steps=steps)
        tokens.append(len(run.axis(hide_special, merge_words).groups))
        agreement = run.agreement(hide_special, merge_words)
        for reference in REFERENCES:
            for method in set(run.methods) | set(collected[reference]):
                column = collected[reference].setdefault(method, [float("nan")] * index)
                column.append(agreement.get(reference, {}).get(method, float("nan")))
        if progress:
            progress(index + 1, len(items))
    return CorpusAgreement(loaded.name, {ref: {m: np.array(v) for m, v in by.items()} for ref, by in collected.items()},
                           len(items), float(np.mean(tokens)) if tokens else 0.0, time.perf_counter() - start)
