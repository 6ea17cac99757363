"""One faithfulness run: capture, resolve the output, attention rows, Captum attributions, occlusion."""

from __future__ import annotations

import time

from attnviz.capturing.run import capture
from attnviz.errors import InputTextError
from attnviz.faithfulness.attention_rows import attention_rows
from attnviz.faithfulness.gradients import IG_STEPS, gradient_methods, occlusion
from attnviz.faithfulness.outputs import OutputChoice, OutputScalar, resolve_output
from attnviz.faithfulness.result import Faithfulness
from attnviz.models.loading import LoadedModel

# The default cut: every method costs a few forward and backward passes over ``steps`` copies of the text, so a
# 512-token text takes tens of seconds on a CPU; ask for more with ``max_tokens`` (up to the model's limit).
FAITHFULNESS_MAX_TOKENS = 128


def faithfulness(loaded: LoadedModel, text: str, target: str | None = None, output: OutputChoice | None = None, *,
                 steps: int = IG_STEPS, max_tokens: int | None = None) -> Faithfulness:
    """Every method's scores over ``text``'s tokens for one output of ``loaded`` (see :mod:`attnviz.faithfulness`).

    ``target``: an encoder-decoder's target (teacher forcing; None: the model's greedy translation).
    ``steps``: integrated gradients' Gauss-Legendre points, computed in one batch. ``max_tokens``: the cut
    (default ``FAITHFULNESS_MAX_TOKENS``).
    """
    if not 2 <= int(steps) <= 512:
        raise InputTextError(code="faith_bad_steps", steps=steps)
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name], clock = now - clock, now

    max_tokens = max_tokens or FAITHFULNESS_MAX_TOKENS
    result = capture(loaded, text, target=target, max_tokens=max_tokens)
    explained = resolve_output(loaded, result, output or OutputChoice())
    lap("capture")
    target_text = target if target and str(target).strip() else None
    rows, unavailable = attention_rows(loaded, result, explained, text, target_text, max_tokens)
    lap("attention_rows")
    scalar = OutputScalar(loaded, result, explained)
    attributions = gradient_methods(scalar, int(steps))
    lap("gradients")
    occluded = occlusion(scalar)
    lap("occlusion")
    return Faithfulness(loaded.name, scalar.output, result.source, {**rows, **attributions.scores,
                                                                    "occlusion": occluded},
                        unavailable, attributions.ig_steps, attributions.ig_delta, attributions.baseline_value,
                        seconds, result.source_truncation)


__all__ = ["faithfulness"]
