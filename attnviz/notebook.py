"""One call in a notebook: plotly figures from an attnviz result, or from what BertViz users already have.

    from attnviz.notebook import head_view, model_view, causal_view, cross_view
    head_view(outputs.attentions, tokens)            # BertViz: head_view(outputs.attentions, tokens)
    head_view(result, layer=2, head=5)                # an attnviz result
    model_view(outputs.attentions, tokens)            # every head of every layer, BertViz's model_view signature
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
Each function but ``model_view`` returns a ``plotly.graph_objects.Figure``; notebooks display it, ``.write_html``
saves it. ``model_view`` follows BertViz: it displays (``html_action="view"``) or returns HTML
(``html_action="return"``); ``html_action="figure"`` gives its plotly figure.
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


DISPLAY_MODES = {"dark": {"template": "plotly_dark", "colorscale": "Inferno", "background": "#1e1e1e"},
                 "light": {"template": "plotly_white", "colorscale": "Blues", "background": "#f3f3f3"}}
HTML_ACTIONS = ("view", "return", "figure")
SENTENCE_FILTERS = ("All", "Sentence A -> Sentence A", "Sentence B -> Sentence B", "Sentence A -> Sentence B",
                    "Sentence B -> Sentence A")
KIND_TITLES = {"encoder": "Encoder", "decoder": "Decoder", "cross": "Cross"}


def prettify(tokens: Sequence[str]) -> list[str]:
    """BertViz's token clean-up: byte-level BPE's ``Ġ`` and SentencePiece's ``▁`` read as spaces, ``</w>`` goes."""
    return [str(t).replace("Ġ", " ").replace("▁", " ").replace("</w>", "") for t in tokens]


class HtmlView:
    """What ``html_action="return"`` gives without IPython: ``.data`` is the HTML, notebooks render it."""

    def __init__(self, data: str):
        self.data = data

    def _repr_html_(self) -> str:
        return self.data


def _is_causal(stacked: np.ndarray) -> bool:
    """Every layer's weights above the diagonal are exactly 0 (a decoder's ``outputs.attentions``)."""
    n = stacked.shape[-1]
    return n > 1 and stacked.shape[-2] == n and not np.triu(stacked, k=1).any()


def _model_view_result(attention, tokens, encoder_attention, decoder_attention, cross_attention,
                       encoder_tokens, decoder_tokens, prettify_tokens: bool, kind) -> AttentionResult:
    def clean(labels):
        return prettify(labels) if prettify_tokens and labels is not None else labels

    if attention is not None:
        if isinstance(attention, AttentionResult):
            return attention
        if tokens is not None and not isinstance(tokens, str):
            tokens = clean(tokens)
        from attnviz.contributions.from_cache import is_activation_cache

        if kind is None and not is_activation_cache(attention):
            kind = "decoder" if _is_causal(_stack(attention)) else "encoder"
        return _as_result(attention, tokens, kind or "encoder")
    if encoder_attention is None and decoder_attention is None and cross_attention is None:
        raise ValueError("pass attention (with tokens), or encoder_attention / decoder_attention / cross_attention "
                         "(with encoder_tokens / decoder_tokens)")
    if encoder_tokens is None and (encoder_attention is not None or cross_attention is not None):
        raise ValueError("pass encoder_tokens with encoder_attention or cross_attention")
    if decoder_tokens is None and (decoder_attention is not None or cross_attention is not None):
        raise ValueError("pass decoder_tokens with decoder_attention or cross_attention")
    if encoder_attention is None and cross_attention is None:  # a decoder on its own
        return result_from_attentions(decoder_attention, clean(decoder_tokens), kind="decoder")
    return result_from_attentions(encoder_attention, clean(encoder_tokens), kind="encoder",
                                  decoder_attentions=decoder_attention, cross_attentions=cross_attention,
                                  decoder_tokens=clean(decoder_tokens))


def _sentence_filter(figure, split: int) -> None:
    """A menu like BertViz's: all weights, or only those between sentence A (before ``split``) and B."""
    blocks = {"All": (None, None), SENTENCE_FILTERS[1]: (False, False), SENTENCE_FILTERS[2]: (True, True),
              SENTENCE_FILTERS[3]: (False, True), SENTENCE_FILTERS[4]: (True, False)}
    full = [np.asarray(trace.z, dtype=float) for trace in figure.data]
    buttons = []
    for label, (rows_in_b, cols_in_b) in blocks.items():
        zs = []
        for trace, z in zip(figure.data, full):
            if rows_in_b is None:
                zs.append(z)
                continue
            in_b_rows = np.asarray(trace.y) >= split
            in_b_cols = np.asarray(trace.x) >= split
            keep = (in_b_rows == rows_in_b)[:, None] & (in_b_cols == cols_in_b)[None, :]
            zs.append(np.where(keep, z, np.nan))
        buttons.append({"label": label, "method": "restyle", "args": [{"z": zs}]})
    figure.update_layout(updatemenus=[{"buttons": buttons, "direction": "down", "x": 0, "y": 1.0,
                                       "xanchor": "left", "yanchor": "bottom", "pad": {"b": 28}}])


def _kind_grid(result: AttentionResult, kind: AttentionKind, include_layers, include_heads, look: dict,
               hide_special: bool, words: FigureWords):
    from attnviz.figures.grid import head_grid

    layers = list(result.layers[kind]) if include_layers is None else list(include_layers)
    unknown = sorted(set(layers) - set(result.layers[kind]))
    if unknown:
        raise ValueError(f"include_layers {unknown} are not among the {kind} layers {list(result.layers[kind])}")
    options = ViewOptions(hide_special=hide_special)
    views = []
    for layer in layers:
        n_heads = result.shape.heads_of(kind, layer)
        heads = range(n_heads) if include_heads is None else list(include_heads)
        if any(not 0 <= h < n_heads for h in heads):
            raise ValueError(f"include_heads {list(heads)}: layer {layer} has heads 0 to {n_heads - 1}")
        views.append([build_view(result, kind, layer, [h], "single", options) for h in heads])
    figure = head_grid(views, words=words, colorscale=look["colorscale"], title=KIND_TITLES[kind])
    figure.update_layout(template=look["template"], plot_bgcolor=look["background"])
    return figure


def model_view(attention=None, tokens=None, sentence_b_start=None, prettify_tokens=True, display_mode="dark",
               encoder_attention=None, decoder_attention=None, cross_attention=None, encoder_tokens=None,
               decoder_tokens=None, include_layers=None, include_heads=None, html_action="view", *,
               kind: AttentionKind | None = None, hide_special: bool = False, colorscale: str | None = None,
               words: FigureWords = ENGLISH):
    """Every head of every layer as a grid of small maps (rows: layers, columns: heads): BertViz's ``model_view``.

    The arguments are BertViz's, in its order, so ``model_view(outputs.attentions, tokens)`` works unchanged:

    - ``attention``: transformers' ``outputs.attentions`` (one ``[batch, heads, query, key]`` tensor per layer;
      the first batch row is drawn), an [AttentionResult][attnviz.result.AttentionResult] or a TransformerLens
      cache. Weights that are 0 above the diagonal in every layer are drawn as a decoder's (the future grey).
    - ``tokens``: the tokens the model read (``tokenizer.convert_ids_to_tokens(ids)``); their count must match
      the attention's. ``prettify_tokens`` turns ``Ġ`` and ``▁`` into spaces and drops ``</w>``.
    - ``sentence_b_start``: the index of sentence B's first token; a menu then shows all weights, or only
      those from sentence A to A, B to B, A to B or B to A.
    - ``display_mode``: "dark" (BertViz's default) or "light".
    - ``encoder_attention``, ``decoder_attention``, ``cross_attention`` with ``encoder_tokens`` and
      ``decoder_tokens``: an encoder-decoder (``outputs.encoder_attentions`` ...); each kind given is one grid.
    - ``include_layers``, ``include_heads``: the layer numbers and head indices to draw (default: all).
    - ``html_action``: "view" displays the grids in the notebook and returns None; "return" returns an HTML
      object (``.data`` is self-contained HTML, plotly.js included, that works offline and can be written to a
      file); "figure" (attnviz's own) returns the plotly figure of one kind (``kind``, default the first of
      encoder, decoder, cross) to change or export.

    ``kind``, ``hide_special``, ``colorscale`` and ``words`` (the figure's labels: ``figure_words("zh")`` from
    :mod:`attnviz.figures.words` for Chinese) are keyword-only additions of attnviz.
    """
    if display_mode not in DISPLAY_MODES:
        raise ValueError(f"display_mode must be 'dark' or 'light', not {display_mode!r}")
    if html_action not in HTML_ACTIONS:
        raise ValueError(f"html_action must be one of {', '.join(HTML_ACTIONS)}, not {html_action!r}")
    result = _model_view_result(attention, tokens, encoder_attention, decoder_attention, cross_attention,
                                encoder_tokens, decoder_tokens, prettify_tokens, kind)
    look = dict(DISPLAY_MODES[display_mode], **({"colorscale": colorscale} if colorscale else {}))
    kinds = [k for k in ("encoder", "decoder", "cross") if k in result.arrays]
    if kind is not None:
        if kind not in result.arrays:
            raise ValueError(f"no {kind} attention here: the attention holds {', '.join(kinds)}")
        kinds = [kind]
    if sentence_b_start is not None:
        if attention is None or hide_special:
            raise ValueError("sentence_b_start splits the tokens of attention, with every token shown "
                             "(hide_special=False)")
        if not 0 < sentence_b_start < len(result.source):
            raise ValueError(f"sentence_b_start must be between 1 and {len(result.source) - 1}, "
                             f"not {sentence_b_start}")
    figures = []
    for name in kinds:
        figure = _kind_grid(result, name, include_layers, include_heads, look, hide_special, words)
        if sentence_b_start is not None:
            _sentence_filter(figure, sentence_b_start)
        figures.append(figure)
    if html_action == "figure":
        return figures[0]
    if html_action == "return":
        html = "\n".join(figure.to_html(full_html=False, include_plotlyjs=i == 0) for i, figure in enumerate(figures))
        try:
            from IPython.display import HTML
        except ImportError:
            return HtmlView(html)
        return HTML(html)
    from IPython.display import display

    for figure in figures:
        display(figure)
    return None


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
                       logits=None, parts: bool = False, words: FigureWords = ENGLISH):
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
    if parts:
        return parts_figure(attribution, title=title, words=words)
    return attribution_map(attribution, title=title, words=words)


def _attribution(loaded, text, target, token, contrast, position):
    from attnviz.contributions.decompose import decompose
    from attnviz.contributions.logits import direct_logit_attribution

    if text is None:
        raise ValueError("pass the text: contributions_view(model, text)")
    return direct_logit_attribution(loaded, decompose(loaded, text, target), token, contrast, position)


def lens_view(model, text: str | None = None, *, k: int = 5, target: str | None = None,
              tokens: Sequence[str] | None = None, words: FigureWords = ENGLISH):
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
    return lens_figure(lens, title=f"{lens.model_name}: logit lens", words=words)


def faithfulness_view(model, text: str, target: str | None = None, *, output: str | None = None,
                      token: str | None = None, position: int | None = None, steps: int | None = None,
                      hide_special: bool = True, merge_words: bool = False, words: FigureWords = ENGLISH):
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
    figure = method_strip([scores[m] for m in run.methods], list(run.methods), axis.labels, words=words,
                          title=f"{loaded.name} · {run.output.kind} {run.output.label}".strip())
    figure.update_layout(meta={"agreement": run.agreement(hide_special, merge_words)})
    return figure


def routes_view(model, text: str, *, position: int | None = None, threshold: float = 0.04,
                target: str | None = None, words: FigureWords = ENGLISH):
    """Information-flow routes into one token (default: the last one), as a plotly figure.

    ``model`` is a loaded model or a name for :func:`attnviz.load_model`; edges whose share is at most
    ``threshold`` are pruned (see :mod:`attnviz.contributions.routes`).
    """
    from attnviz.contributions.routes import route_contributions, route_graph
    from attnviz.figures.routes import route_figure
    from attnviz.models.loading import LoadedModel

    if not isinstance(model, LoadedModel):
        from attnviz import load_model

        model = load_model(model)
    contributions = route_contributions(model, text, target)
    chosen = contributions.n_tokens - 1 if position is None else position
    return route_figure(route_graph(contributions, chosen, threshold), words=words)


def patching_view(model, clean: str, corrupt: str, answer: str | None = None, wrong: str | None = None, *,
                  component: str = "head_out", kind: AttentionKind | None = None, target: str | None = None,
                  method: str = "exact", words: FigureWords = ENGLISH):
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
    figure = patching_map(matrix, rows, cols, axes=result.axes, words=words,
                          title=f"{loaded.name} · {method} patching · {component}")
    meta = {"clean": result.clean, "corrupt": result.corrupt, "metric": result.metric}
    if method == "exact":
        meta["correlation"] = agreement(result, attribute(loaded, pair, component, kind)).correlation
    figure.update_layout(meta=meta)
    return figure
