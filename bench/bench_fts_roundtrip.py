"""LanceDB's full-text query: the sync API (six hand-offs to lancedb's event loop) against
``stores/lance_fts.fts_query`` (one), on the same table and queries, in one process: CPU and
wall time per query, and whether the rows and scores are the same (ties aside).

    nice -n 10 python bench/bench_fts_roundtrip.py --index /tmp/i10w/idx-10000 --n 200
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_serve import WORDS


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", required=True, help="a LanceDB index folder (bench_serve.py builds one)")
    ap.add_argument("--n", type=int, default=200)
    args = ap.parse_args()
    from lancedb.query import MatchQuery

    import mmrag
    from mmrag.stores.lance_fts import fts_query

    engine = mmrag.open(args.index)
    table = engine.store._table  # type: ignore[attr-defined]
    rng = random.Random(1)
    queries = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 7))) for _ in range(args.n)]

    def sync_api(q: str, where: str | None = None):  # type: ignore[no-untyped-def]
        b = table.search(MatchQuery(q, "text"), query_type="fts")
        if where:
            b = b.where(where, prefilter=True)
        return b.limit(50).select(["id", "_score"]).to_arrow()

    for where in (None, "source LIKE '%doc00%'"):
        same = sum(
            sorted(zip(a.column("_score").to_pylist(), a.column("id").to_pylist()))
            == sorted(zip(b.column("_score").to_pylist(), b.column("id").to_pylist()))
            for a, b in ((sync_api(q, where), fts_query(table, q, 50, where)[0]) for q in queries)
        )
        print(f"filter {where!r}: same rows and scores for {same} of {len(queries)} queries")
    for name, fn in (("sync API", sync_api), ("one round trip", lambda q: fts_query(table, q, 50, None))):
        c, w = time.process_time(), time.perf_counter()
        for q in queries:
            fn(q)
        print(f"{name}: {1000 * (time.process_time() - c) / len(queries):.2f} ms CPU, "
              f"{1000 * (time.perf_counter() - w) / len(queries):.2f} ms wall per query")


if __name__ == "__main__":
    main()
