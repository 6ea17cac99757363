"""Facts about a model's modules that every traced run needs: a projection's weights, the forward's arguments."""

from __future__ import annotations

import functools
import inspect

import numpy as np
import torch
from transformers.pytorch_utils import Conv1D


def weight_in_out(linear: torch.nn.Module) -> tuple[np.ndarray, np.ndarray | None]:
    """Weight as [in, out] (so that y = x W + b) and bias, for Linear and GPT-2's Conv1D."""
    weight = linear.weight.detach().double().cpu().numpy()
    weight = weight if isinstance(linear, Conv1D) else weight.T
    bias = linear.bias.detach().double().cpu().numpy() if getattr(linear, "bias", None) is not None else None
    return weight, bias


@functools.cache
def _forward_parameters(model_class: type) -> frozenset[str]:
    parameters = inspect.signature(model_class.forward).parameters
    names = set(parameters)
    if any(p.kind == p.VAR_KEYWORD for p in parameters.values()):
        names |= {"token_type_ids", "attention_mask"}
    return frozenset(names)


def accepted_kwargs(model: torch.nn.Module, candidates: dict) -> dict:
    """The entries of ``candidates`` that ``model.forward`` takes."""
    names = _forward_parameters(type(model))
    return {k: v for k, v in candidates.items() if k in names}
