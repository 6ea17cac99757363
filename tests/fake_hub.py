"""A Hugging Face hub on 127.0.0.1 for tests: serves model folders in the hub's URL layout.

    with FakeHub({"tiny/bert": folder}) as hub:
        os.environ["HF_ENDPOINT"] = hub.url

It answers what huggingface_hub asks for a download: the repository's info (``/api/models/<id>/revision/<rev>``),
its file tree, and ``/<id>/resolve/<rev>/<file>`` with the headers it checks (commit, ETag, size).
Every request is logged, so tests can tell a cache hit (no file requests) from a download.
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHub:
    def __init__(self, repos: dict[str, Path]):
        self.repos = {repo: Path(folder) for repo, folder in repos.items()}
        self.requests: list[tuple[str, str]] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_HEAD(self):
                hub._serve(self, body=False)

            def do_GET(self):
                hub._serve(self, body=True)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeHub:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def file_requests(self) -> list[str]:
        return [path for method, path in self.requests if "/resolve/" in path]

    def _files(self, repo: str) -> list[Path]:
        return sorted(p for p in self.repos[repo].rglob("*") if p.is_file())

    def _info(self, repo: str) -> dict:
        folder = self.repos[repo]
        siblings = []
        for path in self._files(repo):
            data = path.read_bytes()
            siblings.append({"rfilename": str(path.relative_to(folder)), "size": len(data),
                             "blobId": hashlib.sha1(data).hexdigest()})
        return {"id": repo, "modelId": repo, "sha": COMMIT, "private": False, "gated": False, "disabled": False,
                "siblings": siblings, "tags": [], "downloads": 0, "likes": 0, "library_name": "transformers"}

    def _tree(self, repo: str) -> list[dict]:
        folder = self.repos[repo]
        return [{"type": "file", "path": str(p.relative_to(folder)), "size": p.stat().st_size,
                 "oid": hashlib.sha1(p.read_bytes()).hexdigest()} for p in self._files(repo)]

    def _repo_of(self, parts: list[str]) -> tuple[str | None, list[str]]:
        for n in (2, 1):
            repo = "/".join(parts[:n])
            if repo in self.repos:
                return repo, parts[n:]
        return None, parts

    def _send(self, handler, status: int, payload: bytes, headers: dict, body: bool) -> None:
        handler.send_response(status)
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        if body:
            handler.wfile.write(payload)

    def _json(self, handler, data, body: bool, status: int = 200) -> None:
        self._send(handler, status, json.dumps(data).encode(), {"Content-Type": "application/json"}, body)

    def _missing(self, handler, body: bool) -> None:
        self._send(handler, 404, b'{"error": "Repository not found"}',
                   {"Content-Type": "application/json", "X-Error-Code": "RepoNotFound",
                    "X-Error-Message": "Repository not found"}, body)

    def _serve(self, handler, body: bool) -> None:
        path = unquote(urlparse(handler.path).path)
        self.requests.append((handler.command, path))
        parts = [p for p in path.split("/") if p]
        if parts[:2] == ["api", "models"]:
            repo, rest = self._repo_of(parts[2:])
            if repo is None:
                return self._missing(handler, body)
            if rest[:1] == ["tree"]:
                return self._json(handler, self._tree(repo), body)
            return self._json(handler, self._info(repo), body)
        repo, rest = self._repo_of(parts)
        if repo is None or rest[:1] != ["resolve"] or len(rest) < 3:
            return self._missing(handler, body)
        file = self.repos[repo] / "/".join(rest[2:])
        if not file.is_file():
            return self._send(handler, 404, b"", {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": COMMIT}, body)
        data = file.read_bytes()
        etag = hashlib.sha1(data).hexdigest()
        self._send(handler, 200, data, {"X-Repo-Commit": COMMIT, "ETag": f'"{etag}"',
                                        "Content-Type": "application/octet-stream"}, body)
