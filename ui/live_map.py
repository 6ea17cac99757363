"""The explorer pages' attention map, drawn in the browser (static/live_map.js) from a compact payload.

Layers, heads, the head mode, hiding special tokens and the map's look (colours, values in cells, the 0–1
range, rescaled rows) switch in the browser without a rerun; the browser reports its choice a moment later,
so the page's facts, exports and URL follow. Text, model and merging sub-words into words rerun. The maps travel
in attnviz/figures/live.py's payload; this module holds the component, the visitor's choice (layer, heads, zoom,
colours), its words and the URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from attnviz import AttentionResult
from attnviz.analysis.heads import HeadMode
from attnviz.analysis.view import ViewOptions
from attnviz.figures.live import colorscale_table, grid_of_heads, map_payload
from ui.cached import shared_cache
from ui.lang import tr
from ui.url_state import link_value, link_values, write_link

MODES: tuple[HeadMode, ...] = ("single", "mean", "max")
COLORSCALES = ("Blues", "Viridis", "Magma", "YlOrRd", "Greys", "Cividis")
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


def values_word(show_values: bool | None) -> str:
    """The word for "values in cells" (auto, on, off) in URLs and payloads."""
    return next(word for word, value in VALUES.items() if value is show_values)

_STATIC = Path(__file__).parent / "static"
_MAP = st.components.v2.component(
    "attnviz_live_map",
    js=(_STATIC / "live_map.js").read_text("utf-8"),
    css=(_STATIC / "live_map.css").read_text("utf-8"),
)


def _int(value, default: int, allowed: range) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return number if number in allowed else default


def _flag(value) -> bool | None:
    text = str(value).strip().lower()
    return True if text in ("true", "1", "on") else False if text in ("false", "0", "off") else None


def _from_url(n_heads: int, default_layer: int, default_hide: bool, default_head: int = 0) -> dict:
    return {"layer": link_value("layer", default_layer), "head": link_value("head", default_head),
            "mode": link_value("mode", "single"),
            "heads": [h for h in link_values("heads") if h.strip()] or list(range(n_heads)),
            "colorscale": link_value("cs", "Blues"), "values": link_value("values", "auto"),
            "fixed": _flag(link_value("fixed", "false")), "renorm": _flag(link_value("renorm", "false")),
            "hide": _flag(link_value("hide", str(default_hide)))}


def chosen_view(key: str, n_layers: int, n_heads: int, default_layer: int = 0, default_hide: bool = True,
                default_head: int = 0) -> LiveChoice:
    """The map's choice: what the browser last reported, else the link's parameters, else defaults.
    Values a link or another model left out of range fall back to defaults; the URL is kept in step."""
    state = st.session_state.get(key)
    view = state.get("view") if hasattr(state, "get") else None
    if not isinstance(view, dict):
        view = _from_url(n_heads, default_layer, default_hide, default_head)
    layers, heads_all = range(n_layers), range(n_heads)
    default_layer = min(max(default_layer, 0), n_layers - 1)
    default_head = min(max(default_head, 0), n_heads - 1)
    heads = tuple(sorted({h for h in (_int(v, -1, heads_all) for v in view.get("heads") or []) if h >= 0}))
    zoom = view.get("zoom")
    choice = LiveChoice(
        layer=_int(view.get("layer"), default_layer, layers),
        head=_int(view.get("head"), default_head, heads_all),
        heads=heads or tuple(heads_all),
        mode=view.get("mode") if view.get("mode") in MODES else "single",
        zoom=tuple(int(v) for v in zoom) if isinstance(zoom, list | tuple) and len(zoom) == 4 else None,
        colorscale=view.get("colorscale") if view.get("colorscale") in COLORSCALES else "Blues",
        show_values=VALUES.get(view.get("values"), None),
        fixed_scale=view.get("fixed") is True,
        renormalise=view.get("renorm") is True,
        hide=view.get("hide") if isinstance(view.get("hide"), bool) else default_hide,
    )
    write_link({"layer": str(choice.layer) if choice.layer != default_layer else None,
                "head": str(choice.head) if choice.head != default_head else None,
                "mode": choice.mode if choice.mode != "single" else None,
                "heads": [str(h) for h in choice.heads] if len(choice.heads) < n_heads else None,
                "cs": choice.colorscale if choice.colorscale != "Blues" else None,
                "values": values_word(choice.show_values) if choice.show_values is not None else None,
                "fixed": "true" if choice.fixed_scale else None,
                "renorm": "true" if choice.renormalise else None,
                "hide": str(choice.hide).lower() if choice.hide != default_hide else None})
    return choice


def _words() -> dict:
    return {"layer": tr("ctl.layer"), "mode": tr("ctl.mode"), "weight": tr("hover.weight"),
            "masked": tr("hover.masked"), "modes": {m: tr(f"mode.{m}") for m in MODES}, "reset": tr("live.reset"),
            "hint": tr("live.hint"), "loading": tr("live.loading"), "pooled": tr("live.pooled"),
            "block": tr("live.block"), "colorscale": tr("live.colorscale"), "values": tr("live.values"),
            "value_modes": {word: tr(f"values.{word}") for word in VALUES}, "fixed": tr("live.fixed"),
            "fixed_help": tr("live.fixed_help"), "renorm": tr("live.renorm"), "renorm_help": tr("live.renorm_help"),
            "hide": tr("live.hide"), "hide_help": tr("ctl.hide_special")}


def _state(choice: LiveChoice) -> dict:
    """The visitor's choice as the browser restores it."""
    return {"layer": choice.layer, "head": choice.head, "heads": list(choice.heads), "mode": choice.mode,
            "zoom": list(choice.zoom) if choice.zoom else None, "colorscale": choice.colorscale,
            "values": values_word(choice.show_values), "fixed": choice.fixed_scale, "renorm": choice.renormalise,
            "hide": choice.hide}


def live_payload(result: AttentionResult, kind, choice: LiveChoice, options: ViewOptions, *, title: str,
                 n_heads: int) -> bytes:
    """The map's payload in the visitor's language, with the server's one cache of maps already sent."""
    interface = {"title": title, "words": _words(), "state": _state(choice),
                 "colorscales": {name: colorscale_table(name) for name in COLORSCALES}}
    return map_payload(result, kind, options, layer=choice.layer, heads=choice.shown_heads, zoom=choice.zoom,
                       n_heads=n_heads, cache=shared_cache(), interface=interface)


def show(payload: bytes, key: str) -> None:
    _MAP(key=key, data=payload, default={"view": None}, on_view_change=lambda: None)


def grid(result: AttentionResult, kind, layers: list[int], heads: tuple[int, ...], options: ViewOptions, *,
         colorscale: str, fixed_scale: bool, title: str) -> bytes:
    """The all-heads grid's payload in the visitor's language."""
    words = {**_words(), "grid_hint": tr("live.grid_hint"), "pooled": tr("live.grid_pooled")}
    interface = {"title": title, "words": words, "colorscale_table": colorscale_table(colorscale),
                 "fixed_scale": fixed_scale, "panel": 110 if len(heads) <= 8 else 88}
    return grid_of_heads(result, kind, layers, heads, options, interface=interface)
