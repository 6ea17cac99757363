"""Sidebar controls. Every choice lives in the URL, so a copied link reproduces the view."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from attnviz import LoadedModel
from attnviz.analysis.heads import HeadMode
from attnviz.analysis.view import ViewOptions
from attnviz.models.registry import BUILTIN_MODELS
from attnviz.result import Family
from ui import live_map
from ui.cached import cached_model
from ui.errors import shown_errors
from ui.lang import tr
from ui.model_picker import hub_choices, ready_to_load
from ui.url_state import BOUND, keep_valid, url_choice

DEFAULT_TEXT = "The train left the station on time"
OPENING_MODEL = "minilm"  # the self-attention page, where the app opens (a fresh server warms it up)
# ... on a head with a clear pattern on the opening sentence: layer 0, head 2 looks at the previous token (score 1.0)
OPENING_HEAD = (0, 2)
CUSTOM = "__custom__"


@dataclass(frozen=True)
class PageSpec:
    """What an explorer page can show: the model families it draws and the model it opens on."""

    model_key: str  # URL parameter of this page's model choice
    families: tuple[Family, ...]
    default_model: str
    example_text: str = ""  # the sentence this page opens on, when the visitor has not typed one of their own


@dataclass(frozen=True)
class ViewControls:
    """The visitor's choice of one map: layer, heads and mode, token options and the map's look."""

    layer: int
    heads: tuple[int, ...]
    mode: HeadMode
    options: ViewOptions
    colorscale: str
    show_values: bool | None
    fixed_scale: bool
    choice: live_map.LiveChoice | None = None
    live_key: str = ""  # the browser map's key: its reports land in st.session_state under it


def kind_picker(kinds: list) -> str:
    if len(kinds) == 1:
        return kinds[0]
    return url_choice(st.sidebar.radio, tr("ctl.kind"), kinds, "kind", kinds[0], lambda k: tr(f"kind.{k}"))


def model_picker(spec: PageSpec) -> LoadedModel | None:
    """Model choice in the sidebar; loads it (cached) and reports problems on the page."""
    names = [name for name, model in BUILTIN_MODELS.items() if model.family in spec.families]
    options = names + hub_choices(spec.families) + [CUSTOM]
    choice = url_choice(st.sidebar.selectbox, tr("ctl.model"), options, spec.model_key, spec.default_model,
                        lambda n: tr("ctl.model.custom") if n == CUSTOM else n)
    if choice == CUSTOM:
        name = st.sidebar.text_input(tr("ctl.model.custom_field"), key=f"{spec.model_key}_path",
                                     help=tr("ctl.model.custom_help"), max_chars=300, **BOUND).strip()
        if not name:
            st.info(tr("ctl.model.custom_help"))
            return None
    else:
        name = choice
        if name in BUILTIN_MODELS:
            st.sidebar.caption(tr(f"model.about.{name}"))
    if not ready_to_load(name):
        return None
    loaded = None
    with shown_errors():
        loaded = cached_model(name, busy=tr("msg.loading", model=name))
    if loaded is None:
        return None
    if loaded.family not in spec.families:
        what = {"decoder": tr("kind.decoder"), "encoder-decoder": tr("kind.cross")}
        wanted = " / ".join(what.get(f, tr("kind.encoder")) for f in spec.families)
        st.warning(tr("msg.needs_family", what=wanted, model=name, family=tr(f"family.{loaded.family}")))
        return None
    return loaded


def text_inputs(with_target: bool, default_target: str = "") -> tuple[str, str | None]:
    text = st.sidebar.text_area(tr("ctl.text"), value=DEFAULT_TEXT, key="text", height=90, **BOUND)
    target = None
    if with_target:
        target = st.sidebar.text_input(tr("ctl.target"), value=default_target, key="target",
                                       help=tr("ctl.target_help"), **BOUND)
    return text, target


def layer_picker(n_layers: int, *, allow_all_layers: bool = False, default: int = 0) -> int | None:
    """Layer slider; None when 'show every layer' is switched on."""
    if allow_all_layers and st.sidebar.toggle(tr("ctl.all_layers"), value=True, key="all_layers", **BOUND):
        return None
    layers = list(range(n_layers))
    default = min(max(default, 0), n_layers - 1)
    keep_valid("layer", layers, default)
    return st.sidebar.select_slider(tr("ctl.layer"), layers, value=default, key="layer", **BOUND)


def head_picker(n_heads: int) -> tuple[int, ...]:
    """The heads to show (every head when none is picked)."""
    heads_all = list(range(n_heads))
    keep_valid("heads", heads_all, heads_all)
    chosen = st.sidebar.pills(tr("ctl.heads"), heads_all, selection_mode="multi", default=heads_all, key="heads",
                              help=tr("ctl.heads_help"), **BOUND)
    return tuple(sorted(chosen)) if chosen else tuple(heads_all)


def _token_options(default_hide: bool, cross: bool, with_hide: bool = True) -> tuple[bool, bool, bool]:
    """Which tokens a map has: hide special ones (unless the map does), merge words, and for
    cross-attention which token names its rows."""
    hide = st.checkbox(tr("ctl.hide_special"), value=default_hide, key="hide", **BOUND) if with_hide else default_hide
    merge = st.checkbox(tr("ctl.merge"), value=False, key="merge", **BOUND)
    by_output = True
    if cross:
        by_output = st.checkbox(tr("cross.rows_output"), value=True, key="by_output", help=tr("cross.rows_help"),
                                **BOUND)
    return hide, merge, by_output


def display_options(default_hide: bool = True, cross: bool = False) -> tuple[ViewOptions, str, bool | None, bool]:
    """Every display option in the sidebar (the all-heads grid): token options, rescaled rows, colours."""
    with st.sidebar.expander(tr("ctl.display"), expanded=False):
        hide, merge, by_output = _token_options(default_hide, cross)
        renormalise = st.checkbox(tr("ctl.renormalise"), value=False, key="renorm", disabled=not hide, **BOUND)
        keep_valid("cs", list(live_map.COLORSCALES), "Blues")
        colorscale = st.selectbox(tr("ctl.colorscale"), list(live_map.COLORSCALES), key="cs", **BOUND)
        values = url_choice(st.radio, tr("ctl.values"), ["auto", "on", "off"], "values", "auto",
                            lambda v: tr(f"values.{v}"), horizontal=True)
        fixed = st.checkbox(tr("ctl.fixed_scale"), value=False, key="fixed", **BOUND)
    options = ViewOptions(hide_special=hide, merge_subwords=merge, renormalise=renormalise and hide,
                          label_rows_by_output=by_output)
    show_values = {"auto": None, "on": True, "off": False}.get(values)
    return options, colorscale, show_values, fixed


def view_controls(n_layers: int, n_heads: int, *, key: str, default_hide: bool = True, cross: bool = False,
                  default_layer: int = 0, default_head: int = 0) -> ViewControls:
    """Layer, head, mode, hiding special tokens and the map's look are switched on the map itself (see
    ui/live_map.py); merging sub-words (and naming cross-attention rows) stay in the sidebar."""
    choice = live_map.chosen_view(key, n_layers, n_heads, default_layer, default_hide, default_head)
    with st.sidebar.expander(tr("ctl.display"), expanded=False):
        _, merge, by_output = _token_options(default_hide, cross, with_hide=False)
        st.caption(tr("ctl.look_on_map"))
    options = ViewOptions(hide_special=choice.hide, merge_subwords=merge,
                          renormalise=choice.renormalise and choice.hide, label_rows_by_output=by_output)
    return ViewControls(layer=choice.layer, heads=choice.shown_heads, mode=choice.mode, options=options,
                        colorscale=choice.colorscale, show_values=choice.show_values,
                        fixed_scale=choice.fixed_scale, choice=choice, live_key=key)


def page_start(spec: PageSpec, title: str, intro: str) -> tuple[LoadedModel, str, str | None]:
    """Title and introduction, then the model and the text(s) in the sidebar; stops the page until a model loads."""
    st.title(title)
    st.markdown(intro)
    loaded = model_picker(spec)
    if loaded is None:
        st.stop()
    offer_example(spec.example_text)
    text, target = text_inputs(with_target=loaded.family == "encoder-decoder")
    return loaded, text, target


def offer_example(example: str) -> None:
    """Open on the page's own sentence while the text is still the app's opening one and the link names none.
    The shared sentence shows attention well but is a poor example for some pages (contributions: its heads
    carry 1 % of the predicted logit). A sentence the visitor typed, or one in a link, is always kept."""
    if example and "text" not in st.query_params and st.session_state.get("text", DEFAULT_TEXT) == DEFAULT_TEXT:
        st.session_state["text"] = example
