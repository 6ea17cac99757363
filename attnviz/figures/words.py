"""The few words a figure shows, passed in by whoever draws it: the engine speaks data, interfaces speak words."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FigureWords:
    query: str = "Query (attending token)"
    key: str = "Key (attended-to token)"
    target: str = "Target (queries from the decoder)"
    source: str = "Source (keys and values from the encoder)"
    weight: str = "weight"
    masked: str = "masked: −∞ before softmax, so weight 0"
    layer: str = "layer"
    head: str = "head"
    # a map of several heads combined: "{heads}" is their list ("0–3", "1, 5")
    combined: dict[str, str] = field(default_factory=lambda: {"mean": "mean of heads {heads}",
                                                             "max": "max of heads {heads}"})
    kinds: dict[str, str] = field(default_factory=lambda: {
        "encoder": "self-attention", "decoder": "causal self-attention", "cross": "cross-attention"})


ENGLISH = FigureWords()
