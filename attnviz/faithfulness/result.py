"""The typed result of a faithfulness run: every method's scores over the same input tokens."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from attnviz.analysis.tokens import group_label, visible_positions, word_groups
from attnviz.faithfulness.agreement import magnitude, spearman
from attnviz.faithfulness.outputs import ExplainedOutput
from attnviz.result import TokenSequence, Truncation

# The order rows are shown in: attention-based views first, then the model's own behaviour.
ATTENTION_METHODS = ("attention", "rollout", "flow", "value_weighted", "contributions")
GRADIENT_METHODS = ("gradient_x_input", "integrated_gradients", "gradient", "occlusion")
METHODS = ATTENTION_METHODS + GRADIENT_METHODS
REFERENCES = ("occlusion", "integrated_gradients")
SIGNED = frozenset({"gradient_x_input", "integrated_gradients", "occlusion"})


@dataclass(frozen=True)
class TokenAxis:
    """The shown input axis: groups of token positions (one per token, or one per word when merged)."""

    groups: tuple[tuple[int, ...], ...]
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Faithfulness:
    """``scores[method]`` [input token] for one output. Attention rows are ≥ 0; gradient × input, integrated
    gradients and occlusion are signed (which way a token pushes the output); the gradient is a norm."""

    model_name: str
    output: ExplainedOutput
    tokens: TokenSequence  # the input the scores are over (a translation's source)
    scores: dict[str, np.ndarray]
    unavailable: dict[str, str]  # method -> error code of why it did not run here
    ig_steps: int
    ig_delta: float  # Captum's convergence delta of integrated gradients
    baseline_value: float  # the output at the blank input (every token the blank token)
    seconds: dict[str, float] = field(default_factory=dict)  # time per step of the run
    truncation: Truncation | None = None  # how much of the text was read

    @property
    def methods(self) -> tuple[str, ...]:
        known = [m for m in METHODS if m in self.scores]
        return tuple(known + [m for m in self.scores if m not in METHODS])

    def axis(self, hide_special: bool = True, merge_words: bool = False) -> TokenAxis:
        positions = visible_positions(self.tokens, hide_special)
        if merge_words:
            groups = word_groups(self.tokens, positions)
            return TokenAxis(tuple(map(tuple, groups)), tuple(group_label(self.tokens, g) for g in groups))
        return TokenAxis(tuple((p,) for p in positions), tuple(self.tokens.labels[p] for p in positions))

    def on(self, axis: TokenAxis) -> dict[str, np.ndarray]:
        """Scores over ``axis``: a word's score is the sum over its pieces (as merged attention maps sum keys)."""
        return {m: np.array([self.scores[m][list(g)].sum() for g in axis.groups]) for m in self.methods}

    def agreement(self, hide_special: bool = True, merge_words: bool = False) -> dict[str, dict[str, float]]:
        """``agreement[reference][method]``: Spearman's ρ of the magnitudes over the shown tokens."""
        scores = self.on(self.axis(hide_special, merge_words))
        return {ref: {m: spearman(magnitude(scores[m]), magnitude(scores[ref])) for m in self.methods}
                for ref in REFERENCES if ref in scores}

    @property
    def completeness_gap(self) -> float:
        """Sum of integrated gradients − (f(E) − f(B)), recomputed from the scores."""
        return float(self.scores["integrated_gradients"].sum() - (self.output.value - self.baseline_value))
