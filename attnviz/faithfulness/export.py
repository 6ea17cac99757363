"""A faithfulness run as plain data: JSON for programs, CSV (method × token, then the agreement table)."""

from __future__ import annotations

import json
import math

import numpy as np

from attnviz.export import matrix_to_csv
from attnviz.faithfulness.result import Faithfulness


def _number(value: float, decimals: int = 6) -> float | None:
    return None if not math.isfinite(value) else round(float(value), decimals)


def run_to_dict(run: Faithfulness, hide_special: bool = True, merge_words: bool = False) -> dict:
    axis = run.axis(hide_special, merge_words)
    scores = run.on(axis)
    output = run.output
    return {
        "model": run.model_name,
        "output": {"kind": output.kind, "token": output.label or None, "token_id": output.token_id,
                   "position": output.position, "value": _number(output.value),
                   "blank_value": _number(run.baseline_value)},
        "tokens": list(axis.labels),
        "positions": [list(group) for group in axis.groups],
        "scores": {m: [_number(v) for v in scores[m]] for m in run.methods},
        "agreement": {ref: {m: _number(rho, 4) for m, rho in by_method.items()}
                      for ref, by_method in run.agreement(hide_special, merge_words).items()},
        "unavailable": dict(run.unavailable),
        "integrated_gradients": {"steps": run.ig_steps, "convergence_delta": _number(run.ig_delta, 8)},
        "seconds": {step: round(s, 4) for step, s in run.seconds.items()},
    }


def run_to_json(run: Faithfulness, hide_special: bool = True, merge_words: bool = False) -> bytes:
    return json.dumps(run_to_dict(run, hide_special, merge_words), ensure_ascii=False, indent=1).encode()


def _corner(data: bytes, text: str) -> bytes:
    """matrix_to_csv names its corner cell for attention maps; these tables have other axes."""
    return data.replace(b"query \\ key", text.encode(), 1)


def scores_to_csv(run: Faithfulness, hide_special: bool = True, merge_words: bool = False) -> bytes:
    axis = run.axis(hide_special, merge_words)
    scores = run.on(axis)
    data = matrix_to_csv(np.array([scores[m] for m in run.methods]), list(run.methods), list(axis.labels))
    return _corner(data, "method \\ token")


def agreement_to_csv(run: Faithfulness, hide_special: bool = True, merge_words: bool = False) -> bytes:
    agreement = run.agreement(hide_special, merge_words)
    references = list(agreement)
    matrix = np.array([[agreement[ref][m] for ref in references] for m in run.methods])
    return _corner(matrix_to_csv(matrix, list(run.methods), references), "method \\ reference")
