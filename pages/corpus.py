"""Heads across a corpus: open a census file, see a statistic for every head, click a head for its
strongest texts (captured again and drawn) and its query/key map."""

import hashlib

import pandas as pd
import streamlit as st

from attnviz import AttnvizError
from attnviz.analysis.view import ViewOptions, build_view
from attnviz.census import CensusOptions, CensusResult, census
from attnviz.census.figures import entropy_bars, offset_bars, qk_map, stat_grid
from attnviz.census.gold import sample_corpus
from attnviz.census.report import examples_stat
from attnviz.census.stats import EXAMPLE_STATS
from attnviz.figures.heatmap import attention_heatmap
from attnviz.roles import MARGIN, kind_roles
from ui import panels, roles_panel
from ui.cached import cached_capture, cached_model, visitor_settings
from ui.errors import show_error
from ui.lang import chart_words, tr
from ui.url_state import BOUND, url_choice

EXAMPLE_MODELS = ("minilm", "toy-translator")
EXAMPLE_TEXTS = 48
ROLE_NAMES = ("previous", "next", "self", "duplicate", "induction", "monotonic", "local", "first", "special", "broad")


@st.cache_resource(show_spinner=False, max_entries=len(EXAMPLE_MODELS))
def example_census(model: str) -> CensusResult:
    return census(cached_model(model), sample_corpus(model, EXAMPLE_TEXTS),
                  options=CensusOptions(batch_size=16, qk_texts=24))


@st.cache_resource(show_spinner=False, max_entries=4)
def opened_census(digest: str, _data: bytes) -> CensusResult:
    return CensusResult.load(_data)


def stat_name(stat: str) -> str:
    if stat in ROLE_NAMES:  # the vocabulary of the All heads page
        return roles_panel.role_name(stat)
    if stat.startswith("offset_"):
        return tr("corpus.stat.offset", d=stat.removeprefix("offset_"))
    return tr(f"corpus.stat.{stat}")


def choose_census() -> CensusResult | None:
    sources = ["example", "upload"] + (["path"] if visitor_settings().allow_local_paths else [])
    source = url_choice(st.sidebar.radio, tr("corpus.source"), sources, "corpus_source", "example",
                        lambda s: tr(f"corpus.source.{s}"))
    try:
        if source == "example":
            model = st.sidebar.selectbox(tr("corpus.example_model"), EXAMPLE_MODELS, key="corpus_example_model",
                                         **BOUND)
            with st.spinner(tr("corpus.building", n=EXAMPLE_TEXTS)):
                return example_census(model)
        if source == "upload":
            upload = st.sidebar.file_uploader(tr("corpus.upload"), type=["parquet"], key="corpus_upload")
            if upload is None:
                st.info(tr("corpus.upload_first"))
                return None
            data = upload.getvalue()
        else:
            path = st.sidebar.text_input(tr("corpus.path"), key="corpus_path").strip()
            if not path:
                return None
            data = open(path, "rb").read()
        return opened_census(hashlib.sha256(data).hexdigest(), data)
    except AttnvizError as error:
        st.error(tr("corpus.bad_file", error=str(error)) if source != "example" else str(error))
    except OSError as error:
        st.error(tr("corpus.bad_file", error=type(error).__name__))
    return None


def pick_from_click(event, kind: str, n_layers: int, n_heads: int) -> None:
    """A click on the grid chooses the layer and head (once per new click, so the pickers stay free)."""
    points = getattr(getattr(event, "selection", None), "points", None) or []
    if not points:
        return
    clicked = (kind, int(points[0]["y"]), int(points[0]["x"]))
    if clicked != st.session_state.get("corpus_last_click") and clicked[1] < n_layers and clicked[2] < n_heads:
        st.session_state["corpus_last_click"] = clicked
        st.session_state["corpus_layer"], st.session_state["corpus_head"] = clicked[1], clicked[2]


def show_examples(result: CensusResult, kind: str, layer: int, head: int, stat: str) -> None:
    rows = result.examples_for(kind, layer, head, stat)
    if rows.empty:
        st.caption(tr("corpus.no_examples"))
        return
    count = st.slider(tr("corpus.how_many"), 1, len(rows), min(2, len(rows)), key="corpus_how_many")
    for row in rows.head(count).itertuples():
        st.markdown(tr("corpus.example_caption", rank=row.rank + 1, text_id=row.text_id, stat=stat_name(stat),
                       score=row.score) + f"  \n{panels.md_escape(row.text)}"
                    + (f" → {panels.md_escape(row.target)}" if row.target else ""))
        try:
            captured = cached_capture(result.meta.model, row.text, row.target)
        except AttnvizError as error:
            show_error(error)
            return
        view = build_view(captured, kind, layer, [head], "single", ViewOptions(hide_special=False))
        figure = attention_heatmap(view, words=chart_words(), title=f"{tr('layer')} {layer} · {tr('head')} {head}")
        panels.show_figure(figure, key=f"corpus-example-{row.rank}",
                           file_stem=f"census_{kind}_L{layer}_H{head}_text{row.text_id}")


st.title(tr("corpus.title"))
st.markdown(tr("corpus.intro"))
result = choose_census()
if result is None:
    st.stop()
meta = result.meta
example = st.session_state.get("corpus_source", "example") == "example"
def engine_name(engine: str) -> str:
    return tr(f"corpus.engine.{engine}") if engine in ("local", "ray") else engine


st.caption(tr("corpus.meta", model=meta.model, texts=meta.n_texts, tokens=meta.n_tokens,
              engine=engine_name(meta.engine),
              seconds=meta.seconds, data=tr("corpus.example_data", n=meta.n_texts) if example else meta.data))

kind = url_choice(st.sidebar.radio, tr("corpus.kind"), list(result.kinds), "corpus_kind", result.kinds[0],
                  lambda k: tr(f"kind.{k}"))
stats = result.stats(kind)
stat = url_choice(st.selectbox, tr("corpus.stat"), list(stats), "corpus_stat", stats[0], stat_name,
                  help=tr("corpus.stat.help"))
n_layers, n_heads = meta.kinds[kind], max(meta.heads[kind])
values = result.grid(kind, stat)
strongest = result.strongest(kind, stat)
if "corpus_layer" not in st.session_state and strongest is not None:  # open on the strongest head
    st.session_state["corpus_layer"], st.session_state["corpus_head"] = strongest
for key, limit in (("corpus_layer", n_layers), ("corpus_head", n_heads)):
    if st.session_state.get(key, 0) >= limit:
        st.session_state[key] = 0
selected = (st.session_state.get("corpus_layer", 0), st.session_state.get("corpus_head", 0))
grid = stat_grid(values, title=tr("corpus.grid_title", stat=stat_name(stat), kind=tr(f"kind.{kind}")),
                 value_name=stat_name(stat), layer_word=tr("layer"), head_word=tr("head"), selected=selected)
event = st.plotly_chart(grid, key=f"corpus-grid-{kind}-{stat}", on_select="rerun", selection_mode="points",
                        config={"displaylogo": False}, theme=None)
pick_from_click(event, kind, n_layers, n_heads)
st.caption(tr("corpus.click_hint"))

left, right = st.columns(2)
layer = left.selectbox(tr("layer"), range(n_layers), key="corpus_layer", **BOUND)
head = right.selectbox(tr("head"), range(meta.heads[kind][layer]), key="corpus_head", **BOUND)
if (layer, head) != selected:
    st.rerun()  # the grid's outline follows the pickers

st.subheader(tr("corpus.head_title", layer=layer, head=head))
row = result.head(kind, layer, head)
roles = tuple(r for r in (row.roles or "").split(",") if r)
st.markdown(tr("corpus.head_roles", badges=roles_panel.badges(roles)))
st.caption(tr("corpus.role_scores", margin=MARGIN))
shown = [r for r in ROLE_NAMES if r in kind_roles(kind == "cross", kind == "decoder") and r in stats]
# one role a line (three columns fit a phone; ten roles side by side did not)
st.dataframe(pd.DataFrame({tr("corpus.col.role"): [stat_name(r) for r in shown],
                           tr("roles.col.score"): [round(float(row[r]), 2) for r in shown],
                           tr("corpus.col.baseline"): [round(float(row[f"baseline_{r}"]), 2) for r in shown]}),
             hide_index=True, width="stretch", key="corpus-role-scores")
others = [s for s in ("sink", "entropy_rel", "alignment") if s in stats]
for column, name in zip(st.columns(len(others)), others):
    column.metric(stat_name(name), f"{row[name]:.2f}", help=tr(f"corpus.stat.{name}.about"))
left, right = st.columns(2)
if kind != "cross":
    offsets, weights = result.offsets(kind, layer, head)
    left.plotly_chart(offset_bars(offsets, weights, title=tr("corpus.offsets"), x_title=tr("corpus.offsets.x"),
                                  y_title=tr("corpus.offsets.y")), key="corpus-offsets", theme=None)
right.plotly_chart(entropy_bars(result.entropy_histogram(kind, layer, head), title=tr("corpus.entropy_hist"),
                                x_title=tr("corpus.entropy_hist.x"), y_title=tr("corpus.entropy_hist.y")),
                   key="corpus-entropy", theme=None)

by = examples_stat(stat)
choices = [s for s in EXAMPLE_STATS if s in stats]
st.subheader(tr("corpus.examples", stat=stat_name(by or choices[0])))
by = st.selectbox(tr("corpus.examples_by"), choices, index=choices.index(by) if by in choices else 0,
                  format_func=stat_name, key=f"corpus_examples_by_{stat}")
show_examples(result, kind, layer, head, by)

st.subheader(tr("corpus.qk"))
points = result.points_for(kind, layer, head)
if points.empty:
    st.info(tr("corpus.no_points"))
else:
    st.caption(tr("corpus.qk_caption", texts=points.text_id.nunique(), method=meta.qk_method.upper()))
    st.plotly_chart(qk_map(points, query_word=tr("corpus.query"), key_word=tr("corpus.key"),
                           text_word=tr("corpus.text")), key="corpus-qk", theme=None)

with st.expander(tr("corpus.table")):
    st.dataframe(result.heads[result.heads.kind == kind].round(4), hide_index=True, width="stretch")
if meta.notes:
    with st.expander(tr("corpus.notes")):
        st.markdown("\n".join(f"- {panels.md_escape(note)}" for note in meta.notes))
