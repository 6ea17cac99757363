"""attnviz next to BertViz 1.4.1 on the same model and text: time until the view is drawn, and bytes sent.

    .venv/bin/pip install --no-deps -r benchmarks/requirements.txt        # BertViz, once
    flock /tmp/attnviz-cpu.lock python benchmarks/bertviz_side_by_side.py [--repeats 3] [--tokens 9 128 512]

MiniLM (all-MiniLM-L6-v2, 6 layers x 12 heads) reads texts of about 9, 128 and 512 tokens. Two pairs of
views are compared, each drawn in a fresh headless Chromium context, medians of this one run:

- BertViz ``head_view`` (one layer, all heads as lines) vs attnviz's self-attention page map (one layer,
  heads switchable);
- BertViz ``model_view`` (a grid of every layer x head) vs attnviz's all-heads page (one canvas).

BertViz: the eager forward with ``output_attentions`` plus the HTML it generates (python ms), then the
browser's navigation until the SVG holds its last drawn element and two frames have passed (browser ms).
Its require.js, d3 and jQuery come from the npm registry into benchmarks/results/bertviz_js/ and are served
in place of the CDN. Bytes: the HTML (attention embedded as JSON), then HTML + libraries.
attnviz: ``streamlit run app.py`` on a free port, warmed by one visit; navigation until the canvas is drawn
(the capture runs on the server inside that time). Bytes: websocket messages, then these + HTTP responses.
Each attnviz visit gets its own first word so that no capture comes from the server's cache. A BertViz view
not drawn in 300 s, whose script never runs, or whose renderer crashes or outgrows ``--memory-gib``, says so
in the table (why: on stderr) and is not tried again.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.browser_speed import text_of  # noqa: E402
from scripts.app_server import serve_app  # noqa: E402
from scripts.browser import CHROMIUM, FLAGS, wait_idle  # noqa: E402

TIMEOUT_MS = 300_000
JS_CACHE = ROOT / "benchmarks" / "results" / "bertviz_js"
# CDN path BertViz asks for -> (npm package, file inside it). jQuery 2.0.0 was never published to npm:
# 2.1.0 is the nearest 2.x there. npm's requirejs has no require.min.js: terser minifies require.js.
LIBS = {
    "require.js/2.3.6/require.min.js": ("requirejs@2.3.6", "require.js"),
    "d3/5.7.0/d3.min.js": ("d3@5.7.0", "dist/d3.min.js"),
    "jquery/2.0.0/jquery.min.js": ("jquery@2.1.0", "dist/jquery.min.js"),
}
TERSER = "terser@5.51.4"
CDN = "https://cdnjs.cloudflare.com/ajax/libs/"
# One-token first words: every attnviz visit reads a text the server has not captured yet.
FIRST_WORDS = ("the a one this that every some his her our their my your its no each another any either "
               "neither such what which whose").split()
PAIRS = {"head": "head_view | self-attn map", "model": "model_view | all-heads grid"}
# The last element each BertViz view appends (its render is one synchronous task), and how many of them.
BERTVIZ_DRAWN = {"head": ("#vis svg > g:last-child > rect", 12), "model": ("#vis svg > g > rect:last-child", 72)}
# After the load event: whether BertViz's inline script ran (it sets d3's path before asking for d3).
RAN_JS = "() => !!(window.requirejs && requirejs.s.contexts._.config.paths.d3)"
# True two frames after the selector matched: the SVG's style, layout and paint are part of drawing it.
DRAWN_JS = """([selector, count]) => {
    if (window.__benchDrawn) return true;
    if (!window.__benchArmed && document.querySelectorAll(selector).length >= count) {
        window.__benchArmed = true;
        requestAnimationFrame(() => requestAnimationFrame(() => { window.__benchDrawn = true; }));
    }
    return false;
}"""


@dataclass
class Row:
    tokens: int
    pair: str
    tool: str
    python: list[float] = field(default_factory=list)
    browser: list[float] = field(default_factory=list)
    data: list[int] = field(default_factory=list)
    assets: list[int] = field(default_factory=list)  # data + everything else fetched over HTTP
    failure: str | None = None


# ---- BertViz's JavaScript, from the npm registry ----------------------------------------------------------

def ensure_libs() -> dict[str, Path]:
    """CDN path -> local file, packed from npm once into the (gitignored) cache folder."""
    JS_CACHE.mkdir(parents=True, exist_ok=True)
    files = {}
    for cdn_path, (spec, member) in LIBS.items():
        target = JS_CACHE / cdn_path
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            _unpack(spec, member, target)
        files[cdn_path] = target
    return files


def _unpack(spec: str, member: str, target: Path) -> None:
    packed = subprocess.run(["npm", "pack", spec, "--silent"], cwd=JS_CACHE, check=True, capture_output=True,
                            text=True).stdout.split()[-1]
    with tarfile.open(JS_CACHE / packed) as archive:
        source = archive.extractfile(f"package/{member}")
        assert source is not None, f"{spec} has no {member}"
        target.write_bytes(source.read())
    if target.name.endswith(".min.js") and not member.endswith(".min.js"):
        subprocess.run(["npx", "--yes", TERSER, str(target), "-c", "-m", "--comments", "false", "-o", str(target)],
                       check=True, capture_output=True)


class StaticServer:
    """BertViz's HTML files from a temporary folder on 127.0.0.1, as a notebook server would hand them out."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="bertviz-bench-"))
        handler = functools.partial(_QuietHandler, directory=str(self.folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def publish(self, name: str, html: str) -> tuple[str, int]:
        body = html.encode()
        (self.folder / name).write_bytes(body)
        return f"{self.url}/{name}", len(body)

    def close(self) -> None:
        self.httpd.shutdown()
        shutil.rmtree(self.folder, ignore_errors=True)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


# ---- BertViz: python side ---------------------------------------------------------------------------------

def load_eager():
    """The very weights attnviz's built-in "minilm" reads, with eager attention so they come back."""
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging

    from attnviz.models.registry import BUILTIN_MODELS

    logging.disable_progress_bar()  # keeps the table alone on the terminal
    folder = BUILTIN_MODELS["minilm"].locate()
    model = AutoModel.from_pretrained(folder, attn_implementation="eager", local_files_only=True).eval()
    return model, AutoTokenizer.from_pretrained(folder, local_files_only=True)


def bertviz_html(model, tokenizer, text: str, view: str) -> tuple[str, float]:
    """The view's HTML and the milliseconds it took: tokens, forward with attentions, HTML."""
    import torch
    from bertviz import head_view, model_view

    started = time.perf_counter()
    inputs = tokenizer(text, return_tensors="pt")
    with torch.inference_mode():
        attention = model(**inputs, output_attentions=True).attentions
    tokens = tokenizer.convert_ids_to_tokens(inputs["input_ids"][0])
    draw = head_view if view == "head" else model_view
    html = draw(attention, tokens, html_action="return").data
    return html, (time.perf_counter() - started) * 1000


# ---- browser side -----------------------------------------------------------------------------------------

class MemoryGuard:
    """Kills a Chromium renderer of ours past ``limit`` bytes: BertViz at 512 tokens can eat the machine."""

    def __init__(self, limit: int) -> None:
        self.limit, self.tripped = limit, False
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        import psutil

        me = psutil.Process()
        while True:
            for child in me.children(recursive=True):  # only processes this benchmark started
                try:
                    if "--type=renderer" in " ".join(child.cmdline()) and child.memory_info().rss > self.limit:
                        self.tripped = True
                        child.kill()
                except psutil.Error:
                    pass
            time.sleep(0.5)


def _http_bytes(context, page) -> list[int]:
    """Decoded HTTP bytes the page receives, counted by Chromium (websocket frames are not in it)."""
    received = [0]
    cdp = context.new_cdp_session(page)
    cdp.on("Network.dataReceived", lambda event: received.__setitem__(0, received[0] + event["dataLength"]))
    cdp.send("Network.enable")
    return received


class DrawFailed(Exception):
    """The view was not drawn: timeout, script error or not run, crashed renderer (its short label)."""


def bertviz_browser(browser, url: str, libs: dict[str, Path], view: str, guard: MemoryGuard) -> tuple[float, int]:
    """Milliseconds from navigation until the SVG is drawn, and the bytes of the libraries it loaded."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    page = context.new_page()
    loaded, errors, crashed, load_event = [], [], [], []
    page.on("pageerror", lambda error: errors.append(str(error).splitlines()[0][:80]))
    page.on("crash", lambda _: crashed.append(True))
    page.on("load", lambda _: load_event.append(True))

    def from_cache(route) -> None:
        path = libs.get(route.request.url.removeprefix(CDN))
        if path is None:
            route.abort()
            return
        loaded.append(path.stat().st_size)
        route.fulfill(path=str(path), content_type="application/javascript")

    page.route(f"{CDN}**", from_cache)
    started, ran = time.perf_counter(), None
    try:
        page.goto(url, wait_until="commit", timeout=TIMEOUT_MS)
        # short waits: a wait in progress does not notice that the renderer crashed
        while (time.perf_counter() - started) * 1000 < TIMEOUT_MS:
            if _drawn(page, view):
                return (time.perf_counter() - started) * 1000, sum(loaded)
            if load_event and ran is None:  # the view's inline script configures require.js as it runs
                ran = page.evaluate(RAN_JS)
            if crashed or ran is False:
                break
    except PlaywrightTimeout:
        pass
    except PlaywrightError:  # "Target crashed": the guard killed the renderer, or it died by itself
        crashed.append(True)
    finally:
        _close(context)
    raise DrawFailed(_failure(view, guard, bool(crashed), ran is False, errors))


def _failure(view: str, guard: MemoryGuard, crashed: bool, not_run: bool, errors: list[str]) -> str:
    """A short label for the table; why, on stderr."""
    if crashed:
        label = f"oom>{guard.limit / 2**30:.0f}GiB" if guard.tripped else "crashed"
        why = "the renderer was killed by the memory guard" if guard.tripped else "the renderer crashed"
    elif not_run:
        label, why = "not run", "the page loaded, but its inline view script never ran (no error reported)"
    else:
        label, why = ("js error", errors[0]) if errors else ("timeout", f"not drawn in {TIMEOUT_MS / 1000:.0f} s")
    guard.tripped = False
    print(f"BertViz {view}_view: {label}: {why}", file=sys.stderr)
    return label


def _drawn(page, view: str) -> bool:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(DRAWN_JS, arg=list(BERTVIZ_DRAWN[view]), timeout=1000)
        return True
    except PlaywrightTimeout:
        return False


def attnviz_browser(browser, url: str) -> tuple[float, int, int]:
    """Milliseconds from navigation until the canvas is drawn; websocket bytes; websocket + HTTP bytes."""
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    page = context.new_page()
    frames = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(len(f))))
    http_bytes = _http_bytes(context, page)
    grid = "/all_heads" in url
    selector = "[data-testid='avz-grid'] canvas[data-drawn]" if grid else "[data-testid='avz-live'] canvas[data-drawn]"
    try:
        started = time.perf_counter()
        page.goto(url, wait_until="commit", timeout=TIMEOUT_MS)
        page.wait_for_selector(selector, state="attached" if grid else "visible", timeout=TIMEOUT_MS)
        elapsed = (time.perf_counter() - started) * 1000
        wait_idle(page)  # the page's remaining messages (tables, controls) count too, as in browser_speed
        return elapsed, sum(frames), sum(frames) + http_bytes[0]
    finally:
        _close(context)


def _close(context) -> None:
    try:
        context.close()
    except Exception:  # a renderer the guard killed
        pass


# ---- one row per tool ---------------------------------------------------------------------------------------

def varied_text(tokens: int, visit: int) -> str:
    words = text_of(tokens).split()
    return " ".join([FIRST_WORDS[visit % len(FIRST_WORDS)], *words[1:]])


def measure_attnviz(browser, app_url: str, row: Row, view: str, texts: list[str]) -> None:
    path = "/" if view == "head" else "/all_heads"
    for text in texts:
        ms, data, total = attnviz_browser(browser, f"{app_url}{path}?text={text.replace(' ', '+')}")
        row.browser.append(ms)
        row.data.append(data)
        row.assets.append(total)


def measure_bertviz(browser, files: StaticServer, libs, model, tokenizer, guard: MemoryGuard, row: Row,
                    view: str, texts: list[str]) -> None:
    for i, text in enumerate(texts):
        html, python_ms = bertviz_html(model, tokenizer, text, view)
        url, html_bytes = files.publish(f"{view}-{row.tokens}-{i}.html", html)
        del html
        row.python.append(python_ms)
        row.data.append(html_bytes)
        try:
            ms, lib_bytes = bertviz_browser(browser, url, libs, view, guard)
        except DrawFailed as failure:
            row.failure = str(failure)
            return  # another try would only fail the same way, minutes later
        row.browser.append(ms)
        row.assets.append(html_bytes + lib_bytes)


# ---- the table ----------------------------------------------------------------------------------------------

COLUMNS = [("tokens", 6), ("view pair", 28), ("tool", 8), ("python ms", 10), ("browser ms", 10),
           ("total ms", 10), ("bytes (data)", 13), ("bytes (data+assets)", 20)]


def _size(n: float) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


def _median(values: list[float], show) -> str:
    return show(statistics.median(values)) if values else "-"


def table_line(row: Row) -> str:
    ms = lambda v: f"{v:.0f}"
    totals = [p + b for p, b in zip(row.python, row.browser)] if row.python else row.browser
    cells = [str(row.tokens), PAIRS[row.pair], row.tool, _median(row.python, ms),
             row.failure or _median(row.browser, ms), "-" if row.failure else _median(totals, ms),
             _median(row.data, _size), _median(row.assets, _size)]
    return "  ".join(f"{cell:>{width}}" for cell, (_, width) in zip(cells, COLUMNS))


NOTE = ("python: BertViz's eager forward + HTML (attnviz captures on its server, inside browser); browser: fresh "
        "context, navigation until drawn; total: both; bytes uncompressed, data: BertViz's HTML with its JSON | "
        "attnviz's websocket messages, +assets: + BertViz's JS libraries | + all HTTP of the page; each attnviz "
        "visit's text has its own first word (no cached capture); BertViz stops at its first failure.")


def warm_up(browser, app_url: str, model, tokenizer) -> None:
    """A warm server (model loaded, both pages imported) and a warm BertViz process, untimed."""
    for path in ("/", f"/all_heads?text={text_of(12).replace(' ', '+')}"):
        page = browser.new_page()
        page.goto(f"{app_url}{path}")
        wait_idle(page)
        page.close()
    bertviz_html(model, tokenizer, text_of(12), "head")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tokens", type=int, nargs="+", default=[9, 128, 512])
    parser.add_argument("--memory-gib", type=float, default=8, help="a BertViz page past this is stopped")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    libs = ensure_libs()
    model, tokenizer = load_eager()
    files = StaticServer()
    guard = MemoryGuard(int(args.memory_gib * 2**30))
    visit = 0
    try:
        with serve_app() as app, sync_playwright() as p:
            app_url = app.url
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            warm_up(browser, app_url, model, tokenizer)
            print("  ".join(f"{name:>{width}}" for name, width in COLUMNS), flush=True)
            for tokens in args.tokens:
                for view in PAIRS:
                    texts = [varied_text(tokens, visit + i) for i in range(args.repeats)]
                    visit += args.repeats
                    count = len(tokenizer(texts[0])["input_ids"])
                    bertviz, attnviz = Row(count, view, "BertViz"), Row(count, view, "attnviz")
                    measure_bertviz(browser, files, libs, model, tokenizer, guard, bertviz, view, texts)
                    measure_attnviz(browser, app_url, attnviz, view, texts)
                    print(table_line(bertviz), table_line(attnviz), sep="\n", flush=True)
            browser.close()
        print(f"medians of {args.repeats}. {NOTE}")
    finally:
        files.close()


if __name__ == "__main__":
    main()
