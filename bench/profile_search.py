"""Where one /search request's time goes, stage by stage (issue 10).

Runs in one process, one request at a time, on the bench's 10k-segment index
(``bench_serve.py`` builds it): every stage the server runs for a text query,
timed by wall clock and by the process's CPU time (all threads: torch's and
LanceDB's own threads count), averaged over ``--n`` queries:

- embed: a new query text through MiniLM (``engine.embed_query``; the query
  cache is emptied first), and a repeated text (every vector from the cache);
- inside ``Engine.search`` (store methods wrapped with timers for this run
  only): the full-text (BM25) query, the dense ANN query, the calibration
  background, the feedback step, relevance, diversity, and the rest;
- the response: ``hit_json`` for each hit, then ``json_bytes``;
- HTTP: a real server process (uvicorn + FastAPI) measured by its CPU time per
  request (``/proc``) for ``GET /healthz`` and for ``POST /search`` answered
  from the result cache (everything but HTTP, form parsing and the cache
  lookup is skipped there), 1 client, sequential.

    nice -n 10 python bench/profile_search.py --n 200 --work /tmp/i10w
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_serve import REPO, WORDS, build_index, cpu_seconds, start_server

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as `mmrag serve` sets it (server/command.py)

TIMES: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])


class timed:
    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> None:
        self.w, self.c = time.perf_counter(), time.process_time()

    def __exit__(self, *exc: object) -> None:
        t = TIMES[self.name]
        t[0] += time.perf_counter() - self.w
        t[1] += time.process_time() - self.c
        t[2] += 1


def wrap(obj: Any, attr: str, name: str) -> None:
    fn = getattr(obj, attr)

    def inner(*a: Any, **kw: Any) -> Any:
        with timed(name):
            return fn(*a, **kw)

    setattr(obj, attr, inner)


def in_process(idx: Path, n: int, seed: int) -> None:
    import mmrag
    from mmrag.retrieve import search as search_mod
    from mmrag.server.app import hit_json, json_bytes

    engine = mmrag.open(str(idx))
    engine.search("warm up", k=1)
    cache = engine.query_cache()
    rng = random.Random(seed)
    queries = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 7))) for _ in range(n)]
    store = engine.store
    wrap(store, "text_search", "search: full-text (BM25) query")
    wrap(store, "search", "search: dense ANN query (+ row metadata)")
    wrap(engine._samples, "get", "search: calibration background")
    wrap(search_mod, "_relevance", "search: relevance")
    wrap(search_mod, "_diversify", "search: diversity")
    wrap(search_mod, "fuse_calibrated", "search: fusion")
    import mmrag.feedback as fb

    wrap(fb, "feedback_steer", "search: feedback (Rocchio)")
    for q in queries:
        cache._memory.clear()  # a new text: the encoder runs
        with timed("embed: new text (MiniLM)"):
            query = engine.embed_query(q)
        with timed("embed: repeated text (query cache)"):
            query = engine.embed_query(q)
        with timed("Engine.search (all of it)"):
            hits = engine.search(query=query, k=10)
        with timed("response: hit_json x10"):
            body = {"query": q, "notes": list(query.notes), "hits": [hit_json(h) for h in hits]}
        with timed("response: json_bytes"):
            json_bytes(body)
    engine.close()


def over_http(idx: Path, n: int) -> None:
    import httpx

    proc, url = start_server(idx, REPO / "src")
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            for name, call in (
                ("HTTP: GET /healthz (server CPU)", lambda i: client.get("/healthz")),
                ("HTTP: POST /search, repeated text (server CPU)", lambda i: client.post("/search", data={"q": "storm over the harbour", "k": "10"})),
            ):
                call(0)
                c0, w0 = cpu_seconds(proc.pid), time.perf_counter()
                for i in range(n):
                    assert call(i).status_code == 200
                t = TIMES[name]
                t[0] += time.perf_counter() - w0
                t[1] += cpu_seconds(proc.pid) - c0
                t[2] += n
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--work", type=Path, default=REPO / ".cache" / "bench-serve")
    ap.add_argument("--no-http", action="store_true")
    args = ap.parse_args()
    idx = build_index(args.work, 10_000)
    load0 = os.getloadavg()[0]
    in_process(idx, args.n, args.seed)
    if not args.no_http:
        over_http(idx, args.n)
    print(f"\n{args.n} queries, load average {load0:.1f}-{os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs")
    print("| stage | calls | wall / call | CPU / call |")
    print("|---|---|---|---|")
    for name, (w, c, k) in TIMES.items():
        print(f"| {name} | {k} | {1000 * w / k:.2f} ms | {1000 * c / k:.2f} ms |")


if __name__ == "__main__":
    main()
