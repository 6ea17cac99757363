"""The class server: load through the proxy, static files, sticky routing, and a process killed under load."""

from __future__ import annotations

import asyncio
import concurrent.futures
import gzip
import random
import re
import signal
import time
import urllib.request

import psutil
from load_client import Session, load, sentence, shows_text

from attnviz.serve import nginx_config


def _run(coroutine):
    """asyncio.run in a thread of its own: a browser test earlier in the session may leave an event loop running
    in this one (playwright's sync API), and asyncio.run refuses to start under it."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def get(url: str, headers: dict | None = None):
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as reply:
        return reply.status, dict(reply.headers), reply.read()


def test_config_has_what_a_class_server_needs(tmp_path):
    text = nginx_config([9001, 9002], "0.0.0.0:8501", tmp_path, static_root=tmp_path / "static")
    assert "{{" not in text and "server 127.0.0.1:9001" in text and "server 127.0.0.1:9002" in text
    assert "hash $attnviz_route consistent" in text and "proxy_set_header Upgrade" in text
    assert f"pid {tmp_path}/nginx.pid" in text and "daemon off" in text


def test_front_end_through_the_proxy_is_gzipped_and_cached_long(cluster):
    status, headers, body = get(cluster.url + "/", {"Accept-Encoding": "gzip"})
    assert status == 200 and headers.get("Content-Encoding") == "gzip"
    assert re.match(r"attnviz_route=\w+;", headers.get("Set-Cookie", ""))
    script = re.search(rb'/static/js/index\.[\w-]+\.js', gzip.decompress(body)).group().decode()
    status, headers, body = get(cluster.url + script, {"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert "max-age=31536000" in headers["Cache-Control"] and "immutable" in headers["Cache-Control"]
    assert len(gzip.decompress(body)) > 3 * len(body)


async def _sticky(url: str) -> tuple[int, int]:
    """A session resumed with the same routing cookie lands on the process that holds it (same id); without
    the cookie, resuming succeeds only when the fresh route happens to pick the same process."""
    first = Session(url)
    await first.open()
    assert (await first.run()).status == "finished"
    await first.close()
    same = elsewhere = 0
    for _ in range(8):
        for cookie in (first.cookie, ""):
            again = Session(url)
            again.cookie, again.session_id = cookie, first.session_id
            await again.open(resume=True)
            assert (await again.run()).status == "finished"
            await again.close()
            if cookie:
                same += again.session_id == first.session_id
            else:
                elsewhere += again.session_id != first.session_id
    return same, elsewhere


def test_sticky_routing_by_the_proxy_cookie(cluster):
    same, elsewhere = _run(_sticky(cluster.url))
    assert same == 8  # every request with the cookie reached the session's process
    assert elsewhere >= 1  # and visitors without one are spread over both processes


def test_short_load_through_the_proxy_every_run_shows_its_text(cluster):
    """Six visitors, each typing a sentence every 0.5 s for 6 s on the self-attention, causal and
    cross-attention pages (page switches and a model switch among them): no errors, and every map shows the
    sentence that was sent."""
    tally = _run(load(cluster.url, sessions=6, duration=6, period=0.5, long_every=0))
    assert tally.errors == []
    assert tally.checked >= 30 and len(tally.sentence) == tally.checked
    assert tally.switch and tally.model


def _busiest_app(cluster) -> int:
    """The app process with the most open connections from nginx (it has visitors to lose)."""
    def visitors(pid: int) -> int:
        return sum(c.status == psutil.CONN_ESTABLISHED for c in psutil.Process(pid).net_connections("tcp"))

    return max((app.pid for app in cluster.apps), key=visitors)


def test_a_process_killed_under_load_loses_only_its_visitors_who_get_their_view_back(cluster):
    async def fault():
        await asyncio.sleep(3)
        victim = _busiest_app(cluster)
        psutil.Process(victim).send_signal(signal.SIGKILL)

    started = time.perf_counter()
    tally = _run(load(cluster.url, sessions=8, duration=9, period=0.6, long_every=0, reconnect=True,
                             during=fault()))
    assert time.perf_counter() - started < 60
    assert tally.errors == []
    assert 1 <= len(set(tally.lost)) < 8  # the killed process had visitors, the other one kept its own
    assert sorted(tally.recovered) == sorted(tally.lost)  # each one back, showing the text from its URL
    # after the fault every visitor still gets its own sentences drawn (through the remaining process)
    session = Session(cluster.url)

    async def after():
        await session.open()
        await session.run()
        text = sentence(random.Random(99))
        run = await session.run(widgets={"text": text})
        await session.close()
        return run, text

    run, text = _run(after())
    assert run.status == "finished" and shows_text(run, text)
