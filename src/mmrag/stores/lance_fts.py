"""LanceDB's full-text (BM25) query in one round trip.

``table.search(MatchQuery(...), query_type="fts")...to_arrow()``, LanceDB's sync API, hands
six coroutines one after another to lancedb's background event loop for one query (the
table schema three times for blob-column checks, the query, then each result batch): six
thread hand-offs, ~9 ms of CPU and 15-20 ms of wall time per query at 10k rows on this
machine, and the store's lock held throughout. Here the same query (same index, same
``MatchQuery``, same prefilter, same limit and columns) is built on the table's async
handle and awaited in ONE coroutine on that loop: the same rows and BM25 scores
(``tests/stores/test_lance_fts.py``), one hand-off.

Uses lancedb's async query API (``AsyncTable.query().nearest_to_text``, public) reached
through the sync table's async handle and background loop (``LanceTable._table``,
``lancedb.background_loop.LOOP``: not public). ``fts_query`` returns ``None`` when those
are missing (another lancedb version); the caller then takes the sync API.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pyarrow as pa


async def _query(atable: Any, text: str, k: int, where: str | None, column: str) -> pa.Table:
    from lancedb.query import MatchQuery

    q = atable.query().nearest_to_text(MatchQuery(text, column)).select(["id", "_score"]).limit(k)  # type: ignore[call-arg]
    if where is not None:
        q = q.where(where)  # a prefilter, as the sync API's where(..., prefilter=True)
    return await q.to_arrow()


async def _queries(atable: Any, text: str, k: int, where: str | None, columns: Sequence[str]) -> list[pa.Table]:
    return list(await asyncio.gather(*(_query(atable, text, k, where, c) for c in columns)))


def fts_query(
    table: Any, text: str, k: int, where: str | None, columns: Sequence[str] = ("text",)
) -> list[pa.Table] | None:
    """Ids and BM25 scores of the best ``k`` rows for ``text`` in each of ``columns``' full-text
    indexes, all in one hand-off (``None``: use the sync API)."""
    try:
        from lancedb.background_loop import LOOP
    except ImportError:
        return None
    atable = getattr(table, "_table", None)
    if atable is None or not callable(getattr(atable, "query", None)):
        return None
    return LOOP.run(_queries(atable, text, k, where, columns))


__all__ = ["fts_query"]
