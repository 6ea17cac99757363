"""The explorer pages' attention map, drawn in the browser (static/live_map.js) from a compact payload.

Layers, heads, the head mode, hiding special tokens and the map's look (colours, values in cells, the 0–1
range, rescaled rows) switch in the browser without a rerun; the browser reports its choice a moment later,
so the page's facts, exports and URL follow. Text, model and merging sub-words into words rerun.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import streamlit as st

from attnviz import AttentionResult
from attnviz.analysis.heads import HeadMode
from attnviz.analysis.view import ViewOptions, axis_tokens, layer_cells, stack_views, view_axes, view_size
from attnviz.figures.heatmap import MASKED_COLOUR
from attnviz.figures.live import (
    MAX_SIDE,
    TileMeans,
    Window,
    colour_table,
    encode,
    grid_payload,
    maps_to_send,
    overview_window,
    quantise,
    window_labels,
    zoom_window,
)
from ui.cached import shared_cache
from ui.lang import chart_words, tr

_STATIC = Path(__file__).parent / "static"
_MAP = st.components.v2.component(
    "attnviz_live_map",
    js=(_STATIC / "live_map.js").read_text("utf-8"),
    css=(_STATIC / "live_map.css").read_text("utf-8"),
)
MODES: tuple[HeadMode, ...] = ("single", "mean", "max")
COLOURSCALES = ("Blues", "Viridis", "Magma", "YlOrRd", "Greys", "Cividis")
VALUES = {"auto": None, "on": True, "off": False}  # words in cells: by size, always, never


@dataclass(frozen=True)
class LiveChoice:
    """What the visitor shows: one layer, a head (single mode) or heads (mean/max), and a zoomed region."""

    layer: int
    head: int
    heads: tuple[int, ...]
    mode: HeadMode
    zoom: tuple[int, int, int, int] | None = None
    colorscale: str = "Blues"
    show_values: bool | None = None
    fixed_scale: bool = False
    renormalise: bool = False  # rows rescaled over what is shown (takes effect with special tokens hidden)
    hide: bool = True  # special tokens hidden

    @property
    def shown_heads(self) -> tuple[int, ...]:
        return (self.head,) if self.mode == "single" else self.heads


def _int(value, default: int, allowed: range) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return number if number in allowed else default


def _flag(value) -> bool | None:
    text = str(value).strip().lower()
    return True if text in ("true", "1", "on") else False if text in ("false", "0", "off") else None


def _from_url(n_layers: int, n_heads: int, default_layer: int, default_hide: bool) -> dict:
    params = st.query_params
    heads = params.get("heads")
    return {"layer": params.get("layer", default_layer), "head": params.get("head", 0),
            "mode": params.get("mode", "single"),
            "heads": [h for h in (heads or "").split(",") if h.strip()] or list(range(n_heads)),
            "colorscale": params.get("cs", "Blues"), "values": params.get("values", "auto"),
            "fixed": _flag(params.get("fixed", "false")), "renorm": _flag(params.get("renorm", "false")),
            "hide": _flag(params.get("hide", str(default_hide)))}


def chosen_view(key: str, n_layers: int, n_heads: int, default_layer: int = 0, default_hide: bool = True
                ) -> LiveChoice:
    """The map's choice: what the browser last reported, else the link's parameters, else defaults.
    Values a link or another model left out of range fall back to defaults; the URL is kept in step."""
    state = st.session_state.get(key)
    view = state.get("view") if hasattr(state, "get") else None
    if not isinstance(view, dict):
        view = _from_url(n_layers, n_heads, default_layer, default_hide)
    layers, heads_all = range(n_layers), range(n_heads)
    default_layer = min(max(default_layer, 0), n_layers - 1)
    heads = tuple(sorted({h for h in (_int(v, -1, heads_all) for v in view.get("heads") or []) if h >= 0}))
    zoom = view.get("zoom")
    choice = LiveChoice(
        layer=_int(view.get("layer"), default_layer, layers),
        head=_int(view.get("head"), 0, heads_all),
        heads=heads or tuple(heads_all),
        mode=view.get("mode") if view.get("mode") in MODES else "single",
        zoom=tuple(int(v) for v in zoom) if isinstance(zoom, list | tuple) and len(zoom) == 4 else None,
        colorscale=view.get("colorscale") if view.get("colorscale") in COLOURSCALES else "Blues",
        show_values=VALUES.get(view.get("values"), None),
        fixed_scale=view.get("fixed") is True,
        renormalise=view.get("renorm") is True,
        hide=view.get("hide") if isinstance(view.get("hide"), bool) else default_hide,
    )
    _to_url(choice, n_heads, default_layer, default_hide)
    return choice


def _to_url(choice: LiveChoice, n_heads: int, default_layer: int, default_hide: bool) -> None:
    wanted = {"layer": str(choice.layer) if choice.layer != default_layer else None,
              "head": str(choice.head) if choice.head else None,
              "mode": choice.mode if choice.mode != "single" else None,
              "heads": ",".join(map(str, choice.heads)) if len(choice.heads) < n_heads else None,
              "cs": choice.colorscale if choice.colorscale != "Blues" else None,
              "values": _values_word(choice.show_values) if choice.show_values is not None else None,
              "fixed": "true" if choice.fixed_scale else None,
              "renorm": "true" if choice.renormalise else None,
              "hide": str(choice.hide).lower() if choice.hide != default_hide else None}
    for name, value in wanted.items():
        if value is None:
            st.query_params.pop(name, None)
        elif st.query_params.get(name) != value:
            st.query_params[name] = value


def _values_word(show_values: bool | None) -> str:
    return next(word for word, value in VALUES.items() if value is show_values)


def _words() -> dict:
    words = chart_words()
    return {"layer": tr("ctl.layer"), "mode": tr("ctl.mode"), "weight": words.weight, "masked": words.masked,
            "modes": {m: tr(f"mode.{m}") for m in MODES}, "reset": tr("live.reset"), "hint": tr("live.hint"),
            "loading": tr("live.loading"), "pooled": tr("live.pooled"), "block": tr("live.block"),
            "colours": tr("live.colours"), "values": tr("live.values"),
            "value_modes": {word: tr(f"values.{word}") for word in VALUES}, "fixed": tr("live.fixed"),
            "fixed_help": tr("live.fixed_help"), "renorm": tr("live.renorm"), "renorm_help": tr("live.renorm_help"),
            "hide": tr("live.hide"), "hide_help": tr("ctl.hide_special")}


def live_payload(result: AttentionResult, kind, choice: LiveChoice, options: ViewOptions, *, title: str,
                 n_heads: int) -> bytes:
    """The bytes the browser draws from: as many (layer, head) maps as the size budget allows, every colour
    scale, and the visitor's choice. Rows travel as captured (the browser rescales them when asked); a map
    drawn whole with no word merged travels with its special tokens, which the browser hides when asked."""
    every_token = replace(options, hide_special=False, renormalise=False)
    n_rows, n_cols = view_size(result, kind, every_token)
    hides_in_browser = not options.merge_subwords and choice.zoom is None and max(n_rows, n_cols) <= MAX_SIDE
    options = every_token if hides_in_browser else replace(options, renormalise=False)
    if not hides_in_browser:
        n_rows, n_cols = view_size(result, kind, options)
    window = (zoom_window(n_rows, n_cols, choice.zoom[:2], choice.zoom[2:]) if choice.zoom
              else overview_window(n_rows, n_cols))
    cells = -(-window.rows // window.block) * -(-window.cols // window.block)
    maps = maps_to_send(result.layers[kind], n_heads, cells, choice.layer, choice.shown_heads)
    weights, masked, rows, cols, base = _sent_maps(result, kind, options, maps, window)
    version = hashlib.blake2b(repr((base, maps)).encode(), digest_size=8).hexdigest()
    header = {
        "title": title, "maps": [list(pair) for pair in maps], "n_layers": result.shape.n_layers[kind],
        "n_heads": n_heads, "rows": rows, "cols": cols, "colours": {name: colour_table(name) for name in COLOURSCALES},
        "masked_colour": MASKED_COLOUR, "hidden": options.hide_special,
        "specials": _special_positions(result, kind, options) if hides_in_browser else None,
        "window": {"row0": window.row0, "col0": window.col0, "rows": window.rows, "cols": window.cols,
                   "block": window.block, "zoomed": choice.zoom is not None},
        "state": {"layer": choice.layer, "head": choice.head, "heads": list(choice.heads), "mode": choice.mode,
                  "zoom": list(choice.zoom) if choice.zoom else None, "colorscale": choice.colorscale,
                  "values": _values_word(choice.show_values), "fixed": choice.fixed_scale,
                  "renorm": choice.renormalise, "hide": choice.hide},
        "words": _words(), "version": version,
    }
    return encode(weights, masked, header)


def _special_positions(result: AttentionResult, kind, options: ViewOptions) -> dict[str, list[int]]:
    """Rows and columns of special tokens in a map of every token, for the browser to hide."""
    return {axis: [i for i, special in enumerate(axis_tokens(result, kind, axis == "rows", options).special)
                   if special] for axis in ("rows", "cols")}


def _sent_maps(result: AttentionResult, kind, options: ViewOptions, maps: list[tuple[int, int]], window: Window
               ) -> tuple[np.ndarray, np.ndarray, list[str], list[str], str]:
    """The maps' quantised weights ``[map, row, col]``, mask, labels and what they were cut from. Maps sent
    before (to anyone) from the same capture and window come from the server's byte-bounded cache."""
    base = hashlib.blake2b(repr((result.model_name, result.source.token_ids, getattr(result.target, "token_ids", None),
                                 kind, options, window)).encode(), digest_size=8).hexdigest()
    cache = shared_cache()
    kept = {pair: cache.peek(("sent-map", base, *pair)) for pair in maps}
    axes = cache.peek(("sent-axes", base))
    missing = [pair for pair, cells in kept.items() if cells is None]
    if missing or axes is None:
        weights, masked, rows, cols = _window_maps(result, kind, options, missing, window)
        axes = cache.get(("sent-axes", base), lambda: (masked, rows, cols))
        for pair, cells in zip(missing, quantise(weights)):
            kept[pair] = cache.get(("sent-map", base, *pair), lambda cells=cells: cells.copy())  # its own bytes
    return np.stack([kept[pair] for pair in maps]), *axes, base


def _window_maps(result: AttentionResult, kind, options: ViewOptions, maps: list[tuple[int, int]],
                 window: Window) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """``maps``' weights in the window as ``[map, row, col]`` (pooled by the window's block), its mask and labels.
    One map at a time, straight from the capture's own storage: only the window's cells of the maps sent are
    converted, and a pooled overview never holds a float32 copy of a whole long map."""
    region = (slice(window.row0, window.row0 + window.rows), slice(window.col0, window.col0 + window.cols))
    axes = view_axes(result, kind, options, region)  # once for every map
    means = TileMeans(axes.masked, window.block) if window.block > 1 else None
    weights = np.empty((len(maps), *(means.shape if means else axes.masked.shape)), dtype=np.float32)
    for i, (layer, head) in enumerate(maps):
        cells = layer_cells(result, kind, layer, axes, slice(head, head + 1), region)[0]
        weights[i] = means(cells) if means else cells
    empty = means.empty if means else axes.masked
    rows = window_labels(axes.row_labels, window.row0, window.rows, window.block)
    cols = window_labels(axes.col_labels, window.col0, window.cols, window.block)
    return weights, empty, rows, cols


def show(payload: bytes, key: str) -> None:
    _MAP(key=key, data=payload, default={"view": None}, on_view_change=lambda: None)


def grid(result: AttentionResult, kind, layers: list[int], heads: tuple[int, ...], options: ViewOptions, *,
         colorscale: str, fixed_scale: bool, title: str) -> bytes:
    """The all-heads grid's payload: every chosen head of every chosen layer, pooled to small panels."""
    stack = stack_views(result, kind, layers, options)
    words = {**_words(), "grid_hint": tr("live.grid_hint"), "pooled": tr("live.grid_pooled")}
    header = {"title": title, "layers": list(layers), "heads": list(heads), "colours": colour_table(colorscale),
              "masked_colour": MASKED_COLOUR, "fixed_scale": fixed_scale, "words": words,
              "panel": 110 if len(heads) <= 8 else 88}
    return grid_payload(stack.matrix[:, list(heads)], stack.masked, stack.row_labels, stack.col_labels, header,
                        renormalise=options.renormalise)

