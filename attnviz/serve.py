"""A class server on more than one core: N app processes behind nginx, each visitor kept on one of them.

Streamlit keeps a session (its widgets, its script thread) inside one process, and a process runs its
scripts under one interpreter lock, so one process uses about one core. ``attnviz serve --workers N`` starts
N ``streamlit run`` processes on loopback ports of their own (each loads its own copy of a model), writes
nginx's configuration from ``deploy/nginx.conf.template`` and starts nginx in front: sticky routing by a
cookie nginx sets itself, websocket upgrade, gzip, and Streamlit's hashed front-end files served from disk
with a year-long Cache-Control. A process that dies is started again; meanwhile nginx sends its visitors to
the others, whose pages rebuild the view from the URL. Ctrl-C stops them all.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from attnviz.errors import AttnvizError
from attnviz.paths import app_script, nginx_template

NGINX = "/usr/sbin/nginx"
MIME_TYPES = "/etc/nginx/mime.types"


class ServeError(AttnvizError):
    """The proxied server cannot be started (no nginx, a port taken, a process that does not come up)."""

    default_code = "serve"


def free_port(address: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def find_nginx() -> str | None:
    return shutil.which("nginx") or (NGINX if os.access(NGINX, os.X_OK) else None)


def streamlit_static() -> Path:
    """Streamlit's built front end (index.html's ``/static/...`` files), found without importing Streamlit."""
    spec = importlib.util.find_spec("streamlit")
    if spec is None or spec.origin is None:
        raise ServeError(code="serve_no_streamlit")
    return Path(spec.origin).parent / "static" / "static"


def nginx_config(worker_ports: list[int], listen: str, prefix: Path, *, static_root: Path | None = None,
                 mime_types: str = MIME_TYPES) -> str:
    """nginx's configuration for app processes on ``127.0.0.1:<worker_ports>``, listening on ``listen``
    (``8501`` or ``127.0.0.1:8501``); every path nginx writes is under ``prefix``."""
    upstreams = "\n".join(f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=3s;" for port in worker_ports)
    fields = {"prefix": str(prefix), "listen": listen, "upstreams": upstreams,
              "static_root": str(static_root or streamlit_static()), "mime_types": mime_types}
    text = nginx_template().read_text("utf-8")
    for name, value in fields.items():
        text = text.replace("{{" + name + "}}", value)
    return text


def prepare_prefix(prefix: Path) -> None:
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / "tmp" / name).mkdir(parents=True, exist_ok=True)


def wait_healthy(url: str, seconds: float, process: subprocess.Popen | None = None) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    return True
        except OSError:
            time.sleep(0.3)
    return False


@dataclass
class Cluster:
    """N app processes and nginx in front of them, on one machine."""

    workers: int
    port: int
    address: str = "0.0.0.0"
    prefix: Path | None = None
    streamlit_args: tuple[str, ...] = ()
    log: object = sys.stderr
    worker_ports: list[int] = field(default_factory=list)
    apps: list[subprocess.Popen] = field(default_factory=list)
    nginx: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.address in ("0.0.0.0", "::", "") else self.address
        return f"http://{host}:{self.port}"

    def _say(self, text: str) -> None:
        print(text, file=self.log, flush=True)

    def _app(self, port: int) -> subprocess.Popen:
        script = app_script()
        # Visitors come through the proxy's address: a proxy on 0.0.0.0 is a shared server (visitors get the
        # built-ins and the operator's list, no folders), though each process listens on loopback only.
        env = {**os.environ, "ATTNVIZ_PUBLIC_ADDRESS": self.address}
        command = [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
                   "--server.address", "127.0.0.1", "--server.headless", "true", *self.streamlit_args]
        log = open(self.prefix / f"app-{port}.log", "ab")
        try:
            return subprocess.Popen(command, cwd=script.parent, env=env, stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()

    def start(self) -> None:
        nginx = find_nginx()
        if nginx is None:
            raise ServeError(code="serve_no_nginx")
        if self.workers < 1:
            raise ServeError(code="serve_workers", workers=self.workers)
        self.prefix = Path(self.prefix or tempfile.mkdtemp(prefix="attnviz-serve-"))
        prepare_prefix(self.prefix)
        self.worker_ports = [free_port() for _ in range(self.workers)]
        self.apps = [self._app(port) for port in self.worker_ports]
        for port, app in zip(self.worker_ports, self.apps):
            if not wait_healthy(f"http://127.0.0.1:{port}", 120, app):
                self.stop()
                raise ServeError(code="serve_app", port=port, log=f"{self.prefix}/app-{port}.log")
        listen = f"{self.address}:{self.port}" if ":" not in self.address else f"[{self.address}]:{self.port}"
        config = self.prefix / "nginx.conf"
        config.write_text(nginx_config(self.worker_ports, listen, self.prefix), "utf-8")
        self.nginx = subprocess.Popen([nginx, "-p", str(self.prefix), "-c", str(config), "-e",
                                       str(self.prefix / "error.log")], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.STDOUT)
        if not wait_healthy(self.url, 20, self.nginx):
            errors = (self.prefix / "error.log").read_text("utf-8", "replace")[-800:]
            self.stop()
            raise ServeError(code="serve_nginx", listen=listen, errors=errors)
        self._say(f"attnviz: {self.workers} app processes (ports {', '.join(map(str, self.worker_ports))}) "
                  f"behind nginx on {self.url} (files in {self.prefix})")

    def restart_dead(self) -> list[int]:
        """Start again every app process that has exited; the ports it had."""
        restarted = []
        for i, app in enumerate(self.apps):
            if app.poll() is not None:
                port = self.worker_ports[i]
                self._say(f"attnviz: the app process on port {port} exited ({app.returncode}); starting it again")
                self.apps[i] = self._app(port)
                restarted.append(port)
        return restarted

    def supervise(self, every: float = 2.0) -> None:
        while self.nginx is not None and self.nginx.poll() is None:
            self.restart_dead()
            time.sleep(every)
        raise ServeError(code="serve_nginx_stopped")

    def stop(self) -> None:
        for process in [self.nginx, *self.apps]:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in [self.nginx, *self.apps]:
            if process is None:
                continue
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
