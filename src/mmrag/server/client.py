"""A small client of ``mmrag serve`` for the CLI: the same records back
(``Hit``, ``Answer``, ``IndexInfo``) so the CLI prints them as it prints local
results. Uses ``httpx`` (a core dependency); imports nothing heavy.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from mmrag.errors import MmragError
from mmrag.server.discovery import ServerInfo
from mmrag.types import Answer, Citation, Hit, Modality, Span

TIMEOUT = httpx.Timeout(connect=2.0, read=600.0, write=60.0, pool=5.0)


def hit_from_json(d: dict[str, Any]) -> Hit:
    return Hit(
        segment_id=d["segment_id"],
        source=d["source"],
        modality=Modality(d["modality"]),
        span=Span(page=d.get("page"), t0=d.get("t0"), t1=d.get("t1"), start=d.get("start"), end=d.get("end")),
        score=float(d["score"]),
        text=d.get("text"),
        channel_scores=dict(d.get("channel_scores") or {}),
        has_thumbnail=bool(d.get("has_thumbnail")),
        meta=dict(d.get("meta") or {}),
    )


def _error(r: httpx.Response) -> MmragError:
    try:
        message = r.json().get("error") or r.text
    except ValueError:
        message = r.text
    return MmragError(f"{message} (from the mmrag server)")


def _form(text: str | None, k: int | None, modality: str | None, where: str | None) -> dict[str, str]:
    data = {"q": text, "k": None if k is None else str(k), "modality": modality, "where": where}
    return {key: v for key, v in data.items() if v is not None}


def _files(stack: ExitStack, image: Path | None, audio: Path | None) -> dict[str, Any]:
    files: dict[str, Any] = {}
    for name, path in (("image", image), ("audio", audio)):
        if path is not None:
            files[name] = (Path(path).name, stack.enter_context(open(path, "rb")))  # noqa: SIM115 - the ExitStack closes it
    return files


def _headers(server: ServerInfo) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token}"}


def search(
    server: ServerInfo, text: str | None, *, image: Path | None = None, audio: Path | None = None,
    k: int | None = None, modality: str | None = None, where: str | None = None,
) -> tuple[list[Hit], tuple[str, ...]]:
    with ExitStack() as stack:
        files = _files(stack, image, audio)
        r = httpx.post(server.url + "/search", data=_form(text, k, modality, where), files=files or None,
                       headers=_headers(server), timeout=TIMEOUT)
    if r.status_code != 200:
        raise _error(r)
    body = r.json()
    return [hit_from_json(h) for h in body["hits"]], tuple(body.get("notes") or ())


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str, Any]]:
    """``(event, data)`` pairs from server-sent-event lines."""
    event, data = "message", list[str]()
    for line in lines:
        if line == "":
            if data:
                yield event, json.loads("\n".join(data))
            event, data = "message", []
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())


def ask(
    server: ServerInfo, question: str | None, *, image: Path | None = None, audio: Path | None = None,
    k: int | None = None, modality: str | None = None, where: str | None = None,
    stream: Callable[[str], None] | None = None,
) -> Answer:
    with ExitStack() as stack:
        files = _files(stack, image, audio)
        with httpx.stream("POST", server.url + "/ask", data=_form(question, k, modality, where),
                          files=files or None, headers=_headers(server), timeout=TIMEOUT) as r:
            if r.status_code != 200:
                r.read()
                raise _error(r)
            for event, data in sse_events(r.iter_lines()):
                if event == "token" and stream is not None:
                    stream(data["text"])
                elif event == "error":
                    raise MmragError(f"{data['error']} (from the mmrag server)")
                elif event == "answer":
                    return Answer(
                        text=data["answer"],
                        citations=tuple(Citation(c["number"], hit_from_json(c)) for c in data["citations"]),
                        context=tuple(hit_from_json(h) for h in data["context"]),
                        generator=data.get("generator", ""),
                        dropped_citations=tuple(data.get("dropped_citations") or ()),
                        timings=dict(data.get("timings") or {}),
                    )
    raise MmragError("the mmrag server ended the answer early. Try again, or run with MMRAG_NO_SERVER=1.")


def info(server: ServerInfo) -> dict[str, Any]:
    r = httpx.get(server.url + "/info", headers=_headers(server), timeout=TIMEOUT)
    if r.status_code != 200:
        raise _error(r)
    data: dict[str, Any] = r.json()
    return data


__all__ = ["ask", "hit_from_json", "info", "search", "sse_events"]
