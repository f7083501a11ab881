"""Search latency and recall: mmrag's store vs numpy brute force, Chroma and LanceDB's own ANN.

All in one run, on the same data and queries:

- data: ``--n`` clustered unit vectors (``--clusters`` Gaussian clusters in
  ``--dim`` dims, normalised), stored as ``channel = 'image'`` rows;
- queries: ``--queries`` vectors drawn near cluster centres (not from the data);
- truth: exact top-``k`` by inner product (numpy);
- mmrag: ``store.search(q, k, where="channel = 'image'")`` -- the call the
  engine makes (``retrieve/search.py``), rows with full metadata returned;
  the query embedding is not part of the timing;
- numpy: brute force ``X @ q`` + ``argpartition`` per query;
- Chroma embedded (``EphemeralClient``, HNSW ``ip``, ``embedding_function=None``),
  queried with and without the same ``where``, returning metadatas;
- LanceDB IVF_HNSW_SQ (+ ``refine_factor``) on the store's own table.

Prints recall@k vs exact and p50/p99 latency per system, and p50 ratios vs
Chroma. Usage::

    python bench/bench_search.py                 # 200k x 512, the reference run (~10 min on 2 cores)
    python bench/bench_search.py --n 20000       # quick run
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from mmrag.config import Config
from mmrag.stores.base import Row
from mmrag.stores.lance import LanceStore


def make_data(n: int, dim: int, clusters: int, queries: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    data = np.empty((n, dim), dtype=np.float32)
    for lo in range(0, n, 50_000):
        hi = min(n, lo + 50_000)
        chunk = centres[rng.integers(0, clusters, hi - lo)]
        chunk += rng.standard_normal((hi - lo, dim)).astype(np.float32) * (noise / np.sqrt(dim))
        data[lo:hi] = chunk / np.linalg.norm(chunk, axis=1, keepdims=True)
    q = centres[rng.integers(0, clusters, queries)]
    q = q + rng.standard_normal(q.shape).astype(np.float32) * (noise / np.sqrt(dim))
    return data, (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)


def exact_topk(data: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    out = np.empty((len(queries), k), dtype=np.int64)
    for lo in range(0, len(queries), 50):
        scores = queries[lo:lo + 50] @ data.T
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1)
        out[lo:lo + 50] = np.take_along_axis(part, order, axis=1)
    return out


def timed(run: Callable[[np.ndarray], list[int]], queries: np.ndarray, warmup: int = 10) -> tuple[np.ndarray, list[list[int]]]:
    for q in queries[:warmup]:
        run(q)
    lat, found = [], []
    for q in queries:
        t0 = time.perf_counter()
        got = run(q)
        lat.append(time.perf_counter() - t0)
        found.append(got)
    return np.asarray(lat) * 1000.0, found


def recall(found: list[list[int]], truth: np.ndarray) -> float:
    k = truth.shape[1]
    return float(np.mean([len(set(f[:k]) & set(t.tolist())) / k for f, t in zip(found, truth)]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--clusters", type=int, default=3000)
    ap.add_argument("--noise", type=float, default=1.0, help="noise norm relative to the unit cluster centre")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--m", type=int, default=16, help="HNSW M for mmrag (store.hnsw_m) and Chroma")
    ap.add_argument("--ef-construction", type=int, default=100)
    ap.add_argument("--ef-search", type=int, default=128)
    ap.add_argument("--no-chroma", action="store_true")
    ap.add_argument("--no-lance-ann", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    k = args.k
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

    print(f"data: {args.n} x {args.dim}, {args.clusters} clusters, noise {args.noise}; {args.queries} queries; "
          f"k={k}; cpus={os.cpu_count()}", flush=True)
    t0 = time.perf_counter()
    data, queries = make_data(args.n, args.dim, args.clusters, args.queries, args.noise, args.seed)
    truth = exact_topk(data, queries, k)
    print(f"generated + exact truth in {time.perf_counter() - t0:.1f}s", flush=True)
    results: dict[str, tuple[float, np.ndarray]] = {}
    build: dict[str, float] = {}

    # -- numpy brute force ------------------------------------------------------------
    def brute(q: np.ndarray) -> list[int]:
        s = data @ q
        part = np.argpartition(-s, k - 1)[:k]
        return part[np.argsort(-s[part])].tolist()

    lat, found = timed(brute, queries)
    results["numpy brute force"] = (recall(found, truth), lat)

    # -- mmrag LanceStore -----------------------------------------------------------
    tmp = tempfile.TemporaryDirectory(prefix="mmrag-bench-")
    cfg = Config().with_overrides({"store.hnsw_m": args.m, "store.hnsw_ef_construction": args.ef_construction,
                                   "store.hnsw_ef_search": args.ef_search})
    store = LanceStore(str(Path(tmp.name) / "index"), args.dim, cfg)
    t0 = time.perf_counter()
    for lo in range(0, args.n, 20_000):
        store.upsert([Row(id=f"seg{i}:image", segment_id=f"seg{i}", source=f"photos/{i // 100}/img{i}.jpg",
                          source_hash=f"{i // 100:08x}", modality="image", channel="image", vector=data[i],
                          meta='{"camera": "x"}', added_at=1.7e9 + i)
                      for i in range(lo, min(args.n, lo + 20_000))])
        print(f"  mmrag upsert {min(args.n, lo + 20_000)}/{args.n}  {time.perf_counter() - t0:.0f}s", flush=True)
    build["mmrag LanceStore"] = time.perf_counter() - t0
    mode = store._indexes["image"].mode

    def mm(q: np.ndarray) -> list[int]:
        return [int(s.row.segment_id[3:]) for s in store.search(q, k, "channel = 'image'")]

    lat, found = timed(mm, queries)
    results[f"mmrag store.search ({mode})"] = (recall(found, truth), lat)
    t0 = time.perf_counter()
    store.close()
    saved = time.perf_counter() - t0
    t0 = time.perf_counter()
    store = LanceStore(str(Path(tmp.name) / "index"), args.dim, cfg)
    reopened = time.perf_counter() - t0
    lat, found = timed(mm, queries)
    results["mmrag after reopen"] = (recall(found, truth), lat)
    print(f"mmrag: index saved in {saved:.1f}s, reopened (rows + HNSW from disk) in {reopened:.1f}s", flush=True)

    # -- LanceDB's own ANN -----------------------------------------------------------
    if not args.no_lance_ann:
        from lancedb.index import IvfHnswSq

        table = store._table
        t0 = time.perf_counter()
        table.create_index("vector", config=IvfHnswSq(distance_type="dot", num_partitions=max(1, args.n // 4096)))
        build["LanceDB IVF_HNSW_SQ"] = time.perf_counter() - t0

        def lance(q: np.ndarray) -> list[int]:
            res = (table.search(q).distance_type("dot").where("channel = 'image'", prefilter=True)
                   .nprobes(20).refine_factor(10).limit(k).select(["segment_id", "source", "meta", "_distance"])
                   .to_arrow())
            return [int(s[3:]) for s in res.column("segment_id").to_pylist()]

        lat, found = timed(lance, queries)
        results["LanceDB IVF_HNSW_SQ+refine"] = (recall(found, truth), lat)
    store.close()
    gc.collect()

    # -- Chroma embedded --------------------------------------------------------------
    if not args.no_chroma:
        import chromadb

        client = chromadb.EphemeralClient()
        col = client.create_collection("mmrag-bench", embedding_function=None, configuration={
            "hnsw": {"space": "ip", "ef_construction": args.ef_construction, "max_neighbors": args.m,
                     "ef_search": args.ef_search}})
        t0 = time.perf_counter()
        step = min(5000, client.get_max_batch_size())
        for lo in range(0, args.n, step):
            hi = min(args.n, lo + step)
            col.add(ids=[f"seg{i}:image" for i in range(lo, hi)], embeddings=data[lo:hi],
                    metadatas=[{"channel": "image", "source": f"photos/{i // 100}/img{i}.jpg", "segment_id": f"seg{i}"}
                               for i in range(lo, hi)])
            if hi % 50_000 < step:
                print(f"  chroma add {hi}/{args.n}  {time.perf_counter() - t0:.0f}s", flush=True)
        col.query(query_embeddings=queries[:1], n_results=k)  # index fully built before timing
        build["Chroma"] = time.perf_counter() - t0

        def chroma(q: np.ndarray, where: dict | None = None) -> list[int]:
            r = col.query(query_embeddings=q[None, :], n_results=k, where=where, include=["metadatas", "distances"])
            return [int(i.split(":")[0][3:]) for i in r["ids"][0]]

        lat, found = timed(lambda q: chroma(q), queries)
        results["Chroma (no filter)"] = (recall(found, truth), lat)
        lat, found = timed(lambda q: chroma(q, {"channel": "image"}), queries)
        results["Chroma (where channel)"] = (recall(found, truth), lat)

    # -- report ----------------------------------------------------------------------------
    chroma_p50 = min((float(np.median(v[1])) for n, v in results.items() if n.startswith("Chroma")), default=None)
    print()
    print(f"{'system':32s} {'recall@' + str(k):>10s} {'p50 ms':>9s} {'p99 ms':>9s} {'Chroma p50 / p50':>17s}")
    for name, (rec, lat) in results.items():
        p50, p99 = float(np.median(lat)), float(np.percentile(lat, 99))
        ratio = f"{chroma_p50 / p50:16.2f}x" if chroma_p50 else f"{'-':>17s}"
        print(f"{name:32s} {rec:10.4f} {p50:9.3f} {p99:9.3f} {ratio}")
    print()
    for name, secs in build.items():
        print(f"build/insert {name}: {secs:.1f}s")
    tmp.cleanup()


if __name__ == "__main__":
    main()
