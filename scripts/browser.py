"""Headless Chromium settings and the "app has finished running" wait, shared by screenshots and e2e tests."""

from __future__ import annotations

import os
import time

CHROMIUM = os.environ.get("ATTNVIZ_CHROMIUM", "/usr/bin/chromium")
# Without the networking flags Chromium keeps trying to reach hosts this machine cannot reach.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]

# Playwright starts headless Chromium with --hide-scrollbars; a visitor's browser shows them, and whether a box
# that scrolls shows it does is what the overflow test checks: launch with ``ignore_default_args=KEEP_SCROLLBARS``.
KEEP_SCROLLBARS = ["--hide-scrollbars"]

_BUSY = ("() => !!document.querySelector('[data-testid=\"stStatusWidget\"]') ||"
         " !!document.querySelector('[data-testid=\"stSpinner\"]') ||"
         " !!document.querySelector('[data-testid=\"stSkeleton\"]')")


def wait_idle(page, timeout_ms: int = 120_000) -> None:
    """The script has run: a page title exists and nothing is running for three checks in a row."""
    page.wait_for_selector("[data-testid='stMain'] h1", timeout=timeout_ms)
    quiet, waited = 0, 0
    while quiet < 3 and waited < timeout_ms:
        quiet = 0 if page.evaluate(_BUSY) else quiet + 1
        page.wait_for_timeout(400)
        waited += 400


# Milliseconds from an input event on the browser map (``head:3``, ``mode:mean``, ``layer:2``, ``colorscale:Magma``,
# ``renorm:1``, ``hide:0``) until its
# canvas says it drew the wanted choice, plus one frame; measured inside the page (page.evaluate).
SWITCH_JS = """([action, wanted]) => new Promise((resolve) => {
            const host = [...document.querySelectorAll('*')]
                .find((e) => e.shadowRoot && e.shadowRoot.querySelector('[data-testid="avz-live"]'));
            const root = host ? host.shadowRoot : document;
            const canvas = () => root.querySelector('[data-testid="avz-live"] canvas');
            const t0 = performance.now();
            const [kind, value] = action.split(':');
            if (kind === 'head') root.querySelector(`[data-testid="avz-head-${value}"]`).click();
            if (kind === 'mode') { const s = root.querySelector('[data-testid="avz-mode"]');
                                   s.value = value; s.dispatchEvent(new Event('change')); }
            if (kind === 'layer') { const s = root.querySelector('[data-testid="avz-layer"]');
                                    s.value = value; s.dispatchEvent(new Event('input')); }
            if (kind === 'colorscale') { const s = root.querySelector('[data-testid="avz-colorscale"]');
                                      s.value = value; s.dispatchEvent(new Event('change')); }
            if (kind === 'renorm' || kind === 'hide') {
                const s = root.querySelector(`[data-testid="avz-${kind}"]`);
                s.checked = value === '1'; s.dispatchEvent(new Event('change')); }
            const done = () => { const c = canvas();
                return c && Object.entries(wanted).every(([k, v]) => c.dataset[k] === v)
                       && !root.querySelector('.avz-waiting'); };
            // a choice never drawn within 60 s is reported as NaN, not waited on for ever
            const poll = () => done() ? requestAnimationFrame(() => resolve(performance.now() - t0))
                                      : performance.now() - t0 > 60000 ? resolve(NaN) : setTimeout(poll, 5);
            poll();
        })"""


# The browser map's canvas, in the page or inside a component's shadow root (a JS function).
CANVAS_JS = """() => document.querySelector('[data-testid="avz-live"] canvas')
    || [...document.querySelectorAll('*')].map(e => e.shadowRoot).filter(Boolean)
       .map(r => r.querySelector('[data-testid="avz-live"] canvas')).find(Boolean)"""


def drawn_after(page, action, attribute: str = "drawn", timeout_ms: int = 180_000) -> float:
    """Milliseconds from ``action`` until the map's canvas changes ``data-<attribute>`` (``drawn``: any
    redraw; ``window``: the region the payload holds, i.e. the server's zoomed or new data arrived)."""
    before = page.evaluate(f"() => ({CANVAS_JS})().dataset.{attribute}")
    started = time.perf_counter()
    action()
    page.wait_for_function(f"(before) => {{ const c = ({CANVAS_JS})(); "
                           f"return c && c.dataset.{attribute} && c.dataset.{attribute} !== before; }}",
                           arg=before, timeout=timeout_ms, polling=20)
    return (time.perf_counter() - started) * 1000


def click_map_cell(page, url: str, cell: int) -> None:
    """Open ``url`` and click cell ``cell`` (row-major) of its first clickable plotly map (the cell markers of
    attnviz.figures.cells)."""
    page.goto(url)
    wait_idle(page)
    chart = page.locator("[data-testid='stPlotlyChart']").first
    chart.scroll_into_view_if_needed()
    box = chart.locator(".scatterlayer .point").nth(cell).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
