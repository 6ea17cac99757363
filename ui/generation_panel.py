"""The model writing, token by token, under the causal and cross-attention maps."""

from __future__ import annotations

import zlib
from dataclasses import replace

import streamlit as st

from attnviz import AttnvizError, LoadedModel
from attnviz.analysis.heads import combine_heads
from attnviz.analysis.view import derived_view
from attnviz.explain.generation_steps import GenerationSteps, generation_steps
from attnviz.figures.explain import analysis_map, chances_figure, highlight_row
from ui.cached import cached
from ui.errors import shown_errors
from ui.lang import chart_words, tr
from ui.panels import md_escape
from ui.url_state import BOUND, keep_valid

NEW_TOKENS = 10
PROMPT_WORDS = 3  # the decoder continues the text's first words (the whole text is usually a finished sentence)
MAX_PROMPT_TOKENS = 512  # each step is a full forward pass; beyond this the page would wait on generation


def _sentence(labels, specials, upto: int) -> str:
    """The tokens read so far, without the tokenizer's own markers."""
    return " ".join(md_escape(label) for label, special in zip(labels[:upto], specials[:upto]) if not special)


def _opening_prompt(loaded: LoadedModel, text: str) -> str:
    """The text, unless the model ends it at once (a finished sentence: it writes only </s>); then its first
    words, so the generation runs several steps."""
    start = " ".join(text.split()[:PROMPT_WORDS])
    if start == text.strip() or len(loaded.tokenizer(text)["input_ids"]) > MAX_PROMPT_TOKENS:
        return text
    try:
        return text if len(cached(generation_steps, loaded, text, NEW_TOKENS).steps) > 1 else start
    except AttnvizError:
        return text


def generation_panel(loaded: LoadedModel, text: str, kind: str, layer: int, heads: tuple[int, ...], key: str) -> None:
    """A step slider; the step's attention row framed in the map; its top next-token probabilities beside it."""
    st.subheader(tr("gen.title"))
    st.caption(tr(f"gen.intro.{kind}"))
    if kind == "decoder":  # the model continues a prompt: the text, or its first words when the text is finished
        st.caption(tr("gen.prompt_help"))
        opening = _opening_prompt(loaded, text)
        # a new text starts a new prompt field (a keyed field would keep the old text's prompt)
        text = st.text_input(tr("gen.prompt"), value=opening, key=f"{key}-prompt-{zlib.crc32(opening.encode())}",
                             max_chars=300) or text
    if len(loaded.tokenizer(text)["input_ids"]) > MAX_PROMPT_TOKENS:
        st.info(tr("gen.too_long", n=MAX_PROMPT_TOKENS))
        return
    with shown_errors():
        _steps_panel(cached(generation_steps, loaded, text, NEW_TOKENS, busy=tr("msg.running")), kind, layer, heads,
                     key)


def _steps_panel(steps: GenerationSteps, kind: str, layer: int, heads: tuple[int, ...], key: str) -> None:
    if not steps.steps:
        st.info(tr("gen.nothing"))
        return
    count = len(steps.steps)
    keep_valid("step", range(1, count + 1), 1)
    number = st.slider(tr("gen.step"), 1, count, 1, key="step", **BOUND) if count > 1 else 1
    step = steps.steps[number - 1]
    result = steps.result
    reads = result.query_tokens(kind)
    # row p has read tokens 0..p; the newest token is what it chose
    written = f"{_sentence(reads.labels, reads.special, step.row + 1)} **:orange[{md_escape(step.token)}]**"
    st.markdown(tr("gen.written", step=number, count=count, text=written))
    weights = combine_heads(result.attention(kind, layer).astype("float64"), heads, "mean")
    shown = derived_view(result, kind, weights, layer=layer, heads=heads, upto=step.row + 1)
    if kind == "cross":  # rows named by the word each writes, as the cross-attention map above names them
        written_by = [reads.labels[r + 1] if r + 1 <= step.row else step.token for r in range(len(shown.row_labels))]
        shown = replace(shown, row_labels=tuple(written_by))
    every = len(heads) >= result.shape.heads_of(kind, layer)
    heads_text = tr("beyond.all_heads") if every else ", ".join(map(str, heads))
    title = tr("gen.map.one" if len(heads) == 1 else "gen.map", layer=layer, heads=heads_text)
    figure = highlight_row(analysis_map(shown.matrix, shown.row_labels, shown.col_labels, title=title,
                                        masked=shown.masked if kind == "decoder" else None),
                           step.row, len(shown.col_labels))
    left, right = st.columns([3, 2], gap="large")
    left.plotly_chart(figure, key=f"{key}-map", theme=None)
    right.plotly_chart(chances_figure(step.top, title=tr("gen.top", token=step.token), words=chart_words()),
                       key=f"{key}-top", theme=None)
    right.caption(tr("gen.row", row=step.row, token=reads.labels[step.row], written=step.token))
