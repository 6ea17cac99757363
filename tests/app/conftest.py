"""AppTest helpers shared by every page test: open the app (a page, a link's parameters), read its figures
and the browser map's payload back as numbers. What the browser makes of a payload (heads combined, special
tokens hidden, rows rescaled) is its own code's, tested in Chromium (tests/e2e/test_live_map.py)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from tests.payload import decode

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


def _chosen_map(at: AppTest) -> np.ndarray:
    """The map of the chosen layer and head as the server sent it (masked cells NaN); a page without the live map:
    its first figure's z."""
    if not at.get("bidi_component"):
        return _array(_figures(at)[0]["data"][0]["z"])
    meta, weights, masked = _live(at)
    state = meta["state"]
    return np.where(masked, np.nan, weights[meta["maps"].index([state["layer"], state["head"]])])


def _words_shown(meta: dict) -> tuple[list[str], list[str]]:
    """The payload's row and column labels without the special tokens it lists (those the browser can hide)."""
    specials = meta["specials"] or {"rows": [], "cols": []}
    return ([label for i, label in enumerate(meta["rows"]) if i not in specials["rows"]],
            [label for i, label in enumerate(meta["cols"]) if i not in specials["cols"]])
