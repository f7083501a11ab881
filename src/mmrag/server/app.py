"""The HTTP API (FastAPI): a thin layer over one warm ``Engine``.

Every route calls an ``Engine`` method and turns its records into JSON; the
rules (search, fusion, citations, what a source is) stay in the engine.
Errors become statuses with the engine's own cause-and-fix message, never a
stack trace: bad query/filter 400, missing token 401, wrong token 403,
unknown segment 404, index being written 409, upload too large 413, anything
unexpected 500 (logged on the server with its trace).

Routes (also at ``/docs``, generated from this file): ``POST /search``,
``POST /ask`` (server-sent events), ``GET /thumbnail/{segment}``,
``GET /media/{segment}`` (HTTP range requests), ``GET /sources``,
``DELETE /sources``, ``POST /add``, ``GET /info``, ``GET /healthz``, and the
web page at ``/``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import mimetypes
import os
import queue
import re
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import Depends, FastAPI, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from mmrag import __version__
from mmrag.config import Config
from mmrag.errors import (
    ConfigError,
    FilterError,
    IndexLocked,
    IngestError,
    MissingDependency,
    MmragError,
    QueryError,
    SpaceMismatch,
)
from mmrag.markdown import as_shown
from mmrag.querycache import content_hash
from mmrag.server.auth import Guard
from mmrag.server.batcher import QueryBatcher
from mmrag.server.resultcache import FastSearch, ResultCache, search_key
from mmrag.server.uploads import BodyLimit, keep_upload, safe_name, save_temp
from mmrag.types import Hit

log = logging.getLogger("mmrag.server")
STATIC = Path(__file__).parent / "static"
SEGMENT_ID = re.compile(r"[0-9a-f]{24}")
BAD_INPUT = (QueryError, FilterError, ConfigError, IngestError)


def hit_json(hit: Hit) -> dict[str, Any]:
    """A hit as the API returns it: the record plus where it is, which channel matched, and URLs."""
    d = hit.to_dict()
    scores = dict(hit.channel_scores)
    d["channel"] = max(scores, key=lambda c: scores[c]) if scores else None
    where = hit.where()
    d["where"] = "" if where.startswith("chars") else where
    d["section"] = hit.section  # the headings a document's chunk falls under ("Install > From source"), or ""
    d["name"] = Path(hit.source).name if not hit.source.startswith(("http://", "https://")) else hit.source
    d["shown"] = as_shown(hit.text, hit.is_markdown) if hit.text else hit.text  # as a card shows it (markdown.as_shown)
    d["thumbnail_url"] = f"/thumbnail/{hit.segment_id}" if hit.has_thumbnail else None
    d["media_url"] = None if hit.source.startswith(("http://", "https://")) else f"/media/{hit.segment_id}"
    return d


def _plain(obj: Any) -> Any:
    """What ``json`` cannot write itself: numpy scalars, then whatever FastAPI's encoder knows (dates...)."""
    item = getattr(obj, "item", None)
    return item() if callable(item) else jsonable_encoder(obj)


def json_bytes(body: Any) -> bytes:
    """The response body as JSON, written in the worker thread in one ``json.dumps`` (FastAPI's
    recursive encoder took a sixth of a cached search's CPU)."""
    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_plain).encode("utf-8")


def _status(exc: MmragError) -> int:
    if isinstance(exc, IndexLocked):
        return 409
    if isinstance(exc, BAD_INPUT):
        return 400
    if isinstance(exc, (SpaceMismatch, MissingDependency)):
        return 500
    return 400 if "empty" in str(exc) else 500


def _folder_bytes(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def _sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def create_app(engine: Any, config: Config, token: str, *, upload_dir: Path | None = None) -> FastAPI:
    """The ASGI app for one engine. ``token`` guards writes (and reads beyond loopback)."""
    guard = Guard(token=token, bind_host=config.serve.host)
    uploads = upload_dir or Path(str(Path(config.index).expanduser().resolve()) + "-uploads")
    scratch = Path(tempfile.mkdtemp(prefix="mmrag-serve-"))
    app = FastAPI(
        title="mmrag",
        version=__version__,
        description="Search and ask across text, PDFs, images, audio and video in one index. "
        "Reads are free from this machine; add/remove need `Authorization: Bearer TOKEN`.",
    )
    app.state.engine = engine
    read = [Depends(guard.read)]
    admin = [Depends(guard.admin)]

    # ------------------------------------------------------------ errors
    @app.exception_handler(MmragError)
    async def _mmrag_error(_: Request, exc: MmragError) -> JSONResponse:
        body: dict[str, Any] = {"error": str(exc), "kind": type(exc).__name__}
        if isinstance(exc, IndexLocked) and exc.pid:
            body["holder_pid"] = exc.pid
        return JSONResponse(body, status_code=_status(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors())
        return JSONResponse({"error": f"bad request: {problems}. See /docs."}, status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return JSONResponse(
            {"error": "internal error; the server log has the details. Please report it."}, status_code=500
        )

    # ------------------------------------------------------------ queries
    def _with_uploads(image: UploadFile | None, audio: UploadFile | None) -> tuple[Path | None, Path | None]:
        img = save_temp(image, scratch) if image is not None and image.filename else None
        aud = save_temp(audio, scratch) if audio is not None and audio.filename else None
        return img, aud

    results = ResultCache(config.serve.result_cache, int(config.serve.result_cache_mb * 1024 * 1024))
    app.state.results = results
    version: Callable[[], Any] = getattr(engine, "result_version", lambda: None)
    inflight: dict[Any, asyncio.Future[bytes | None]] = {}  # cache keys being searched now (event loop only)

    async def media_key(kind: str, upload: UploadFile | None) -> tuple[str, str, str] | None:
        """An upload's part of the cache key: its content hash and file suffix."""
        if upload is None or not upload.filename:
            return None
        data = await upload.read()
        await upload.seek(0)
        return (kind, Path(safe_name(upload.filename)).suffix.lower(), content_hash(data))

    batcher = QueryBatcher(engine, window_s=config.serve.batch_window_ms / 1000.0) if config.serve.batch_window_ms > 0 else None
    app.state.batcher = batcher
    workers: list[anyio.CapacityLimiter] = []  # made on first use, inside the event loop

    async def in_worker(fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the bounded pool of search threads (``serve.search_threads``): a few
        threads share the two GIL-bound halves of the work better than forty do."""
        if not workers:
            workers.append(anyio.CapacityLimiter(max(1, config.serve.search_threads)))
        return await anyio.to_thread.run_sync(fn, limiter=workers[0])

    @app.post("/search", dependencies=read, summary="Search by text, an image and/or an audio clip")
    async def search(
        q: Annotated[str | None, Form(description="Text query")] = None,
        image: Annotated[UploadFile | None, File(description="Query image (finds similar pictures and text about them)")] = None,
        audio: Annotated[UploadFile | None, File(description="Query recording (speech is transcribed)")] = None,
        k: Annotated[int, Form(ge=1, le=200)] = 10,
        modality: Annotated[str | None, Form(description="text,image,audio,video (comma-separated)")] = None,
        where: Annotated[str | None, Form(description="Filter, e.g. \"page > 2 AND source LIKE '%2024%'\"")] = None,
    ) -> Response:
        """Hits, best first: score, matched channel, source, page, [t0, t1], thumbnail and media URLs.
        A repeated request on an unchanged index and feedback log is answered from the result cache
        (header `x-mmrag-cache: hit`)."""
        uploads = bool(image and image.filename) or bool(audio and audio.filename)
        key = None
        if results.enabled:  # uploads are read and hashed only for the cache key
            media = tuple(m for m in (await media_key("image", image), await media_key("audio", audio)) if m is not None)
            key = search_key(version(), q, k, modality, where, media)  # read before searching
        plain = bool(q and q.strip()) and not uploads

        def work() -> bytes:
            img, aud = _with_uploads(image, audio)
            try:
                if not (q and q.strip()) and img is None and aud is None:
                    raise QueryError("give a text query (q), an image or an audio clip.")
                if plain and batcher is not None:
                    query = batcher.query(q)  # type: ignore[arg-type]  # its vectors are in the cache now
                else:
                    query = engine.embed_query(q or None, image=img, audio=aud)
                hits = engine.search(query=query, k=k, modality=modality or None, where=where or None)
            finally:
                for p in (img, aud):
                    if p is not None:
                        p.unlink(missing_ok=True)
            body = json_bytes({"query": q, "notes": list(query.notes), "hits": [hit_json(h) for h in hits]})
            results.put(key, body)
            return body

        cached = results.get(key, count_miss=False)
        if cached is not None:
            return Response(cached, media_type="application/json", headers={"x-mmrag-cache": "hit"})
        running = inflight.get(key) if key is not None else None
        if running is not None:  # the same search is under way for another request: its answer is this one's
            shared = await asyncio.shield(running)
            if shared is not None:
                results.shared += 1
                return Response(shared, media_type="application/json", headers={"x-mmrag-cache": "shared"})
        if key is not None:
            results.misses += 1
        mine: asyncio.Future[bytes | None] | None = None
        if key is not None and key not in inflight:
            mine = inflight[key] = asyncio.get_running_loop().create_future()
        body: bytes | None = None
        try:
            if plain and batcher is not None:
                await asyncio.wrap_future(batcher.submit(q))  # type: ignore[arg-type]  # waits without a thread
            body = await in_worker(work)
        finally:
            if mine is not None:  # requests waiting for it get the answer (None after an error: each searches itself)
                inflight.pop(key, None)
                if not mine.done():
                    mine.set_result(body)
        return Response(body, media_type="application/json", headers={"x-mmrag-cache": "miss" if key is not None else "off"})

    @app.post("/ask", dependencies=read, summary="Answer a question, streamed as server-sent events",
              response_class=StreamingResponse)
    def ask(
        q: Annotated[str | None, Form(description="The question")] = None,
        image: Annotated[UploadFile | None, File()] = None,
        audio: Annotated[UploadFile | None, File()] = None,
        k: Annotated[int | None, Form(ge=1, le=50)] = None,
        modality: Annotated[str | None, Form()] = None,
        where: Annotated[str | None, Form()] = None,
    ) -> StreamingResponse:
        """Events: `token` ({"text"}) as the answer is written, then `answer` (the full text,
        `citations` as hits with their number, `context`, timings), or `error` ({"error"})."""
        img, aud = _with_uploads(image, audio)
        events: queue.Queue[tuple[str, Any]] = queue.Queue()

        def work() -> None:
            try:
                answer = engine.ask(q, image=img, audio=aud, k=k, modality=modality or None,
                                    where=where or None, stream=lambda d: events.put(("token", {"text": d})))
                events.put(("answer", {
                    "answer": answer.text,
                    "generator": answer.generator,
                    "citations": [{"number": c.number, **hit_json(c.hit)} for c in answer.citations],
                    "context": [hit_json(h) for h in answer.context],
                    "dropped_citations": list(answer.dropped_citations),
                    "timings": dict(answer.timings),
                }))
            except MmragError as exc:
                events.put(("error", {"error": str(exc), "status": _status(exc)}))
            except Exception:  # reported without its trace
                log.exception("ask failed")
                events.put(("error", {"error": "internal error; the server log has the details.", "status": 500}))
            finally:
                for p in (img, aud):
                    if p is not None:
                        p.unlink(missing_ok=True)
                events.put(("end", None))

        threading.Thread(target=work, name="mmrag-ask", daemon=True).start()

        def stream() -> Iterator[str]:
            while True:
                event, data = events.get()
                if event == "end":
                    return
                yield _sse(event, data)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    # ------------------------------------------------------------ media
    def _segment(segment_id: str) -> Hit:
        hit = engine.segment(segment_id) if SEGMENT_ID.fullmatch(segment_id) else None
        if hit is None:
            raise HTTPException(404, f"no segment {segment_id[:40]!r} in this index. Ids come from /search.")
        return hit

    @app.get("/thumbnail/{segment_id}", dependencies=read, summary="A hit's thumbnail (JPEG or PNG)",
             response_class=Response)
    def thumbnail(segment_id: str) -> Response:
        _segment(segment_id)
        data = engine.thumbnail(segment_id)
        if not data:
            raise HTTPException(404, "this segment has no thumbnail.")
        kind = "image/png" if data[:8] == b"\x89PNG\r\n\x1a\n" else "image/jpeg"
        return Response(data, media_type=kind, headers={"Cache-Control": "private, max-age=3600"})

    @app.get("/media/{segment_id}", dependencies=read, summary="The source file of a hit (HTTP range requests)",
             response_class=FileResponse)
    def media(segment_id: str) -> FileResponse:
        """Serves only the indexed source file a segment belongs to: no paths are taken from
        the request. A source that is gone, changed into a symlink or not a regular file is 404."""
        hit = _segment(segment_id)
        gone = HTTPException(404, "the source file of this segment is not available on the server.")
        if hit.source.startswith(("http://", "https://")):
            raise gone
        path = Path(os.path.abspath(hit.source))  # as indexed (relative sources: from the server's folder)
        try:
            if not stat.S_ISREG(os.lstat(path).st_mode):  # a symlink now, a folder, a device: refused
                raise gone
        except OSError:
            raise gone from None
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return FileResponse(path, media_type=kind, content_disposition_type="inline", filename=path.name)

    # ------------------------------------------------------------ the index
    @app.get("/sources", dependencies=read, summary="The indexed files")
    def sources() -> list[dict[str, Any]]:
        return [
            {"source": s.source, "hash": s.source_hash, "segments": s.segments, "modalities": list(s.modalities),
             "added_at": s.added_at}
            for s in engine.sources()
        ]

    @app.delete("/sources", dependencies=admin, summary="Remove files (or folders) from the index [admin]")
    def remove(path: Annotated[list[str], Query(description="Source path(s) as listed by /sources")]) -> dict[str, Any]:
        removed = engine.remove(path)
        if not removed:
            raise HTTPException(404, "nothing matched: see GET /sources for what is indexed.")
        return {"removed": removed}

    @app.post("/add", dependencies=admin, summary="Index server paths and/or uploaded files [admin]")
    def add(
        path: Annotated[list[str], Form(description="Files or folders on the server")] = [],  # noqa: B006
        files: Annotated[list[UploadFile], File(description="Files to upload and index")] = [],  # noqa: B006
        exclude: Annotated[
            list[str], Form(description="gitignore-style patterns left out of the folders walked ('*.css', 'build/')")
        ] = [],  # noqa: B006
    ) -> dict[str, Any]:
        kept = [keep_upload(f, uploads) for f in files if f.filename]
        targets = [*path, *(str(p) for p in kept)]
        if not targets:
            raise HTTPException(400, "nothing to add: give path=... (server paths) or files (uploads).")
        report = engine.add(targets, exclude=exclude)
        return {
            "added": list(report.added), "replaced": list(report.replaced), "unchanged": list(report.unchanged),
            "failed": [{"source": s, "reason": r} for s, r in report.failed], "segments": report.segments,
            "left_out": report.left_out,
        }

    @app.get("/info", dependencies=read, summary="What the index holds, its space and the space it takes")
    def info() -> dict[str, Any]:
        i = engine.info()
        folder = Path(config.index).expanduser()
        return i.to_dict() | {
            "disk_bytes": _folder_bytes(folder) if folder.is_dir() else None,
            "upload_bytes": _folder_bytes(uploads) if uploads.is_dir() else 0,
        }

    @app.get("/healthz", summary="Liveness (no token needed)")
    def healthz() -> dict[str, Any]:
        body: dict[str, Any] = {"status": "ok", "version": __version__, "pid": os.getpid()}
        if batcher is not None:  # how many encoder calls the text queries took (micro-batching at work)
            body["query_batches"] = {"calls": batcher.batches, "texts": batcher.embedded}
        if results.enabled:
            body["result_cache"] = results.stats()
        return body

    # ------------------------------------------------------------ the page
    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    if config.serve.cors_origins.strip():
        from fastapi.middleware.cors import CORSMiddleware

        origins = [o.strip() for o in config.serve.cors_origins.split(",") if o.strip()]
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["*"], allow_headers=["*"])
    limit_mb = config.serve.max_upload_mb
    app.add_middleware(BodyLimit, limit=int(limit_mb * 1024 * 1024), limit_mb=limit_mb)
    if results.enabled and not config.serve.cors_origins.strip():  # outermost: a hit skips everything below
        app.add_middleware(FastSearch, cache=results, version=version, bind_host=config.serve.host)
    return app


__all__ = ["create_app", "hit_json"]
