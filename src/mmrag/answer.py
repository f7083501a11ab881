"""Retrieval-augmented answers: search -> numbered prompt -> generator -> cited ``Answer``.

Timings for each stage (query embedding, search, prompt, generation) are kept
in ``Answer.timings`` (seconds) for the CLI's ``--json`` and the benchmark.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from mmrag.config import Config
from mmrag.errors import QueryError
from mmrag.types import Answer, Hit

MIN_ROWS_TO_ABSTAIN = 10  # below this many indexed vectors, ask answers by default (see answer_question)


class Retriever(Protocol):
    """What ``answer_question`` needs of an index (``Engine`` is one); typed here so this
    module never imports the engine that calls it."""

    config: Config
    store: Any

    def embed_query(self, text: str | None = None, *, image: Any = None, audio: str | Path | None = None) -> Any: ...

    @property
    def search(self) -> Callable[..., list[Hit]]: ...  # Engine.search: text plus keyword filters

    def relevance_model(self) -> Any: ...

    def thumbnail(self, segment_id: str) -> bytes | None: ...


def _filters_record_fields(engine: Any, where: str | None) -> bool:
    """Whether ``where`` names a record field of the index (``price < 20``, ``fields.brand = 'Acme'``)."""
    if not where or not where.strip():
        return False
    fields = getattr(engine, "fields", None)
    names = set(fields()) if callable(fields) else set()
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", where))
    return "fields." in where or bool(names & words)


def answer_question(
    engine: Retriever,
    question: str | None,
    *,
    image: Any = None,
    audio: str | Path | None = None,
    k: int | None = None,
    modality: str | Sequence[str] | None = None,
    where: str | None = None,
    stream: Callable[[str], None] | None = None,
    min_relevance: float | None = None,
) -> Answer:
    """``min_relevance`` (default ``search.ask_min_relevance``): when no retrieved hit is at least
    that likely to be right, the answer says it cannot answer from the index instead of citing noise."""
    from mmrag.generate import build_generator
    from mmrag.generate.citations import finalize
    from mmrag.generate.prompt import build_prompt

    if not (question and question.strip()) and image is None and audio is None:
        raise QueryError("ask needs a question, an --image or an --audio query.")
    timings: dict[str, float] = {}
    t = time.perf_counter()
    query = engine.embed_query(question, image=image, audio=audio)
    timings["embed_s"] = time.perf_counter() - t

    t = time.perf_counter()
    hits = engine.search(query=query, k=k, modality=modality, where=where)
    timings["search_s"] = time.perf_counter() - t
    # a PDF's table of contents or index names sections and pages, it never says the answer: it takes no place
    # in the context while anything else was found (ingest/pdf_layout.is_contents_page)
    hits = [h for h in hits if not h.is_contents] or hits
    floor = min_relevance if min_relevance is not None else engine.config.search.ask_min_relevance
    if floor is None:  # the threshold fitted with the relevance model (keeps 90% of right answers on held-out queries)
        model = engine.relevance_model()
        floor = float(model.report.get("threshold", 0.5)) if model is not None else 0.0
        if engine.store.count() < MIN_ROWS_TO_ABSTAIN:  # a background of a handful of vectors is not what it was fitted on
            floor = 0.0
    if floor > 0 and _filters_record_fields(engine, where):
        floor = 0.0  # a filter on typed fields (price < 20) chose these rows: similarity alone does not judge them
    if floor > 0 and hits and all(h.relevance is not None for h in hits):
        relevant = [h for h in hits if (h.relevance or 0.0) >= floor]
        if not relevant:
            best = max(h.relevance or 0.0 for h in hits)
            declined = (
                "I cannot answer this from the index: nothing indexed is a likely match "
                f"(the best hit's relevance is {best:.2f}, below {floor:.2f}; `mmrag ask --min-relevance 0` answers anyway)."
            )
            if stream is not None:  # a streaming reader (the CLI, the page) is shown it too, not an empty answer
                stream(declined)
            return Answer(text=declined, context=tuple(hits), generator="abstained", timings=timings)
        hits = relevant

    generator = build_generator(engine.config)
    t = time.perf_counter()
    prompt = build_prompt(
        query.text or question or "",
        hits,
        thumbnail=engine.thumbnail,
        budget=engine.config.generate.max_context_tokens,
        vision=generator.vision,
        query_image=image,
    )
    timings["prompt_s"] = time.perf_counter() - t

    t = time.perf_counter()
    if stream is not None:
        parts: list[str] = []
        first: float | None = None
        for delta in generator.stream(prompt):
            if first is None:
                first = time.perf_counter() - t
            parts.append(delta)
            stream(delta)
        answer = finalize(prompt, "".join(parts), generator=generator.name)
        timings["first_token_s"] = first if first is not None else time.perf_counter() - t
    else:
        answer = generator.generate(prompt)
    timings["generate_s"] = time.perf_counter() - t
    merged = {**dict(answer.timings), **timings}
    return dataclasses.replace(answer, timings=merged)


__all__ = ["answer_question"]
