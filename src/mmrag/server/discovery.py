"""How the CLI finds a running ``mmrag serve`` for the same index.

The server writes ``server.json`` (url, pid, token, index) into the index
folder (beside a Milvus Lite file: ``<file>.server.json``), readable by its
owner only, and removes it on exit. ``find_server`` trusts it only if the pid
is alive and the server answers ``/healthz`` for the same index within a
fraction of a second; otherwise the CLI works on the index itself.

This module imports nothing heavy (no FastAPI): the CLI loads it on every call.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from mmrag.index_paths import parse_location, side_file
from mmrag.lock import pid_alive

FILE_NAME = "server.json"


def discovery_path(index: str) -> Path | None:
    return side_file(index, FILE_NAME)


def index_identity(index: str) -> str:
    """The index as a server reports it: one spelling per index (``index_paths.parse_location``),
    absolute where it is a path, ``milvus:`` before a Milvus Lite file, ``#collection`` when given."""
    where = parse_location(index)
    if where.kind == "lance":
        return str(where.local)
    place = where.target if where.kind == "server" else f"milvus:{where.local}"
    return place + (f"#{where.collection}" if where.collection is not None else "")


@dataclass(frozen=True)
class ServerInfo:
    url: str
    pid: int
    token: str
    index: str


def write_discovery(index: str, info: ServerInfo) -> Path | None:
    path = discovery_path(index)
    if path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"url": info.url, "pid": info.pid, "token": info.token, "index": info.index}, fh)
    tmp.replace(path)
    return path


def remove_discovery(index: str, pid: int) -> None:
    """Remove the discovery file if it is still ours."""
    path = discovery_path(index)
    if path is None:
        return
    found = read_discovery(path)
    if found is not None and found.pid == pid:
        path.unlink(missing_ok=True)


def read_discovery(path: Path) -> ServerInfo | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ServerInfo(str(data["url"]), int(data["pid"]), str(data["token"]), str(data["index"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def find_server(index: str, timeout: float = 0.5) -> ServerInfo | None:
    """A live server for ``index``, or ``None`` (then work locally). ``MMRAG_NO_SERVER=1`` disables."""
    if os.environ.get("MMRAG_NO_SERVER", "").lower() in ("1", "true", "yes"):
        return None
    path = discovery_path(index)
    if path is None or not path.is_file():
        return None
    info = read_discovery(path)
    if info is None or not pid_alive(info.pid) or info.index != index_identity(index):
        return None
    import httpx

    try:
        r = httpx.get(info.url + "/healthz", timeout=timeout)
        ok = r.status_code == 200 and r.json().get("pid") == info.pid
    except (httpx.HTTPError, ValueError):
        return None
    return info if ok else None


__all__ = ["ServerInfo", "discovery_path", "find_server", "index_identity", "read_discovery",
           "remove_discovery", "write_discovery"]
