"""AppTest helpers shared by every page test: open the app (a page, a link's parameters), read its figures
and the browser map's payload back as numbers."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from attnviz.figures.live import combine, decode, visible_part

TIMEOUT = 60
ROOT = Path(__file__).resolve().parents[2]
APP = str(Path(__file__).resolve().parent / "router.py")  # app.py's router, every run (see router.py)


def page_file(page: str) -> str:
    """A page as ``AppTest.switch_page`` finds it from the router's folder: ``"pages/routes.py"`` made absolute."""
    return str(ROOT / page)


def _app(page: str | None = None, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    if page:
        at.switch_page(page_file(page))
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _figures(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def _array(value) -> np.ndarray:
    """Plotly sends numeric arrays base64-encoded ({"dtype", "bdata", "shape"}) or as lists."""
    if isinstance(value, dict) and "bdata" in value:
        shape = [int(n) for n in str(value.get("shape", "-1")).split(",")]
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).reshape(shape)
    return np.array(value, dtype=float)


def _live(at: AppTest) -> tuple[dict, np.ndarray, np.ndarray]:
    """The map the browser draws: header, weights [map, row, col] (the grid's [layer, head, row, col]), mask."""
    return decode(at.get("bidi_component")[0].proto.bytes)


def _shown_labels(at: AppTest) -> tuple[list[str], list[str]]:
    """Row and column labels of the map as the browser shows it (special tokens hidden when chosen)."""
    meta, weights, masked = _live(at)
    _, _, rows, cols = visible_part(weights[0], masked, meta, meta["state"]["hide"], False)
    return rows, cols


def _heatmap_z(at: AppTest) -> np.ndarray:
    """The drawn matrix: the live map's current choice, combined as the browser combines it; else a figure's."""
    if not at.get("bidi_component"):
        return _array(_figures(at)[0]["data"][0]["z"])
    meta, weights, masked = _live(at)
    state = meta["state"]
    shown = [state["head"]] if state["mode"] == "single" else state["heads"]
    z = combine(weights, masked, meta["maps"], state["layer"], shown, state["mode"])
    z, masked, _, _ = visible_part(z, masked, meta, state["hide"], state["renorm"])
    return np.where(masked, np.nan, z)
