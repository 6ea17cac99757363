"""What each attention-based view says the output reads from each input token: one row over the input.

The row belongs to the output's query positions (:class:`~attnviz.faithfulness.outputs.ExplainedOutput`):
the last position for a decoder's next token, the target position's cross-attention row for a translation,
the mean of every row for a mean-pooled sentence embedding, row 0 for [CLS].

- **attention**: the last layer's weights, mean of its heads;
- **rollout** / **flow**: Abnar & Zuidema (2020) from :mod:`attnviz.explain.flow` after the last layer (flow
  up to its token limit). A translation's row is the last cross-attention row times the encoder's rollout
  (how much of each source token each encoder position holds); flow is not offered there;
- **value-weighted**: the last layer's ``α·‖v W_O‖`` (:mod:`attnviz.explain.value_norms`), mean of heads.

Other rows can join through :func:`register_row`: the input contributions of ``attnviz.contributions`` fit
there (``register_row("contributions", provider)``), without this package importing it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from attnviz.errors import AttnvizError
from attnviz.explain.flow import FLOW_MAX_TOKENS, attention_flow, rollout
from attnviz.explain.value_norms import value_weighted
from attnviz.faithfulness.outputs import ExplainedOutput
from attnviz.models.loading import LoadedModel
from attnviz.result import AttentionResult

# provider(loaded, result, output, text, target) -> [input token] scores, or raises AttnvizError
RowProvider = Callable[[LoadedModel, AttentionResult, ExplainedOutput, str, "str | None"], np.ndarray]
_PROVIDERS: dict[str, RowProvider] = {}


def register_row(name: str, provider: RowProvider) -> None:
    """Add a row (say ``"contributions"``) to every faithfulness view computed after this call."""
    _PROVIDERS[name] = provider


def registered_rows() -> tuple[str, ...]:
    return tuple(_PROVIDERS)


def _rows_mean(matrix: np.ndarray, rows: tuple[int, ...]) -> np.ndarray:
    return np.nan_to_num(np.asarray(matrix, dtype=np.float64))[list(rows)].mean(axis=0)


def _last(result: AttentionResult, kind) -> int:
    return result.shape.n_layers[kind] - 1


def raw_row(result: AttentionResult, output: ExplainedOutput) -> np.ndarray:
    kind = output.attention_kind
    return _rows_mean(np.nanmean(result.attention(kind, _last(result, kind)), axis=0), output.query_rows)


def rollout_row(result: AttentionResult, output: ExplainedOutput) -> np.ndarray:
    if output.attention_kind == "cross":
        encoder = rollout(result, "encoder").at(_last(result, "encoder"))  # [source position, source token]
        return raw_row(result, output) @ encoder
    kind = output.attention_kind
    return _rows_mean(rollout(result, kind).at(_last(result, kind)), output.query_rows)


def flow_row(result: AttentionResult, output: ExplainedOutput) -> np.ndarray:
    if output.attention_kind == "cross":
        raise AttnvizError(code="faith_no_flow_cross")
    return _rows_mean(attention_flow(result, output.attention_kind).maps[0], output.query_rows)


def value_row(loaded: LoadedModel, result: AttentionResult, output: ExplainedOutput, text: str,
              target: str | None, max_tokens: int | None = None) -> np.ndarray:
    kind = output.attention_kind
    weighted = value_weighted(loaded, text, kind, _last(result, kind), target=target, max_tokens=max_tokens)
    if weighted.result.source.token_ids != result.source.token_ids:  # the same cut, or the rows do not line up
        raise AttnvizError(code="faith_tokens_differ")
    heads = weighted.maps.shape[0]
    return _rows_mean(weighted.combined(tuple(range(heads))) / heads, output.query_rows)


def attention_rows(loaded: LoadedModel, result: AttentionResult, output: ExplainedOutput, text: str,
                   target: str | None, max_tokens: int | None = None
                   ) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Rows by method, and for each method that cannot run here the error code saying why."""
    makers: dict[str, Callable[[], np.ndarray]] = {
        "attention": lambda: raw_row(result, output),
        "rollout": lambda: rollout_row(result, output),
        "flow": lambda: flow_row(result, output),
        "value_weighted": lambda: value_row(loaded, result, output, text, target, max_tokens),
        **{name: (lambda p=provider: p(loaded, result, output, text, target)) for name, provider in _PROVIDERS.items()},
    }
    rows, unavailable = {}, {}
    for name, make in makers.items():
        try:
            rows[name] = np.asarray(make(), dtype=np.float64)
        except AttnvizError as error:
            unavailable[name] = error.code
    return rows, unavailable


__all__ = ["FLOW_MAX_TOKENS", "attention_rows", "register_row", "registered_rows"]
