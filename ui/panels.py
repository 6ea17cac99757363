"""Reusable page parts: model summary, capture with messages, a heatmap with its export buttons."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from attnviz import AttentionResult, LoadedModel
from attnviz.analysis.tokens import unknown_words
from attnviz.analysis.view import AttentionView, build_view
from attnviz.export import (
    MIME_TYPES,
    figure_to_image,
    file_stem,
    image_export_available,
    matrix_to_csv,
    matrix_to_json,
    result_to_json,
    result_to_npz,
)
from attnviz.figures.heatmap import attention_heatmap
from ui import live_map
from ui.cached import cached, cached_capture
from ui.lang import chart_words, tr

SIDE_BY_SIDE_TOKENS = 16  # up to this many tokens a map and its facts sit side by side
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$])")


def md_escape(text: str) -> str:
    """User text inside markdown: shown literally, never as formatting or HTML."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def model_summary(loaded: LoadedModel) -> None:
    shape = loaded.shape
    layers = ", ".join(tr("shape.layers", n=n, kind=tr(f"kind.{kind}")) for kind, n in shape.n_layers.items())
    kv = tr("shape.kv", kv=shape.n_kv_heads) if shape.n_kv_heads != shape.n_heads else ""
    per_kind = {kind: shape.heads_of(kind) for kind in shape.kinds}
    heads = (str(shape.n_heads) if len(set(per_kind.values())) == 1
             else " / ".join(f"{n} ({tr(f'kind.{kind}')})" for kind, n in per_kind.items()))
    st.caption(md_escape(loaded.name) + " · " + tr("shape.summary", family=tr(f"family.{shape.family}"),
                                                   layers=layers, heads=heads, kv=kv,
                                                   head_dim=shape.head_dim, d_model=shape.d_model))
    if loaded.capture_path == "output_attentions":
        st.caption(tr("shape.path.output_attentions"))


def run_capture(loaded: LoadedModel, text: str, target: str | None = None, layer: int | None = None
                ) -> AttentionResult:
    """Capture (cached), with notes on what a long input lost. ``layer``: the layer the page shows, so a long
    input may keep only that one (the note says so)."""
    result = cached_capture(loaded, text, target, layer, busy=tr("msg.running"))
    if result.source_truncation.truncated:
        trunc = result.source_truncation
        st.warning(tr("msg.truncated", kept=trunc.kept_tokens, total=trunc.total_tokens, limit=loaded.shape.max_tokens))
    if any(len(kept) < loaded.shape.n_layers[kind] for kind, kept in result.layers.items()):
        st.caption(tr("msg.selective", layer=layer, mb=sum(a.nbytes for a in result.arrays.values()) / 2**20))
    return result


def generated_target_note(result: AttentionResult) -> None:
    """An encoder-decoder given no target wrote its own: say what it wrote."""
    if result.target_generated and result.output_tokens is not None:
        words = result.output_tokens
        st.info(tr("msg.generated", target=" ".join(w for w, special in zip(words.labels, words.special)
                                                    if not special)))


def rows_sum_note(view: AttentionView) -> None:
    sums = view.matrix.sum(axis=-1)
    if view.mode != "max" and sums.size and sums.min() < 0.98:
        st.caption(tr("msg.rows_sum", low=float(sums.min()), high=float(sums.max())))


def _chart_config(file_stem: str) -> dict:
    return {"displaylogo": False, "toImageButtonOptions": {"format": "png", "filename": file_stem, "scale": 2}}


def show_figure(figure: go.Figure, key: str, file_stem: str, stretch: bool = False) -> None:
    st.plotly_chart(figure, key=key, width="stretch" if stretch else "content", config=_chart_config(file_stem),
                    theme=None)


def image_buttons(figure: go.Figure | Callable[[], go.Figure], file_stem: str, key: str) -> None:
    """PNG / SVG / PDF, rendered only when clicked (kaleido takes a moment); ``figure`` may be a function
    that builds it, so a page that draws in the browser builds a plotly figure only for an export."""
    if not image_export_available():
        st.caption(tr("export.unavailable"))
        return
    columns = st.columns(3)
    for column, fmt in zip(columns, ("png", "svg", "pdf")):
        column.download_button(
            fmt.upper(), data=lambda fmt=fmt: figure_to_image(figure() if callable(figure) else figure, fmt),
            file_name=f"{file_stem}.{fmt}",
            mime=MIME_TYPES[fmt], key=f"{key}-{fmt}", on_click="ignore", icon=":material/image:",
        )


@dataclass(frozen=True)
class Download:
    """One data button of an export box: ``data`` is built when clicked when it is a function."""

    label: str
    data: bytes | Callable[[], bytes]
    file_name: str
    fmt: str  # a key of MIME_TYPES, also the button's key suffix unless ``name`` says otherwise
    name: str = ""

    @property
    def icon(self) -> str:
        return {"json": ":material/data_object:", "npz": ":material/download:"}.get(self.fmt, ":material/table:")


def export_box(stem: str, figure: go.Figure | Callable[[], go.Figure], key: str, downloads: list[Download],
               image_stem: str | None = None) -> None:
    """A bordered box named after the files it makes: images of ``figure`` (named ``image_stem``, else ``stem``),
    then the data buttons in a row."""
    with st.container(border=True):
        st.markdown(f"**{tr('export.title')}** · `{stem}`")
        image_buttons(figure, image_stem or stem, key)
        for column, download in zip(st.columns(max(3, len(downloads))), downloads):
            column.download_button(download.label, download.data, file_name=download.file_name,
                                   mime=MIME_TYPES[download.fmt], key=f"{key}-{download.name or download.fmt}",
                                   on_click="ignore", icon=download.icon)


def map_exports(view: AttentionView, figure: go.Figure | Callable[[], go.Figure], key: str) -> None:
    """Export buttons of a map the browser draws: images of ``figure`` and the view's numbers."""
    stem = file_stem(view.model_name, view.kind, f"L{view.layer}", view.head_label)
    context = {"model": view.model_name, "kind": view.kind, "layer": view.layer, "heads": list(view.heads),
               "mode": view.mode}
    matrix = np.where(view.masked, 0.0, view.matrix)
    # built when clicked: a 4,096-token map is 16 M cells of text
    export_box(stem, figure, key, [
        Download("CSV", lambda: matrix_to_csv(matrix, view.row_labels, view.col_labels), f"{stem}.csv", "csv"),
        Download("JSON", lambda: matrix_to_json(matrix, view.row_labels, view.col_labels, **context),
                 f"{stem}.json", "json")])


def attention_panel(result: AttentionResult, kind, controls, key: str) -> tuple[AttentionView, DeltaGenerator]:
    """The heatmap of the chosen layer/heads with its exports on the left; returns the view and the
    right-hand column for the page's own facts."""
    def figure() -> go.Figure:  # for image exports only: the page draws the map in the browser
        return attention_heatmap(view, words=chart_words(), colorscale=controls.colorscale,
                                 show_values=controls.show_values, fixed_scale=controls.fixed_scale)

    # a longer text takes the page's whole width (its facts go under it): 32 tokens keep readable cells on a laptop
    longest = max(len(result.query_tokens(kind)), len(result.key_tokens(kind)))
    if longest > SIDE_BY_SIDE_TOKENS:
        chart, facts = st.container(), st.container()
    else:
        chart, facts = st.columns([3, 2], gap="large")
    with chart:
        payload = live_map.live_payload(result, kind, controls.choice, controls.options,
                                        title=f"{result.model_name} · {tr('kind.' + kind)}",
                                        n_heads=result.shape.heads_of(kind))
        live_map.show(payload, key=controls.live_key)
        # after the map: the browser draws while the page's own view (for exports and facts) is built
        view = cached(build_view, result, kind, controls.layer, controls.heads, controls.mode, controls.options)
        map_exports(view, figure, key=key)
        rows_sum_note(view)
    return view, facts


def toy_vocabulary(loaded: LoadedModel, *texts: str | None) -> None:
    """Toy models know only their grammar's words: name the ones they will read as <unk>, list the rest."""
    if not loaded.name.startswith("toy-"):
        return
    unknown = [w for text in texts if text for w in unknown_words(loaded.tokenizer, text)]
    if unknown:
        st.warning(tr("msg.unknown_words", words=", ".join(dict.fromkeys(unknown))))
    with st.expander(tr("msg.known_words")):
        vocabulary = sorted(w for w in loaded.tokenizer.get_vocab() if not w.startswith("<"))
        st.text(" ".join(w for w in vocabulary if w.isascii()))
        st.text(" ".join(w for w in vocabulary if not w.isascii()))


def links_table(links: list[tuple[str, str, float]], first: str | None = None, second: str | None = None) -> None:
    """(token, token, weight) rows in a narrow side column: short headers (the long ones as their help), the
    weight as 0.00, so every column shows in a third of a laptop's width."""
    first, second = first or tr("axis.query_short"), second or tr("axis.key_short")
    frame = pd.DataFrame(links, columns=[first, second, tr("hover.weight")])
    st.dataframe(frame, hide_index=True, width="stretch", column_config={
        first: st.column_config.TextColumn(first, help=tr("axis.query"), width="small"),
        second: st.column_config.TextColumn(second, help=tr("axis.key"), width="small"),
        tr("hover.weight"): st.column_config.NumberColumn(tr("hover.weight"), format="%.2f", width="small")})


def result_downloads(result: AttentionResult, key: str) -> None:
    """The whole capture: every captured layer and head, tokens and shape facts (one button a line: their
    labels stay whole in a narrow column)."""
    stem = file_stem(result.model_name, "attention")
    columns = [st.container(), st.container()]
    columns[0].download_button(tr("export.npz"), data=lambda: result_to_npz(result), file_name=f"{stem}.npz",
                               mime=MIME_TYPES["npz"], key=f"{key}-npz", on_click="ignore",
                               icon=":material/download:")
    columns[1].download_button(tr("export.json_all"), data=lambda: result_to_json(result), file_name=f"{stem}.json",
                               mime=MIME_TYPES["json"], key=f"{key}-alljson", on_click="ignore",
                               icon=":material/download:")

