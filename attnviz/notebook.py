"""One call in a notebook: plotly figures from an attnviz result, or from what BertViz users already have.

    from attnviz.notebook import head_view, grid_view, causal_view, cross_view
    head_view(outputs.attentions, tokens)            # BertViz: head_view(outputs.attentions, tokens)
    head_view(result, layer=2, head=5)                # an attnviz result
    grid_view(outputs.attentions, tokens)             # every head of every layer
    causal_view(outputs.attentions, tokens)           # a decoder's masked map, future cells grey
    cross_view(outputs.cross_attentions, encoder_tokens=src, decoder_tokens=tgt)
    contributions_view(load_model("toy-lm"), "the farmer is")   # each head's direct effect on the next token
    lens_view(load_model("toy-lm"), "the farmer is")            # the logit lens, layer × position
    patching_view("toy-induction", clean, corrupt, "letter", "book")  # activation patching, layer × head

TransformerLens users pass the cache of ``logits, cache = model.run_with_cache(text)`` instead:
``head_view(cache, model.to_str_tokens(text), layer=1, head=3)``, ``contributions_view(cache, logits=logits)``,
``lens_view(cache, model.to_str_tokens(text))``.

``attention`` is an :class:`~attnviz.result.AttentionResult` or transformers' ``outputs.attentions``
(a tuple with one ``[batch, heads, query, key]`` tensor per layer; the first batch row is shown).
Each function returns a ``plotly.graph_objects.Figure``; notebooks display it, ``.write_html`` saves it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from attnviz.analysis.heads import HeadMode
from attnviz.analysis.view import ViewOptions, build_view
from attnviz.figures.words import ENGLISH, FigureWords
from attnviz.result import (
    AttentionKind,
    AttentionResult,
    HeadLayout,
    ModelShape,
    TokenSequence,
    Truncation,
)

SPECIAL_TOKENS = {"[CLS]", "[SEP]", "[PAD]", "<s>", "</s>", "<pad>", "<|endoftext|>", "<bos>", "<eos>"}


def _stack(attentions) -> np.ndarray:
    """``[layer, head, query, key]`` float32 from a tuple of tensors/arrays (first batch row) or an array."""
    if isinstance(attentions, np.ndarray) and attentions.ndim == 4:
        return attentions.astype(np.float32)
    layers = []
    for layer in attentions:
        array = layer.detach().float().cpu().numpy() if hasattr(layer, "detach") else np.asarray(layer, np.float32)
        layers.append(array[0] if array.ndim == 4 else array)
    if not layers:
        raise ValueError("attentions is empty: run the model with output_attentions=True")
    return np.stack(layers).astype(np.float32)


def _sequence(tokens: Sequence[str]) -> TokenSequence:
    tokens = tuple(str(t) for t in tokens)
    special = tuple(t in SPECIAL_TOKENS for t in tokens)
    return TokenSequence(tokens, tuple(range(len(tokens))), special,
                         tuple(None if s else i for i, s in enumerate(special)))


def result_from_attentions(attentions, tokens: Sequence[str], *, kind: AttentionKind = "encoder",
                           cross_attentions=None, decoder_tokens: Sequence[str] | None = None,
                           decoder_attentions=None) -> AttentionResult:
    """An :class:`AttentionResult` from transformers' attentions and tokens (BertViz's inputs)."""
    arrays: dict[AttentionKind, np.ndarray] = {}
    if attentions is not None:
        arrays[kind] = _stack(attentions)
    if decoder_attentions is not None:
        arrays["decoder"] = _stack(decoder_attentions)
    if cross_attentions is not None:
        arrays["cross"] = _stack(cross_attentions)
    source = _sequence(tokens)
    target = _sequence(decoder_tokens) if decoder_tokens is not None else None
    for name, array in arrays.items():
        n_query = len(target) if name in ("cross", "decoder") and target is not None else len(source)
        n_key = len(target) if name == "decoder" and target is not None else len(source)
        if array.shape[-2:] != (n_query, n_key):
            raise ValueError(f"{name} attention is {array.shape[-2]}×{array.shape[-1]} but the tokens give "
                             f"{n_query}×{n_key}: pass the tokens the model read")
    family = "encoder-decoder" if "cross" in arrays else ("decoder" if kind == "decoder" else "encoder")
    shape = ModelShape(
        family=family, n_layers={k: a.shape[0] for k, a in arrays.items()},
        layout={k: HeadLayout((a.shape[1],) * a.shape[0], (a.shape[1],) * a.shape[0], (0,) * a.shape[0])
                for k, a in arrays.items()},
        d_model=0, max_tokens=len(source), capture_path="output_attentions",
    )
    return AttentionResult("attentions", shape, source, target, arrays,
                           {k: tuple(range(a.shape[0])) for k, a in arrays.items()},
                           Truncation(len(source), len(source), 0, 0))


def _as_result(attention, tokens, kind: AttentionKind) -> AttentionResult:
    if isinstance(attention, AttentionResult):
        return attention
    from attnviz.contributions.from_cache import is_activation_cache, patterns

    if is_activation_cache(attention):  # TransformerLens: blocks.{l}.attn.hook_pattern
        stacked, causal = patterns(attention)
        labels = tokens if tokens is not None else [str(i) for i in range(stacked.shape[-1])]
        return result_from_attentions(stacked, labels, kind="decoder" if causal else "encoder")
    if tokens is None:
        raise ValueError("pass the tokens with transformers' attentions: head_view(outputs.attentions, tokens)")
    return result_from_attentions(attention, tokens, kind=kind)


def _kind(result: AttentionResult, wanted: AttentionKind | None) -> AttentionKind:
    if wanted is not None:
        return wanted
    return next(k for k in ("encoder", "decoder", "cross") if k in result.arrays)


def head_view(attention, tokens: Sequence[str] | None = None, *, layer: int = 0, head: int | Sequence[int] = 0,
              mode: HeadMode = "single", kind: AttentionKind | None = None, hide_special: bool = False,
              colorscale: str = "Blues", words: FigureWords = ENGLISH):
    """One head's query × key heatmap (or several heads combined by ``mode`` "mean" or "max")."""
    from attnviz.figures.heatmap import attention_heatmap

    result = _as_result(attention, tokens, kind or "encoder")
    kind = kind if kind in result.arrays else None
    heads = [head] if isinstance(head, int) else list(head)
    view = build_view(result, _kind(result, kind), layer, heads, mode if len(heads) > 1 else "single",
                      ViewOptions(hide_special=hide_special))
    return attention_heatmap(view, words=words, colorscale=colorscale)


def grid_view(attention, tokens: Sequence[str] | None = None, *, layers: Sequence[int] | None = None,
              heads: Sequence[int] | None = None, kind: AttentionKind | None = None, hide_special: bool = False,
              colorscale: str = "Blues", words: FigureWords = ENGLISH):
    """Every head (rows: layers, columns: heads), like BertViz's model_view."""
    from attnviz.figures.grid import head_grid

    result = _as_result(attention, tokens, kind or "encoder")
    kind = _kind(result, kind if kind in result.arrays else None)
    layers = list(result.layers[kind]) if layers is None else list(layers)
    options = ViewOptions(hide_special=hide_special)
    views = [[build_view(result, kind, layer, [h], "single", options)
              for h in (range(result.shape.heads_of(kind, layer)) if heads is None else heads)] for layer in layers]
    return head_grid(views, words=words, colorscale=colorscale)


def causal_view(attention, tokens: Sequence[str] | None = None, *, layer: int = 0, head: int = 0,
                colorscale: str = "Blues", words: FigureWords = ENGLISH):
    """A decoder's causal self-attention: the masked future drawn grey."""
    result = _as_result(attention, tokens, "decoder")
    return head_view(result, layer=layer, head=head, kind="decoder", colorscale=colorscale, words=words)


def cross_view(cross_attentions, encoder_tokens: Sequence[str] | None = None,
               decoder_tokens: Sequence[str] | None = None, *, layer: int = 0, head: int | Sequence[int] = 0,
               mode: HeadMode = "single", hide_special: bool = False, colorscale: str = "Blues",
               words: FigureWords = ENGLISH):
    """An encoder-decoder's target × source alignment matrix."""
    if isinstance(cross_attentions, AttentionResult):
        result = cross_attentions
    else:
        if encoder_tokens is None or decoder_tokens is None:
            raise ValueError("pass encoder_tokens and decoder_tokens with the cross attentions")
        result = result_from_attentions(None, encoder_tokens, cross_attentions=cross_attentions,
                                        decoder_tokens=decoder_tokens)
    return head_view(result, layer=layer, head=head, mode=mode, kind="cross", hide_special=hide_special,
                     colorscale=colorscale, words=words)


def contributions_view(model, text: str | None = None, *, token: str | int | None = None,
                       contrast: str | int | None = None, position: int = -1, target: str | None = None,
                       logits=None, parts: bool = False):
    """Each head's direct effect on a token's logit, as a layer × head map (``parts=True``: embeddings, each layer's
    attention and MLP as bars).

    ``model``: a loaded model (with ``text``; ``target`` for an encoder-decoder's decoder), a
    :class:`~attnviz.contributions.logits.LogitAttribution`, or a TransformerLens ``ActivationCache`` (with the
    ``logits`` of ``run_with_cache``, or a ``token``). ``token`` defaults to the model's prediction; ``contrast``
    explains logit(token) − logit(contrast).
    """
    from attnviz.contributions.from_cache import attribution_from_cache, is_activation_cache
    from attnviz.contributions.logits import LogitAttribution
    from attnviz.figures.contributions import attribution_map, parts_figure

    if isinstance(model, LogitAttribution):
        attribution = model
    elif is_activation_cache(model):
        attribution = attribution_from_cache(model, logits, token, contrast, position)
    else:
        attribution = _attribution(model, text, target, token, contrast, position)
    against = f" − logit({attribution.contrast!r})" if attribution.contrast else ""
    title = f"logit({attribution.token!r}){against} at position {attribution.position}: {attribution.logit:.3f}"
    return parts_figure(attribution, title=title) if parts else attribution_map(attribution, title=title)


def _attribution(loaded, text, target, token, contrast, position):
    from attnviz.contributions.decompose import decompose
    from attnviz.contributions.logits import direct_logit_attribution

    if text is None:
        raise ValueError("pass the text: contributions_view(model, text)")
    return direct_logit_attribution(loaded, decompose(loaded, text, target), token, contrast, position)


def lens_view(model, text: str | None = None, *, k: int = 5, target: str | None = None,
              tokens: Sequence[str] | None = None):
    """The logit lens: at every layer and position, the final prediction's probability (colour) and rank (number),
    the top ``k`` tokens on hover.

    ``model``: a loaded model (with ``text``), a :class:`~attnviz.contributions.lens.LogitLens`, or a
    TransformerLens ``ActivationCache`` (``text`` may then be the tokens, e.g. ``model.to_str_tokens(text)``).
    """
    from attnviz.contributions.from_cache import is_activation_cache, lens_from_cache
    from attnviz.contributions.lens import LogitLens, logit_lens
    from attnviz.figures.contributions import lens_figure

    if isinstance(model, LogitLens):
        lens = model
    elif is_activation_cache(model):
        labels = tokens if tokens is not None else (text if not isinstance(text, str) else None)
        lens = lens_from_cache(model, labels, k)
    else:
        from attnviz.contributions.decompose import decompose

        if text is None:
            raise ValueError("pass the text: lens_view(model, text)")
        lens = logit_lens(model, decompose(model, text, target), k)
    return lens_figure(lens, title=f"{lens.model_name}: logit lens")


def faithfulness_view(model, text: str, target: str | None = None, *, output: str | None = None,
                      token: str | None = None, position: int | None = None, steps: int | None = None,
                      hide_special: bool = True, merge_words: bool = False):
    """Every explanation method over ``text``'s tokens for one output, as a heat strip (one row per method).

    ``model``: a :class:`~attnviz.models.loading.LoadedModel` or a name for ``load_model``. ``output``: "next_token",
    "target_token", "sentence_mean" or "cls" (default: the family's first). The run itself, with the Spearman
    agreement table, is ``attnviz.faithfulness.faithfulness``; the figure's ``layout.meta`` carries the agreement.
    """
    from attnviz.faithfulness import IG_STEPS, OutputChoice, faithfulness
    from attnviz.figures.faithfulness import method_strip
    from attnviz.models.loading import LoadedModel, load_model

    loaded = model if isinstance(model, LoadedModel) else load_model(str(model))
    run = faithfulness(loaded, text, target, OutputChoice(output, token, position), steps=steps or IG_STEPS)
    axis = run.axis(hide_special, merge_words)
    scores = run.on(axis)
    figure = method_strip([scores[m] for m in run.methods], list(run.methods), axis.labels,
                          title=f"{loaded.name} · {run.output.kind} {run.output.label}".strip())
    figure.update_layout(meta={"agreement": run.agreement(hide_special, merge_words)})
    return figure


def routes_view(model, text: str, *, position: int | None = None, threshold: float = 0.04,
                target: str | None = None, words=None):
    """Information-flow routes into one token (default: the last one), as a plotly figure.

    ``model`` is a loaded model or a name for :func:`attnviz.load_model`; edges whose share is at most
    ``threshold`` are pruned (see :mod:`attnviz.contributions.routes`).
    """
    from attnviz.contributions.routes import route_contributions, route_graph
    from attnviz.figures.routes import RouteWords, route_figure
    from attnviz.models.loading import LoadedModel

    if not isinstance(model, LoadedModel):
        from attnviz import load_model

        model = load_model(model)
    contributions = route_contributions(model, text, target)
    chosen = contributions.n_tokens - 1 if position is None else position
    return route_figure(route_graph(contributions, chosen, threshold), words or RouteWords())


def patching_view(model, clean: str, corrupt: str, answer: str | None = None, wrong: str | None = None, *,
                  component: str = "head_out", kind: AttentionKind | None = None, target: str | None = None,
                  method: str = "exact"):
    """Activation patching of ``component`` as a clickable map (layer × head, or layer × position).

    ``method``: "exact" (one patched run per cell, batched) or "attribution" (the first-order estimate). The
    figure's ``layout.meta`` carries the raw metric of the clean and corrupted runs, and with "exact" the
    correlation of attribution patching with it. The numbers themselves: ``attnviz.patching.patch``.
    """
    from attnviz.figures.patching import patching_map
    from attnviz.models.loading import LoadedModel, load_model
    from attnviz.patching import agreement, attribute, patch, prepare

    loaded = model if isinstance(model, LoadedModel) else load_model(str(model))
    pair = prepare(loaded, clean, corrupt, answer, wrong, target)
    result = (patch if method == "exact" else attribute)(loaded, pair, component, kind)
    matrix, rows, cols, _ = result.matrix()
    col_label = "head" if result.axes[-1] == "head" else "position"
    figure = patching_map(matrix, rows, cols, title=f"{loaded.name} · {method} patching · {component}",
                          row_label="layer" if len(result.axes) == 2 else "layer.head", col_label=col_label)
    meta = {"clean": result.clean, "corrupt": result.corrupt, "metric": result.metric}
    if method == "exact":
        meta["correlation"] = agreement(result, attribute(loaded, pair, component, kind)).correlation
    figure.update_layout(meta=meta)
    return figure
