"""Load on the server alone: N Streamlit sessions over the websocket protocol, no browsers.

    python benchmarks/load_client.py [--sessions 10 30 60 120] [--duration 60] [--workers 1|2] [--url URL]

Each session speaks what the browser speaks on ``/_stcore/stream``: ``BackMsg`` protobufs up (a rerun with the
query string, the page and the widget states), ``ForwardMsg`` protobufs down (the new session, the page's
deltas, "script finished"). Like a student it opens the self-attention page, then every ~3 s (jittered) types
a new sentence into the text box (the widget's id is read from the page's own deltas), and now and then
switches page (causal, cross-attention and back), switches the model, or pastes a 512-token text. A run's
time is from the message sent to "script finished"; a run counts as an error when the page shows an exception
or an error message, the connection drops, it takes over 60 s, or its map payload does not show the text sent.

Without ``--url`` it starts the app itself on 127.0.0.1 (``--workers 2``: two processes behind nginx through
``attnviz serve``), and samples the server processes' CPU time and memory; nothing else is ever contacted.
Prints, for each session count: p50/p95/max of sentence runs and page switches, errors, server CPU per run,
and peak RSS per process.
"""

from __future__ import annotations

import argparse
import asyncio
import http.cookies
import random
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

ROOT = Path(__file__).resolve().parents[1]
MAGIC = b"AVZ1"  # attnviz/figures/live.py: the map payload's first bytes
WORDS = ("train station time left city river teacher book park morning evening music window garden letter "
         "road bridge market winter summer child friend doctor village mountain ocean story lamp clock").split()
PAGES = ("self_attention", "causal_attention", "cross_attention")
RUN_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sentence(rng: random.Random, n_words: int = 8) -> str:
    """A new sentence with a number in it, so every run asks for a capture nobody made before."""
    return " ".join(rng.choice(WORDS) for _ in range(n_words - 1)) + f" {rng.randrange(10**6)}"


def map_header(payload: bytes) -> dict | None:
    import json

    start = payload.find(MAGIC)
    if start < 0:
        return None
    (length,) = struct.unpack("<I", payload[start + 4:start + 8])
    return json.loads(payload[start + 8:start + 8 + length].decode("utf-8"))


@dataclass
class Run:
    """What one page run sent back."""

    seconds: float
    status: str  # finished | exception | error | timeout | disconnected
    widgets: dict[str, str] = field(default_factory=dict)  # query-parameter key -> widget id
    map_rows: list[str] | None = None
    map_cols: list[str] | None = None
    alerts: list[str] = field(default_factory=list)


class Session:
    """One visitor's websocket session: page runs with widget states, as Streamlit's front end sends them."""

    def __init__(self, url: str):
        self.base = url.rstrip("/")
        self.ws = None
        self.pages: dict[str, str] = {}  # url path -> page script hash
        self.page = "self_attention"
        self.widgets: dict[str, str] = {}
        self.cookie = ""
        self.query = ""  # the page's URL query, as the server keeps it (every control lives there)
        self.session_id = ""

    async def open(self, resume: bool = False) -> None:
        """As a browser does: the page first (a proxy may set its routing cookie there), then the websocket.
        ``resume``: a reconnect, naming the session it had (as Streamlit's front end does)."""
        def get() -> str:
            request = urllib.request.Request(self.base + "/", headers={"Cookie": self.cookie} if self.cookie else {})
            with urllib.request.urlopen(request, timeout=30) as reply:
                jar = http.cookies.SimpleCookie()
                for header in reply.headers.get_all("Set-Cookie") or []:
                    jar.load(header)
                return "; ".join(f"{k}={v.value}" for k, v in jar.items()) or self.cookie

        self.cookie = await asyncio.to_thread(get)
        parts = urllib.parse.urlsplit(self.base)
        headers = {"Origin": f"{parts.scheme}://{parts.netloc}"}
        if self.cookie:
            headers["Cookie"] = self.cookie
        # the second entry is an XSRF token, checked only for signed-in visitors
        protocols = ["streamlit", "none", self.session_id] if resume and self.session_id else ["streamlit"]
        self.ws = await connect(f"ws://{parts.netloc}{parts.path}/_stcore/stream", subprotocols=protocols,
                                additional_headers=headers, max_size=None, open_timeout=30, ping_interval=None,
                                compression=None)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def run(self, query: str | None = None, page: str | None = None, widgets: dict | None = None) -> Run:
        """One rerun: the query string (default: the URL as the server last set it, as a browser sends it),
        the page (by its path), and string values of widgets by query key."""
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query if query is None else query
        if page is not None and page != self.page:
            self.page = page
            self.widgets = {}
        state.page_script_hash = self.pages.get(self.page, "")
        state.page_name = "" if self.page == "self_attention" and not self.pages else self.page
        for key, value in (widgets or {}).items():
            widget = state.widget_states.widgets.add()
            widget.id = self.widgets[key]
            widget.string_value = value
        started = time.perf_counter()
        try:
            await self.ws.send(msg.SerializeToString())
            return await asyncio.wait_for(self._until_finished(started), RUN_TIMEOUT)
        except TimeoutError:
            return Run(time.perf_counter() - started, "timeout")
        except (WebSocketException, OSError):
            return Run(time.perf_counter() - started, "disconnected")

    async def _until_finished(self, started: float) -> Run:
        run = Run(0.0, "finished")
        while True:
            data = await self.ws.recv()
            fwd = ForwardMsg()
            fwd.ParseFromString(data)
            kind = fwd.WhichOneof("type")
            if kind == "page_info_changed":
                self.query = fwd.page_info_changed.query_string
            elif kind == "new_session":
                self.session_id = fwd.new_session.initialize.session_id or self.session_id
                self.pages = {p.url_pathname or p.page_name: p.page_script_hash
                              for p in fwd.new_session.app_pages} or self.pages
            elif kind == "navigation":
                self.pages = {p.url_pathname: p.page_script_hash for p in fwd.navigation.app_pages} or self.pages
            elif kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                self._element(fwd.delta.new_element, run)
            elif kind == "script_finished":
                status = ForwardMsg.ScriptFinishedStatus.Name(fwd.script_finished)
                if status == "FINISHED_EARLY_FOR_RERUN":
                    continue  # the app reran itself (st.rerun): the visitor waits for that run too
                run.seconds = time.perf_counter() - started
                run.widgets = dict(self.widgets)
                if run.status == "finished" and status != "FINISHED_SUCCESSFULLY":
                    run.status = "exception"
                return run

    def _element(self, element, run: Run) -> None:
        kind = element.WhichOneof("type")
        if kind == "exception":
            run.status = "exception"
            run.alerts.append(element.exception.message)
        elif kind == "alert" and element.alert.format == element.alert.ERROR:
            run.status = "error" if run.status == "finished" else run.status
            run.alerts.append(element.alert.body)
        elif kind in ("text_area", "text_input", "selectbox"):
            widget = getattr(element, kind)
            # "$$ID-<hash>-<key>": the key is the page's name for the widget (text, model, ...)
            self.widgets[widget.query_param_key or widget.id.split("-", 2)[-1]] = widget.id
        elif kind == "bidi_component" and element.bidi_component.component_name.endswith("attnviz_live_map"):
            header = map_header(self._component_bytes(element.bidi_component))
            if header is not None:
                run.map_rows, run.map_cols = header["rows"], header["cols"]

    @staticmethod
    def _component_bytes(component) -> bytes:
        which = component.WhichOneof("data")
        if which == "bytes":
            return component.bytes
        if which == "mixed":
            return b"".join(component.mixed.arrow_blobs[k].data for k in component.mixed.arrow_blobs)
        return b""


def shows_text(run: Run, text: str, first_words: int | None = None) -> bool:
    """The map the run sent has the sentence's words (``first_words`` of them: a long text is cut to the
    token limit), in order, on one of its axes: the text really was captured (rows of a cross-attention map
    are the translation, its columns the text)."""
    words = [word for word in text.split() if word.isalpha()][:first_words]

    def in_order(labels: list[str] | None) -> bool:
        tokens = iter(label.split("·")[0].lower() for label in labels or [])
        return all(any(token == word for token in tokens) for word in words)

    return in_order(run.map_rows) or in_order(run.map_cols)


@dataclass
class Tally:
    sentence: list[float] = field(default_factory=list)
    switch: list[float] = field(default_factory=list)
    model: list[float] = field(default_factory=list)
    long: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    runs: int = 0
    checked: int = 0  # runs whose map was checked against the text sent
    lost: list[int] = field(default_factory=list)  # sessions whose connection dropped
    recovered: list[int] = field(default_factory=list)  # ... and got their view back from the URL on reconnect


def text_in_url(query: str) -> str | None:
    values = urllib.parse.parse_qs(query).get("text")
    return values[0] if values else None


async def recover(session: Session, index: int, tally: Tally) -> bool:
    """A dropped connection: reconnect as the front end does (the proxy picks a live process) and rerun the
    page from its URL; the view is back when the map shows the text the URL holds."""
    tally.lost.append(index)
    wanted = text_in_url(session.query)
    for attempt in range(10):
        await asyncio.sleep(0.5 * (attempt + 1))
        try:
            await session.open(resume=True)
        except (OSError, WebSocketException):
            continue
        run = await session.run(query=session.query)
        tally.runs += 1
        if run.status == "finished" and (wanted is None or shows_text(run, wanted)):
            tally.recovered.append(index)
            return True
        if run.status != "disconnected":
            break
    tally.errors.append(f"session {index}: no view back after reconnecting")
    return False


async def visitor(url: str, index: int, until: float, period: float, tally: Tally, long_every: int,
                  reconnect: bool = False) -> None:
    """One student: the self-attention page, a new sentence every ~``period`` s, a page switch every 7th
    action, one model switch, and a 512-token text as the 3rd of every ``long_every`` actions (self page).
    ``reconnect``: a dropped connection is reopened (as the browser does) instead of ending the visit."""
    rng = random.Random(index)
    session = Session(url)
    try:
        await session.open()
    except (OSError, WebSocketException) as error:
        tally.errors.append(f"session {index}: could not connect ({error})")
        return
    try:
        first = await session.run()
        tally.runs += 1
        if first.status != "finished":
            tally.errors.append(f"session {index}: first page run {first.status} {first.alerts[:1]}")
            return
        await asyncio.sleep(rng.uniform(0, period))
        action, model_switched = 0, False
        while time.perf_counter() < until:
            action += 1
            t0 = time.perf_counter()
            if action % 7 == 0:
                page = PAGES[(PAGES.index(session.page) + 1) % len(PAGES)]
                run, kind, text = await session.run(page=page), "switch", None
            elif action == 5 and not model_switched and session.page == "self_attention" and "model" in session.widgets:
                model_switched = True
                run, kind, text = await session.run(widgets={"model": "toy-lm"}), "model", None
            else:
                long = long_every and action % long_every == 3 and session.page == "self_attention"
                text = " ".join(sentence(rng, 16) for _ in range(40)) if long else sentence(rng)
                run = await session.run(widgets={"text": text})
                kind = "long" if long else "sentence"
            tally.runs += 1
            if run.status == "disconnected" and reconnect:
                if not await recover(session, index, tally):
                    return
                continue
            getattr(tally, kind).append(run.seconds)
            if run.status != "finished":
                tally.errors.append(f"session {index} {kind} on {session.page}: {run.status} {run.alerts[:1]}")
                if run.status in ("disconnected", "timeout"):
                    return
            elif text is not None:
                tally.checked += 1
                if not shows_text(run, text, 200 if kind == "long" else None):
                    tally.errors.append(f"session {index} {kind} on {session.page}: the map does not show the text "
                                        f"{text[:60]!r} (rows {(run.map_rows or [])[:10]})")
            await asyncio.sleep(max(0.0, period * rng.uniform(0.8, 1.2) - (time.perf_counter() - t0)))
    finally:
        await session.close()


class Sampler(threading.Thread):
    """CPU seconds and RSS of the server processes (the app processes and their children)."""

    def __init__(self, pids: list[int]):
        super().__init__(daemon=True)
        self.processes = [psutil.Process(pid) for pid in pids]
        self.peak: dict[int, int] = {pid: 0 for pid in pids}
        self.rss: dict[int, list[int]] = {pid: [] for pid in pids}
        self.stop = threading.Event()

    def cpu(self) -> float:
        total = 0.0
        for process in self.processes:
            try:
                times = process.cpu_times()
                total += times.user + times.system
            except psutil.Error:
                pass
        return total

    def run(self) -> None:
        while not self.stop.is_set():
            for process in self.processes:
                try:
                    rss = process.memory_info().rss
                except psutil.Error:
                    continue
                self.peak[process.pid] = max(self.peak[process.pid], rss)
                self.rss[process.pid].append(rss)
            self.stop.wait(0.5)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def load(url: str, sessions: int, duration: float, period: float = 3.0, long_every: int = 20,
               reconnect: bool = False, during=None) -> Tally:
    """``sessions`` visitors for ``duration`` seconds; ``during``: a coroutine run alongside (a fault)."""
    tally = Tally()
    until = time.perf_counter() + duration
    visits = [visitor(url, i, until, period, tally, long_every, reconnect) for i in range(sessions)]
    await asyncio.gather(*visits, *([during] if during is not None else []))
    return tally


def start_servers(workers: int) -> tuple[str, subprocess.Popen, list[int]]:
    """``attnviz serve`` (nginx and N app processes) or one ``streamlit run`` on a free loopback port."""
    port = free_port()
    if workers > 1:
        command = [sys.executable, "-m", "attnviz", "serve", "--workers", str(workers), "--port", str(port)]
    else:
        command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                   "--server.address", "127.0.0.1", "--server.headless", "true"]
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.5)
    else:
        server.kill()
        raise SystemExit("the app did not start")
    apps = [server.pid] if workers == 1 else [
        child.pid for child in psutil.Process(server.pid).children(recursive=True)
        if "streamlit" in " ".join(child.cmdline())]
    return url, server, apps


def warm(url: str) -> None:
    """Load the pages' models once (a class's server is warm before the lesson)."""
    async def go():
        session = Session(url)
        await session.open()
        await session.run()
        for page in PAGES[1:] + PAGES[:1]:
            await session.run(page=page)
        await session.close()

    for _ in range(4):  # every process behind the proxy (a new connection is routed anew)
        asyncio.run(go())


async def cost(url: str, cpu, runs: int = 20) -> str:
    """Server CPU per run with one visitor at a time (no queueing): sentences on each page, page switches."""
    rng, session, lines = random.Random(0), Session(url), []
    await session.open()
    await session.run()
    for page in PAGES:
        await session.run(page=page)
        for _ in range(3):
            await session.run(widgets={"text": sentence(rng)})
        before, walls = cpu(), []
        for _ in range(runs):
            walls.append((await session.run(widgets={"text": sentence(rng)})).seconds)
        lines.append(f"  new sentence on {page}: {1000 * (cpu() - before) / runs:.1f} ms server CPU per run, "
                     f"{1000 * statistics.median(walls):.0f} ms median wall")
    before, walls = cpu(), []
    for i in range(3 * runs):
        walls.append((await session.run(page=PAGES[i % 3])).seconds)
    lines.append(f"  page switch: {1000 * (cpu() - before) / (3 * runs):.1f} ms server CPU per run, "
                 f"{1000 * statistics.median(walls):.0f} ms median wall")
    await session.close()
    return "cost per run (one visitor):\n" + "\n".join(lines)


def report(sessions: int, tally: Tally, cpu: float, sampler: Sampler, client_cpu: float) -> str:
    def row(name: str, values: list[float]) -> str:
        return (f"  {name:9s} n={len(values):5d}  p50 {percentile(values, .5):6.3f} s  "
                f"p95 {percentile(values, .95):6.3f} s  max {max(values, default=float('nan')):6.3f} s")

    peaks = ", ".join(f"{peak / 2**20:,.0f} MB" for peak in sampler.peak.values())
    lines = [f"{sessions} sessions: {tally.runs} runs, {len(tally.errors)} errors; server CPU "
             f"{1000 * cpu / max(tally.runs, 1):.0f} ms per run ({cpu:.1f} s); client CPU {client_cpu:.1f} s; "
             f"peak RSS per process {peaks}",
             row("sentence", tally.sentence), row("switch", tally.switch), row("model", tally.model),
             row("512 tok", tally.long)]
    if tally.lost:
        lines.append(f"  connections lost: {len(set(tally.lost))} sessions, views back from the URL: "
                     f"{len(set(tally.recovered))}")
    lines += [f"  ! {error}" for error in tally.errors[:10]]
    return "\n".join(lines)


def cache_figures(url: str) -> str:
    """The app's own count of its memory (``/_attnviz/memory``, answered to loopback): RSS, the shared cache's
    bytes, and RSS minus those bytes, which must stay flat in a soak once the cache has filled."""
    import json

    try:
        with urllib.request.urlopen(f"{url}/_attnviz/memory", timeout=5) as response:
            figures = json.load(response)
    except (OSError, ValueError):
        return "cache figures unavailable"
    return (f"cache {figures['cache_bytes'] / 2**20:,.0f} MB in {figures['cache_entries']} entries, "
            f"RSS - cache {figures['rss_minus_cache_bytes'] / 2**20:,.0f} MB")


def print_rss(sampler: Sampler, every: float, url: str) -> None:
    started = time.perf_counter()
    while not sampler.stop.wait(every):
        rss = ", ".join(f"{samples[-1] / 2**20:,.0f} MB" for samples in sampler.rss.values() if samples)
        print(f"  t={time.perf_counter() - started:5.0f} s  RSS {rss}; {cache_figures(url)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[10, 30, 60, 120])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load at each size")
    parser.add_argument("--period", type=float, default=3.0, help="seconds between a session's actions")
    parser.add_argument("--long-every", type=int, default=20, help="every Nth sentence is 512 tokens (0: never)")
    parser.add_argument("--workers", type=int, default=1, help="app processes (2+: behind nginx)")
    parser.add_argument("--url", help="an app already running (no CPU or memory figures)")
    parser.add_argument("--cost", action="store_true", help="first, server CPU per run with one visitor")
    parser.add_argument("--rss-every", type=float, default=0,
                        help="print the processes' RSS every this many seconds (a soak)")
    args = parser.parse_args()
    server = None
    if args.url:
        url, pids = args.url, []
    else:
        url, server, pids = start_servers(args.workers)
    try:
        warm(url)
        sampler = Sampler(pids)
        sampler.start()
        me = psutil.Process()
        if args.cost:
            print(asyncio.run(cost(url, sampler.cpu)), flush=True)
        if args.rss_every:
            threading.Thread(target=print_rss, args=(sampler, args.rss_every, url), daemon=True).start()
        for n in args.sessions:
            cpu0, mine0 = sampler.cpu(), sum(me.cpu_times()[:2])
            tally = asyncio.run(load(url, n, args.duration, args.period, args.long_every))
            print(report(n, tally, sampler.cpu() - cpu0, sampler, sum(me.cpu_times()[:2]) - mine0), flush=True)
        sampler.stop.set()
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    main()
