"""How ``MilvusStore`` reads its rows collection: failures as ``StoreError``, read consistency,
paged queries, filters re-checked in Python where Milvus selects a superset, searches that widen
until enough rows pass, and text search on servers without BM25 (< 2.5)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from mmrag.errors import StoreError
from mmrag.stores.base import ScoredRow
from mmrag.stores.common import bm25_scores, tokenize
from mmrag.stores.filters import (
    ANY,
    In,
    Like,
    Or,
    milvus_is_exact,
    parse,
    parse_optional,
    predicate,
    to_milvus,
)
from mmrag.stores.milvus_schema import OUT_FIELDS, SCALARS, TERM_IDS_FIELD, term_id, to_row

BATCH = 500
# Reads use "Session" consistency: the collections' default ("Strong") makes every read wait for
# the server's next time tick (~200 ms a search). A process that wrote in the last FRESH_S
# seconds reads "Strong" (its own writes at once); other processes' writes show within a tick.
READ_CONSISTENCY = "Session"
FRESH_S = 3.0
_LAST_WRITE: dict[tuple[str, str], float] = {}  # (uri, collection) -> when this process last wrote
ID_PAGE = 16_384  # the largest page Milvus returns
QUERY_PAGE = 1000
TEXT_FALLBACK_CANDIDATES = 2000
TERMS_CANDIDATES = 500  # text search by the terms array: BM25 in Python over at most this many rows


class RowsReader:
    """Calls on one rows collection through one client; ``prefix_like``: the server matches only
    ``LIKE 'abc%'`` patterns (before 2.4)."""

    def __init__(self, client: Any, uri: str, rows_name: str, prefix_like: bool) -> None:
        self.client, self.uri, self.rows_name, self.prefix_like = client, uri, rows_name, prefix_like

    def call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except StoreError:
            raise
        except Exception as exc:  # noqa: BLE001 - any client/server failure becomes a StoreError
            raise StoreError(
                f"Milvus {what} failed at {self.uri}: {exc}. Check that the server is up "
                "(or the Lite file is not locked by another process)."
            ) from None

    def wrote(self) -> None:
        """This process just wrote: read ``Strong`` for ``FRESH_S`` seconds."""
        _LAST_WRITE[(self.uri, self.rows_name)] = time.monotonic()

    def level(self) -> str:
        last = _LAST_WRITE.get((self.uri, self.rows_name))
        return "Strong" if last is not None and time.monotonic() - last < FRESH_S else READ_CONSISTENCY

    def query(self, what: str = "query", **kwargs: Any) -> Any:
        """One ``query`` on the rows at the current read level."""
        return self.call(what, self.client.query, self.rows_name, consistency_level=self.level(), **kwargs)

    def iter(self, expr: str, fields: Sequence[str]) -> Iterator[dict[str, Any]]:
        it = self.call(
            "query",
            self.client.query_iterator,
            self.rows_name,
            batch_size=ID_PAGE if list(fields) == ["id"] else QUERY_PAGE,
            filter=expr,
            output_fields=list(fields),
            consistency_level=self.level(),
        )
        try:
            while True:
                page = self.call("query", it.next)
                if not page:
                    return
                yield from page
        finally:
            it.close()

    def ids(self, expr: str, recheck: Callable[[Any], bool] | None = None) -> list[str]:
        if recheck is None:
            return [e["id"] for e in self.iter(expr, ["id"])]
        return [e["id"] for e in self.iter(expr, list(SCALARS)) if recheck(to_row(e))]

    def get(self, ids: Sequence[str], fields: Sequence[str]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for i in range(0, len(ids), BATCH):
            out.extend(
                self.call(
                    "get", self.client.get, self.rows_name, ids=list(ids[i : i + BATCH]), output_fields=list(fields),
                    consistency_level=self.level(),
                )
            )
        return out

    def where(self, where: str | None, required: bool = False) -> tuple[str, Callable[[Any], bool] | None]:
        """Milvus expression and, where it selects a superset, the exact Python check."""
        node = parse(where) if required else parse_optional(where)  # type: ignore[arg-type]
        if node is None:
            return "", None
        exact = milvus_is_exact(node, self.prefix_like)
        return to_milvus(node, self.prefix_like), None if exact else predicate(node)

    def ranked(
        self,
        what: str,
        k: int,
        recheck: Callable[[Any], bool] | None,
        run: Callable[[int], Any],
        score: Callable[[float], float],
    ) -> list[ScoredRow]:
        """Run a top-``limit`` search; with a re-check, widen ``limit`` until ``k`` rows pass."""
        limit = k if recheck is None else min(16_384, max(8 * k, 256))
        while True:
            hits = self.call(what, run, limit)[0]
            out = [ScoredRow(to_row(h["entity"]), score(float(h["distance"]))) for h in hits]
            if recheck is not None:
                out = [s for s in out if recheck(s.row)]
            if len(out) >= k or len(hits) < limit or limit >= 16_384:
                return out[:k]
            limit = min(16_384, limit * 4)


# -- text search without Milvus' BM25 ------------------------------------------------------------
def text_fallback(r: RowsReader, query: str, k: int, expr: str) -> list[ScoredRow]:
    """BM25 over at most ``TEXT_FALLBACK_CANDIDATES`` rows whose text holds a query word (``like``)."""
    terms = list(dict.fromkeys(tokenize(query)))[:16]
    if not terms:
        return []
    variants = {v for t in terms for v in (t, t.capitalize(), t.upper())}
    likes = to_milvus(Or(tuple(Like("text", (ANY, *v, ANY)) for v in sorted(variants))))
    full = likes if not expr else f"{likes} and {expr}"
    cands = r.query(filter=full, output_fields=OUT_FIELDS, limit=TEXT_FALLBACK_CANDIDATES)
    if not cands:
        return []
    scores = bm25_scores(query, [c["text"] for c in cands])
    order = [i for i in np.argsort(-scores, kind="stable")[:k] if scores[i] > 0]
    return [ScoredRow(to_row(cands[i]), float(scores[i])) for i in order]


def text_terms(
    r: RowsReader, query: str, k: int, expr: str, field: str = TERM_IDS_FIELD, heard: bool = False
) -> list[ScoredRow]:
    """BM25 over candidates the server selects by the terms array ``field`` (word ids, or words in
    collections made before them): rows holding every query word, then (when fewer than ``k`` do)
    rows holding any, at most ``TERMS_CANDIDATES`` (statistics from them). ``heard``: the collection
    keeps the words a recogniser may also have heard (``Row.heard``; in the terms array too); a row
    scores the sum of its text's and those words' BM25 (``common.most_fields``)."""
    words = list(dict.fromkeys(tokenize(query)))[:16]
    if not words:
        return []
    found: dict[str, str] = {}
    alts: dict[str, str] = {}
    values: list[Any] = [term_id(w) for w in words] if field == TERM_IDS_FIELD else words
    # words are \w+ runs: no quotes or backslashes. "Every word" as a chain of array_contains: ~30% faster
    # on 2.3.5 than array_contains_all (200k rows: 19-25 ms vs 27-38 ms); "any word": array_contains_any
    every = " and ".join(f"array_contains({field}, {json.dumps(v, ensure_ascii=False)})" for v in values)
    tests = [every] if len(words) > 1 else []
    tests.append(f"array_contains_any({field}, {json.dumps(values, ensure_ascii=False)})")
    for test in tests:
        room = TERMS_CANDIDATES - len(found)
        if room <= 0 or len(found) >= k:
            break
        seen = to_milvus(In("id", tuple(found))) if found else ""
        full = " and ".join(f"({p})" for p in (test, expr) if p) + (f" and not ({seen})" if seen else "")
        got = r.query(filter=full, output_fields=["id", "text", *(["heard"] if heard else [])], limit=room)
        found.update((g["id"], g["text"]) for g in got)
        alts.update((g["id"], g.get("heard") or "") for g in got)
    if not found:
        return []
    ids = list(found)
    scores = bm25_scores(query, [found[i] for i in ids])
    if heard and any(alts.values()):
        scores = scores + bm25_scores(query, [alts[i] for i in ids])  # most_fields: the two hold different words
    order = [int(i) for i in np.argsort(-scores, kind="stable")[:k] if scores[i] > 0]
    got_rows = {g["id"]: g for g in r.get([ids[i] for i in order], OUT_FIELDS)}
    return [ScoredRow(to_row(got_rows[ids[i]]), float(scores[i])) for i in order if ids[i] in got_rows]


def text_scan(r: RowsReader, query: str, k: int, expr: str) -> list[ScoredRow]:
    """BM25 over every (filtered) row's text: servers that match neither BM25 nor infix LIKE."""
    words = set(tokenize(query))
    if not words:
        return []
    found = [(e["id"], e["text"]) for e in r.iter(expr, ["id", "text"])]
    found = [f for f in found if words & set(tokenize(f[1]))]
    if not found:
        return []
    scores = bm25_scores(query, [t for _, t in found])
    order = [int(i) for i in np.argsort(-scores, kind="stable")[:k] if scores[i] > 0]
    ids = [found[i][0] for i in order]
    got = {g["id"]: g for g in r.get(ids, OUT_FIELDS)}
    return [ScoredRow(to_row(got[found[i][0]]), float(scores[i])) for i in order if found[i][0] in got]


def server_before(client: Any, version: tuple[int, int]) -> bool:
    """``True`` when the server reports a version below ``version`` (Milvus Lite: never)."""
    try:
        found = str(client.get_server_version())
    except Exception:  # noqa: BLE001 - an unknown server: assume a current one
        return False
    if found.lower().startswith("milvus_lite"):  # Milvus Lite 3.x (the 2.3.5 server says "v2.3.5-lite")
        return False
    m = re.search(r"(\d+)\.(\d+)", found)
    return m is not None and (int(m.group(1)), int(m.group(2))) < version


__all__ = [
    "BATCH",
    "ID_PAGE",
    "TERMS_CANDIDATES",
    "TEXT_FALLBACK_CANDIDATES",
    "RowsReader",
    "server_before",
    "text_fallback",
    "text_scan",
    "text_terms",
]
