"""A local stand-in for the Hugging Face hub (just the endpoints huggingface_hub's snapshot download uses)."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

COMMIT = "a" * 40


@contextmanager
def fake_hub(repo_id: str, folder: Path) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """Serve ``folder`` as model ``repo_id``; yields ``(endpoint, request_log)``."""
    files = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    log: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(self, code: int, body: bytes, headers: dict[str, str], head: bool) -> None:
            self.send_response(code)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _route(self, head: bool) -> None:
            log.append((self.command, self.path))
            path = self.path.split("?")[0]
            as_json = {"Content-Type": "application/json"}
            if path.startswith(f"/api/models/{repo_id}/tree/"):
                tree = [
                    {"type": "file", "path": n, "size": len(d), "oid": hashlib.sha1(d).hexdigest()}
                    for n, d in files.items()
                ]
                return self._send(200, json.dumps(tree).encode(), as_json, head)
            if path.startswith(f"/api/models/{repo_id}"):
                info = {"id": repo_id, "sha": COMMIT, "siblings": [{"rfilename": n} for n in files]}
                return self._send(200, json.dumps(info).encode(), as_json, head)
            if path.startswith("/api/models/"):
                return self._send(
                    404, b'{"error":"Repository not found"}', {"X-Error-Code": "RepoNotFound"}, head
                )
            prefix = f"/{repo_id}/resolve/"
            name = path[len(prefix) :].partition("/")[2] if path.startswith(prefix) else ""
            if name in files:
                etag = '"' + hashlib.sha1(files[name]).hexdigest() + '"'
                return self._send(200, files[name], {"ETag": etag, "X-Repo-Commit": COMMIT}, head)
            return self._send(200 if path == "/" else 404, b"", {}, head)

        def do_GET(self) -> None:
            self._route(False)

        def do_HEAD(self) -> None:
            self._route(True)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", log
    finally:
        server.shutdown()
        server.server_close()
