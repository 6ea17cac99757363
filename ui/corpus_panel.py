"""The corpus page's parts: the census to open, the clickable grid of heads, a head's offsets, entropy, strongest
texts and query/key map. A statistic's name comes from the page (``name``), which owns the role vocabulary."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st

from attnviz.analysis.view import ViewOptions, build_view
from attnviz.census import CensusOptions, CensusResult, census
from attnviz.census.figures import entropy_bars, offset_bars, qk_map, stat_grid
from attnviz.census.gold import sample_corpus
from attnviz.figures.heatmap import attention_heatmap
from ui import panels
from ui.cached import cached, cached_capture, cached_model, visitor_settings
from ui.clicks import new_click
from ui.errors import shown_errors
from ui.lang import chart_words, tr
from ui.url_state import BOUND, url_choice

EXAMPLE_MODELS = ("minilm", "toy-translator")
EXAMPLE_TEXTS = 48
LAYER, HEAD = "corpus_layer", "corpus_head"  # the head pickers' keys: a click on the grid sets them


def example_census(model_name: str) -> CensusResult:
    """The census of the built-in sample corpus: what the page opens on."""
    return census(cached_model(model_name), sample_corpus(model_name, EXAMPLE_TEXTS),
                  options=CensusOptions(batch_size=16, qk_texts=24))


def choose_census() -> CensusResult | None:
    """The census to show: the example's, an uploaded file or (on a server that allows it) a local path."""
    sources = ["example", "upload"] + (["path"] if visitor_settings().allow_local_paths else [])
    source = url_choice(st.sidebar.radio, tr("corpus.source"), sources, "corpus_source", "example",
                        lambda s: tr(f"corpus.source.{s}"))
    if source == "example":
        model = st.sidebar.selectbox(tr("corpus.example_model"), EXAMPLE_MODELS, key="corpus_example_model",
                                     **BOUND)
        return cached(example_census, model, busy=tr("corpus.building", n=EXAMPLE_TEXTS))
    if source == "upload":
        upload = st.sidebar.file_uploader(tr("corpus.upload"), type=["parquet"], key="corpus_upload")
        if upload is None:
            st.info(tr("corpus.upload_first"))
            return None
        return cached(CensusResult.load, upload.getvalue())
    path = st.sidebar.text_input(tr("corpus.path"), key="corpus_path").strip()
    return cached(CensusResult.load, Path(path)) if path else None


def meta_caption(result: CensusResult, example: bool) -> None:
    meta = result.meta
    engine = tr(f"corpus.engine.{meta.engine}") if meta.engine in ("local", "ray") else meta.engine
    st.caption(tr("corpus.meta", model=meta.model, texts=meta.n_texts, tokens=meta.n_tokens, engine=engine,
                  seconds=meta.seconds, data=tr("corpus.example_data", n=meta.n_texts) if example else meta.data))


def _grid_key(kind: str, stat: str) -> str:
    return f"corpus-grid-{kind}-{stat}"


def chosen_head(result: CensusResult, kind: str, stat: str, name: Callable[[str], str]) -> tuple[int, int]:
    """The grid of ``stat`` over every head, clickable, and the layer and head pickers under it; the page opens on
    the strongest head, a click on the grid picks its head."""
    meta = result.meta
    n_layers, n_heads = meta.kinds[kind], max(meta.heads[kind])
    strongest = result.strongest(kind, stat)
    if LAYER not in st.session_state and strongest is not None:
        st.session_state[LAYER], st.session_state[HEAD] = strongest
    for layer, head in new_click(_grid_key(kind, stat), curve=0)[:1]:  # markers at x = head, y = layer
        if layer < n_layers and head < n_heads:
            st.session_state[LAYER], st.session_state[HEAD] = layer, head
    for key, limit in ((LAYER, n_layers), (HEAD, n_heads)):
        if st.session_state.get(key, 0) >= limit:
            st.session_state[key] = 0
    selected = (st.session_state.get(LAYER, 0), st.session_state.get(HEAD, 0))
    grid = stat_grid(result.grid(kind, stat), title=tr("corpus.grid_title", stat=name(stat), kind=tr(f"kind.{kind}")),
                     value_name=name(stat), layer_word=tr("layer"), head_word=tr("head"), selected=selected)
    st.plotly_chart(grid, key=_grid_key(kind, stat), on_select="rerun", selection_mode="points",
                    config={"displaylogo": False}, theme=None)
    st.caption(tr("corpus.click_hint"))
    left, right = st.columns(2)
    layer = left.selectbox(tr("layer"), range(n_layers), key=LAYER, **BOUND)
    head = right.selectbox(tr("head"), range(meta.heads[kind][layer]), key=HEAD, **BOUND)
    if (layer, head) != selected:
        st.rerun()  # the grid's outline follows the pickers
    return layer, head


def head_shape(result: CensusResult, kind: str, layer: int, head: int, stats: list[str],
               name: Callable[[str], str]) -> None:
    """A head's other statistics, how far back it looks (self-attention) and how spread its rows are."""
    row = result.head(kind, layer, head)
    others = [s for s in ("sink", "entropy_rel", "alignment") if s in stats]
    for column, stat in zip(st.columns(len(others)), others):
        column.metric(name(stat), f"{row[stat]:.2f}", help=tr(f"corpus.stat.{stat}.about"))
    left, right = st.columns(2)
    if kind != "cross":
        offsets, weights = result.offsets(kind, layer, head)
        left.plotly_chart(offset_bars(offsets, weights, title=tr("corpus.offsets"), x_title=tr("corpus.offsets.x"),
                                      y_title=tr("corpus.offsets.y")), key="corpus-offsets", theme=None)
    right.plotly_chart(entropy_bars(result.entropy_histogram(kind, layer, head), title=tr("corpus.entropy_hist"),
                                    x_title=tr("corpus.entropy_hist.x"), y_title=tr("corpus.entropy_hist.y")),
                       key="corpus-entropy", theme=None)


def examples(result: CensusResult, kind: str, layer: int, head: int, stat: str, name: Callable[[str], str]) -> None:
    """The head's strongest texts by ``stat``, each captured again and drawn as the head's map."""
    rows = result.examples_for(kind, layer, head, stat)
    if rows.empty:
        st.caption(tr("corpus.no_examples"))
        return
    count = st.slider(tr("corpus.how_many"), 1, len(rows), min(2, len(rows)), key="corpus_how_many")
    with shown_errors():  # a model or text that cannot be read again: the rest of the page goes on
        loaded = cached_model(result.meta.model)
        for row in rows.head(count).itertuples():
            st.markdown(tr("corpus.example_caption", rank=row.rank + 1, text_id=row.text_id, stat=name(stat),
                           score=row.score) + f"  \n{panels.md_escape(row.text)}"
                        + (f" → {panels.md_escape(row.target)}" if row.target else ""))
            view = build_view(cached_capture(loaded, row.text, row.target), kind, layer, [head], "single",
                              ViewOptions(hide_special=False))
            figure = attention_heatmap(view, words=chart_words(),
                                       title=f"{tr('layer')} {layer} · {tr('head')} {head}")
            panels.show_figure(figure, key=f"corpus-example-{row.rank}",
                               file_stem=f"census_{kind}_L{layer}_H{head}_text{row.text_id}")


def query_key_map(result: CensusResult, kind: str, layer: int, head: int) -> None:
    points = result.points_for(kind, layer, head)
    if points.empty:
        st.info(tr("corpus.no_points"))
        return
    st.caption(tr("corpus.qk_caption", texts=points.text_id.nunique(), method=result.meta.qk_method.upper()))
    st.plotly_chart(qk_map(points, query_word=tr("corpus.query"), key_word=tr("corpus.key"),
                           text_word=tr("corpus.text")), key="corpus-qk", theme=None)


def tables(result: CensusResult, kind: str) -> None:
    """Every head's statistics, and the census's own notes (a table of one column: long lines wrap)."""
    with st.expander(tr("corpus.table")):
        st.dataframe(result.heads[result.heads.kind == kind].round(4), hide_index=True, width="stretch")
    if result.meta.notes:
        with st.expander(tr("corpus.notes")):
            st.table({tr("corpus.notes"): list(result.meta.notes)}, border="horizontal", hide_index=True,
                     hide_header=True)
