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
- Chroma embedded (``EphemeralClient``, or ``PersistentClient`` with
  ``--chroma persistent``; HNSW ``ip``, same M/ef as mmrag,
  ``embedding_function=None``), queried without and (first 30 queries) with
  the same ``where``, returning metadatas;
- LanceDB IVF_HNSW_SQ (+ ``refine_factor``) on the store's own table.

Queries are timed interleaved (every system on query 1, then on query 2, in
rotating order), so a busy machine slows all systems alike. Prints recall@k
vs exact, p50/p99 latency per system, and p50 ratios vs Chroma. Usage::

    python bench/bench_search.py                 # 200k x 512, the reference run (~10 min on 2 cores)
    python bench/bench_search.py --n 20000       # quick run
    python bench/bench_search.py --workdir .cache/bench   # keep/reuse the built indexes
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import shutil
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


def make_data(
    n: int, dim: int, clusters: int, queries: int, noise: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
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
        scores = queries[lo : lo + 50] @ data.T
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1)
        out[lo : lo + 50] = np.take_along_axis(part, order, axis=1)
    return out


def interleaved(
    systems: dict[str, Callable[[np.ndarray], list[int]]],
    queries: np.ndarray,
    limits: dict[str, int] | None = None,
    warmup: int = 10,
) -> dict[str, tuple[np.ndarray, list[list[int]]]]:
    """Time every system on every query, rotating the order per query.

    Interleaving makes a busy machine slow every system alike instead of
    whichever happened to run during a burst of load. ``limits`` caps the
    number of queries for very slow systems (the first N queries).
    """
    limits = limits or {}
    names = list(systems)
    for q in queries[:warmup]:
        for name in names:
            systems[name](q)
    lat: dict[str, list[float]] = {n: [] for n in names}
    found: dict[str, list[list[int]]] = {n: [] for n in names}
    for i, q in enumerate(queries):
        for j in range(len(names)):
            name = names[(i + j) % len(names)]
            if i >= limits.get(name, len(queries)):
                continue
            t0 = time.perf_counter()
            got = systems[name](q)
            lat[name].append(time.perf_counter() - t0)
            found[name].append(got)
    return {n: (np.asarray(lat[n]) * 1000.0, found[n]) for n in names}


def recall(found: list[list[int]], truth: np.ndarray) -> float:
    k = truth.shape[1]
    return float(np.mean([len(set(f[:k]) & set(t.tolist())) / k for f, t in zip(found, truth[: len(found)])]))


def build_mmrag(path: Path, data: np.ndarray, cfg: Config, reuse: bool) -> tuple[LanceStore, float]:
    if reuse and (path / "rows.lance").is_dir():
        t0 = time.perf_counter()
        store = LanceStore(str(path), data.shape[1], cfg)
        if store.count("channel = 'image'") == len(data):
            print(f"mmrag: reused {path} (opened in {time.perf_counter() - t0:.1f}s)", flush=True)
            return store, float("nan")
        store.close()
        shutil.rmtree(path)
    store = LanceStore(str(path), data.shape[1], cfg)
    t0 = time.perf_counter()
    for lo in range(0, len(data), 20_000):
        hi = min(len(data), lo + 20_000)
        store.upsert(
            [
                Row(
                    id=f"seg{i}:image",
                    segment_id=f"seg{i}",
                    source=f"photos/{i // 100}/img{i}.jpg",
                    source_hash=f"{i // 100:08x}",
                    modality="image",
                    channel="image",
                    vector=data[i],
                    meta='{"camera": "x"}',
                    added_at=1.7e9 + i,
                )
                for i in range(lo, hi)
            ]
        )
        print(f"  mmrag upsert {hi}/{len(data)}  {time.perf_counter() - t0:.0f}s", flush=True)
    built = time.perf_counter() - t0
    t0 = time.perf_counter()
    store.close()
    saved = time.perf_counter() - t0
    t0 = time.perf_counter()
    store = LanceStore(str(path), data.shape[1], cfg)
    print(
        f"mmrag: index saved in {saved:.1f}s, reopened (rows + HNSW from disk) in "
        f"{time.perf_counter() - t0:.1f}s",
        flush=True,
    )
    return store, built


def build_chroma(path: Path, data: np.ndarray, args: argparse.Namespace, reuse: bool) -> tuple[object, float]:
    import chromadb

    if args.chroma == "ephemeral":
        client = chromadb.EphemeralClient()
    else:
        if not reuse and path.exists():
            shutil.rmtree(path)
        client = chromadb.PersistentClient(path=str(path))
    col = client.get_or_create_collection(
        "mmrag-bench",
        embedding_function=None,
        configuration={
            "hnsw": {
                "space": "ip",
                "ef_construction": args.ef_construction,
                "max_neighbors": args.m,
                "ef_search": args.ef_search,
            }
        },
    )
    if col.count() == len(data):
        print(f"chroma: reused {path}", flush=True)
        return col, float("nan")
    if col.count():
        client.delete_collection("mmrag-bench")
        return build_chroma(path, data, args, reuse=False)
    t0 = time.perf_counter()
    step = min(5000, client.get_max_batch_size())
    for lo in range(0, len(data), step):
        hi = min(len(data), lo + step)
        col.add(
            ids=[f"seg{i}:image" for i in range(lo, hi)],
            embeddings=data[lo:hi],
            metadatas=[
                {"channel": "image", "source": f"photos/{i // 100}/img{i}.jpg", "segment_id": f"seg{i}"}
                for i in range(lo, hi)
            ],
        )
        if hi % 50_000 < step:
            print(f"  chroma add {hi}/{len(data)}  {time.perf_counter() - t0:.0f}s", flush=True)
    col.query(query_embeddings=data[:1], n_results=10)  # index fully built before timing
    return col, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--clusters", type=int, default=3000)
    ap.add_argument("--noise", type=float, default=1.0, help="noise norm relative to the unit cluster centre")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--m", type=int, default=16, help="HNSW M for Chroma")
    ap.add_argument("--nprobe", type=int, default=16, help="IVF lists an mmrag query reads (store.ann_nprobe)")
    ap.add_argument("--ef-construction", type=int, default=100)
    ap.add_argument("--ef-search", type=int, default=128)
    ap.add_argument("--no-chroma", action="store_true")
    ap.add_argument(
        "--chroma",
        choices=["ephemeral", "persistent"],
        default="ephemeral",
        help="in-memory client (default), or a PersistentClient kept in the work folder",
    )
    ap.add_argument(
        "--chroma-where-queries",
        type=int,
        default=30,
        help="queries for Chroma with a where filter (~1 s each at 200k)",
    )
    ap.add_argument("--no-lance-ann", action="store_true")
    ap.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="keep the built indexes here and reuse them on the next run with the same data",
    )
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    k = args.k
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

    print(
        f"data: {args.n} x {args.dim}, {args.clusters} clusters, noise {args.noise}; {args.queries} queries; "
        f"k={k}; mmrag IVF nprobe={args.nprobe}; Chroma HNSW M={args.m} efC={args.ef_construction} ef={args.ef_search}; "
        f"cpus={os.cpu_count()}",
        flush=True,
    )
    t0 = time.perf_counter()
    data, queries = make_data(args.n, args.dim, args.clusters, args.queries, args.noise, args.seed)
    truth = exact_topk(data, queries, k)
    print(f"generated + exact truth in {time.perf_counter() - t0:.1f}s", flush=True)
    tmp = None
    if args.workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="mmrag-bench-")
        work = Path(tmp.name)
    else:
        tag = f"n{args.n}-d{args.dim}-c{args.clusters}-z{args.noise}-s{args.seed}"
        tag += f"-m{args.m}-e{args.ef_construction}"
        work = args.workdir / tag
        work.mkdir(parents=True, exist_ok=True)
    reuse = args.workdir is not None
    systems: dict[str, Callable[[np.ndarray], list[int]]] = {}
    build: dict[str, float] = {}

    def brute(q: np.ndarray) -> list[int]:
        s = data @ q
        part = np.argpartition(-s, k - 1)[:k]
        return part[np.argsort(-s[part])].tolist()

    systems["numpy brute force"] = brute

    cfg = Config().with_overrides({"store.ann_nprobe": args.nprobe})
    store, build["mmrag LanceStore (upsert + IVF)"] = build_mmrag(work / "index", data, cfg, reuse)
    mode = store._indexes["image"].mode

    def mm(q: np.ndarray) -> list[int]:  # the engine's call: full rows back, channel filter
        return [int(s.row.segment_id[3:]) for s in store.search(q, k, "channel = 'image'")]

    systems[f"mmrag store.search ({mode})"] = mm

    if not args.no_lance_ann:
        from lancedb.index import IvfHnswSq

        table = store._table
        if not any(i.columns == ["vector"] for i in table.list_indices()):
            t0 = time.perf_counter()
            table.create_index(
                "vector", config=IvfHnswSq(distance_type="dot", num_partitions=max(1, args.n // 4096))
            )
            build["LanceDB IVF_HNSW_SQ"] = time.perf_counter() - t0

        def lance(q: np.ndarray) -> list[int]:
            res = (
                table.search(q)
                .distance_type("dot")
                .where("channel = 'image'", prefilter=True)
                .nprobes(20)
                .refine_factor(10)
                .limit(k)
                .select(["segment_id", "source", "meta", "_distance"])
                .to_arrow()
            )
            return [int(s[3:]) for s in res.column("segment_id").to_pylist()]

        systems["LanceDB IVF_HNSW_SQ+refine"] = lance

    if not args.no_chroma:
        try:
            import chromadb  # noqa: F401
        except ImportError:
            sys.exit('bench_search: Chroma is the baseline and chromadb is not installed: pip install -e ".[bench]" '
                     "(or run with --no-chroma)")
        col, build["Chroma"] = build_chroma(work / "chroma", data, args, reuse)

        def chroma(q: np.ndarray, where: dict | None = None) -> list[int]:
            r = col.query(
                query_embeddings=q[None, :],
                n_results=k,
                where=where,  # type: ignore[attr-defined]
                include=["metadatas", "distances"],
            )
            return [int(i.split(":")[0][3:]) for i in r["ids"][0]]

        systems[f"Chroma {args.chroma} (no filter)"] = lambda q: chroma(q)
        systems["Chroma (where channel)"] = lambda q: chroma(q, {"channel": "image"})

    print(f"timing {len(systems)} systems on {len(queries)} queries, interleaved ...", flush=True)
    results = interleaved(systems, queries, {"Chroma (where channel)": args.chroma_where_queries})
    store.close()
    gc.collect()

    chroma_p50 = min(
        (float(np.median(v[0])) for n, v in results.items() if n.startswith("Chroma")), default=None
    )
    print()
    print(
        f"{'system':34s} {'queries':>7s} {'recall@' + str(k):>10s} {'p50 ms':>9s} {'p99 ms':>9s} "
        f"{'Chroma p50 / p50':>17s}"
    )
    for name, (lat, found) in results.items():
        p50, p99 = float(np.median(lat)), float(np.percentile(lat, 99))
        ratio = f"{chroma_p50 / p50:16.2f}x" if chroma_p50 else f"{'-':>17s}"
        print(f"{name:34s} {len(lat):7d} {recall(found, truth):10.4f} {p50:9.3f} {p99:9.3f} {ratio}")
    print("(Chroma p50 = the faster of the two Chroma variants)")
    print()
    for name, secs in build.items():
        print(f"build/insert {name}: " + ("reused" if math.isnan(secs) else f"{secs:.1f}s"))
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
