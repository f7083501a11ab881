"""Uploads: a hard cap on request bodies (413) and safe names for kept files.

The cap is an ASGI middleware, so it holds whether or not the client sends
``Content-Length`` (chunked bodies are counted as they stream in) and before
any multipart parsing spools a byte to disk.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapi import UploadFile

SAFE = re.compile(r"[^A-Za-z0-9._-]+")


class BodyTooLarge(Exception):
    pass


def too_large_message(limit_mb: float) -> str:
    return (
        f"upload too large: the limit is {limit_mb:g} MB per request. "
        f"Send a smaller file, or raise serve.max_upload_mb (MMRAG_SERVE_MAX_UPLOAD_MB) on the server."
    )


class BodyLimit:
    """ASGI middleware: refuse request bodies over ``limit`` bytes with 413."""

    def __init__(self, app: Any, limit: int, limit_mb: float) -> None:
        self.app = app
        self.limit = limit
        self.limit_mb = limit_mb

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        seen = 0
        started = False
        exceeded = False

        async def counted() -> dict[str, Any]:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    exceeded = True
                    raise BodyTooLarge()
            return message

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            if exceeded:  # the framework turned our exception into its own error reply: ours instead
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await self._refuse(send)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Any) -> None:
        body = json.dumps({"error": too_large_message(self.limit_mb)}).encode("utf-8")
        await send({
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        })
        await send({"type": "http.response.body", "body": body})


def safe_name(name: str | None, fallback: str = "upload") -> str:
    """A file name with no folders, no dots in front, only plain characters."""
    base = Path((name or "").replace("\\", "/")).name
    base = SAFE.sub("_", base).lstrip("._")[:120]
    return base or fallback


def save_temp(upload: UploadFile, folder: Path) -> Path:
    """Copy an upload into a fresh temporary file under ``folder`` (kept name suffix)."""
    folder.mkdir(parents=True, exist_ok=True)
    suffix = Path(safe_name(upload.filename)).suffix[:12]
    fd, name = tempfile.mkstemp(prefix="q-", suffix=suffix, dir=folder)
    with open(fd, "wb") as out:
        shutil.copyfileobj(upload.file, out)
    return Path(name)


def keep_upload(upload: UploadFile, folder: Path) -> Path:
    """Store an upload for indexing as ``folder/<hash8>-<safe name>`` (same bytes, same path)."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = save_temp(upload, folder / ".incoming")
    digest = hashlib.blake2b(tmp.read_bytes(), digest_size=4).hexdigest()
    dest = folder / f"{digest}-{safe_name(upload.filename)}"
    tmp.replace(dest)
    return dest


__all__ = ["BodyLimit", "BodyTooLarge", "keep_upload", "safe_name", "save_temp", "too_large_message"]
