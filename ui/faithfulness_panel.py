"""The faithfulness view: what is explained, one row per method over the input tokens, the agreement table."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from attnviz import LoadedModel
from attnviz.export import MIME_TYPES, file_stem
from attnviz.faithfulness import Faithfulness, OutputChoice, faithfulness
from attnviz.faithfulness.compute import FAITHFULNESS_MAX_TOKENS
from attnviz.faithfulness.export import agreement_to_csv, run_to_json, scores_to_csv
from attnviz.figures.faithfulness import method_strip
from ui.cached import cached, visitor_settings
from ui.i18n import STRINGS
from ui.lang import chart_words, tr
from ui.panels import image_buttons, md_escape, run_capture, show_figure
from ui.url_state import url_choice


def target_position(loaded: LoadedModel, text: str, target: str | None) -> int | None:
    """A translation word to explain, picked in the sidebar among the target's tokens (None: nothing to pick)."""
    words = run_capture(loaded, text, target).output_tokens
    if words is None:
        return None
    first = next((i for i, special in enumerate(words.special) if not special), 0)
    return url_choice(st.sidebar.selectbox, tr("faith.position"), list(range(len(words))), "position", first,
                      lambda i: f"{i}: {words.labels[i]}")


def computed(loaded: LoadedModel, text: str, target: str | None, output: str, token: str | None,
             position: int | None, steps: int) -> Faithfulness:
    """Every method's scores for the chosen output (cached), within the operator's and the methods' token limits."""
    return cached(faithfulness, loaded, text, target, OutputChoice(output, token or None, position), steps=steps,
                  max_tokens=min(visitor_settings().max_tokens, FAITHFULNESS_MAX_TOKENS),
                  busy=tr("faith.running", steps=steps))


def method_label(method: str) -> str:
    key = f"faith.method.{method}"
    return tr(key) if key in STRINGS else method


def explained(run: Faithfulness) -> None:
    output = run.output
    st.markdown(tr(f"faith.explains.{output.kind}", token=md_escape(output.label), position=output.position,
                   value=output.value, blank=run.baseline_value))
    if run.truncation is not None and run.truncation.truncated:
        st.warning(tr("faith.truncated", kept=run.truncation.kept_tokens, total=run.truncation.total_tokens))
    st.caption(tr("faith.ig_check", steps=run.ig_steps, delta=abs(run.ig_delta)))
    if run.unavailable:
        reasons = [f"{method_label(m)} ({_why(code)})" for m, code in run.unavailable.items()]
        st.caption(tr("faith.unavailable", methods="; ".join(reasons)))


def strip_and_table(run: Faithfulness, hide_special: bool, merge_words: bool, key: str) -> None:
    axis = run.axis(hide_special, merge_words)
    scores = run.on(axis)
    methods = run.methods
    labels = [method_label(m) for m in methods]
    figure = method_strip([scores[m] for m in methods], methods, axis.labels, title=tr("faith.strip"),
                          words=chart_words())
    stem = file_stem(run.model_name, "faithfulness", run.output.kind)
    st.subheader(tr("faith.strip"))
    st.caption(tr("faith.strip_help"))
    show_figure(figure, key=f"{key}-strip", file_stem=stem)
    st.subheader(tr("faith.agreement"))
    st.caption(tr("faith.agreement_help"))
    agreement = run.agreement(hide_special, merge_words)
    table = pd.DataFrame({tr("faith.method"): labels,
                          **{tr(f"faith.with.{ref}"): [_rounded(by_method[m]) for m in methods]
                             for ref, by_method in agreement.items()}})
    st.dataframe(table, hide_index=True, width="content", key=f"{key}-table",
                 column_config={tr("faith.method"): st.column_config.TextColumn(width="large")})
    with st.expander(tr("faith.methods_help")):
        st.markdown(tr("faith.methods_text"))
    with st.container(border=True):
        st.markdown(f"**{tr('faith.export')}** · `{stem}`")
        image_buttons(figure, stem, key=f"{key}-img")
        columns = st.columns(3)
        columns[0].download_button("CSV", lambda: scores_to_csv(run, hide_special, merge_words),
                                   file_name=f"{stem}.csv", mime=MIME_TYPES["csv"], key=f"{key}-csv",
                                   on_click="ignore", icon=":material/table:")
        columns[1].download_button("CSV (ρ)", lambda: agreement_to_csv(run, hide_special, merge_words),
                                   file_name=f"{stem}-agreement.csv", mime=MIME_TYPES["csv"],
                                   key=f"{key}-rho-csv", on_click="ignore", icon=":material/table:")
        columns[2].download_button("JSON", lambda: run_to_json(run, hide_special, merge_words),
                                   file_name=f"{stem}.json", mime=MIME_TYPES["json"], key=f"{key}-json",
                                   on_click="ignore", icon=":material/data_object:")


def _why(code: str) -> str:
    key = f"faith.why.{code}"
    return tr(key) if key in STRINGS else tr("faith.why.other")


def _rounded(value: float) -> float | None:
    return None if not math.isfinite(value) else round(value, 3)
