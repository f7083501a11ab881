"""What the second full-text index (``Row.heard``: words a recogniser may also have heard) costs a
text search on LanceDB, against the same store searching ``text`` alone, in one process.

A synthetic table (``--rows`` rows of 12 words from a small vocabulary; every ``--every``-th row also
holds 3 heard words), full-text indexed; the same ``--queries`` queries of 3 words, k = 50, with the
``heard`` index switched off and on (``LanceStore._has_heard_fts``), alternating rounds.

    python bench/bench_heard_fts.py --rows 10000 --every 20 --queries 200 --rounds 3
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

WORDS = ["budget", "cuts", "river", "train", "night", "music", "garden", "tomato", "bread", "coffee", "cat", "dog", "bird", "rocket", "city", "paper", "report", "chart", "slide", "revenue"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--every", type=int, default=20, help="one row in this many holds heard words")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    from mmrag.config import Config
    from mmrag.stores import open_store
    from mmrag.stores.base import Row

    rng = np.random.default_rng(0)
    store = open_store(tempfile.mkdtemp() + "/idx", 32, Config())
    rows = []
    for i in range(args.rows):
        v = rng.standard_normal(32).astype(np.float32)
        rows.append(Row(id=f"s{i}:text", segment_id=f"s{i}", source=f"f{i % 500}.txt", source_hash="h",
                        modality="text", channel="text", vector=v / np.linalg.norm(v),
                        text=" ".join(rng.choice(WORDS, 12)),
                        heard=" ".join(rng.choice(WORDS, 3)) if i % args.every == 0 else ""))
    for lo in range(0, len(rows), 1000):
        store.upsert(rows[lo : lo + 1000])
    store.refresh_text_index()
    queries = [" ".join(rng.choice(WORDS, 3)) for _ in range(args.queries)]

    def p50(heard: bool) -> float:
        store._has_heard_fts = heard  # type: ignore[attr-defined]
        times = []
        for q in queries:
            t = time.perf_counter()
            store.text_search(q, 50)
            times.append(time.perf_counter() - t)
        return 1000 * float(np.median(times))

    print(f"{args.rows} rows, 1 in {args.every} with heard words, {args.queries} queries, k = 50")
    for r in range(args.rounds):
        a, b = p50(False), p50(True)
        print(f"round {r + 1}: text only p50 {a:.2f} ms, text + heard p50 {b:.2f} ms, ratio {b / a:.2f}")
    store.close()


if __name__ == "__main__":
    main()
