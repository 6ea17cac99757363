"""Greedy decoding, once: the target capture generates, the ablation's translation, the lessons' continuations.

``generate()`` runs inside whatever trace or intervention is active in this thread
(:func:`attnviz.tracing.trace.tracing`), so an ablated model is decoded exactly as it reads.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from attnviz.tracing.modules import accepted_kwargs
from attnviz.tracing.vocab import known_ids_only


def greedy(loaded, inputs: Mapping[str, torch.Tensor], max_new_tokens: int, *, use_cache: bool = True,
           **options) -> list[int]:
    """Token ids of row 0 after greedy decoding from ``inputs`` (a decoder's prompt included, an encoder-decoder's
    decoder start first). Ids the tokenizer cannot spell (a padded vocabulary) are never chosen."""
    with torch.inference_mode():
        out = loaded.model.generate(**accepted_kwargs(loaded.model, dict(inputs)), max_new_tokens=max_new_tokens,
                                    do_sample=False, num_beams=1, use_cache=use_cache, **options,
                                    **known_ids_only(loaded.tokenizer))
    return out[0].tolist()
