"""Scale: the LanceDB store before and after bounded memory, numpy and Chroma, each in its own process.

One run, the same data for every system: ``--n`` clustered 384-d unit
vectors (``bench_search.make_data``), each a text chunk of 200 characters in
a file of ``--chunks-per-file`` chunks (``channel = 'text'``). Systems:

- ``old``: the store before this change (``bench/baseline_lance``: hnswlib
  M32/efC200/ef128 as shipped, every row's metadata as Python objects);
- ``new``: ``mmrag.stores.lance.LanceStore`` (faiss IVF of float16 vectors,
  memory-mapped sidecar, metadata of the hits read by key with one pread each;
  before issue 11's second pass: usearch float16 HNSW);
- ``numpy``: an exact scan over a float32 ``.npy`` matrix (loaded in memory);
- ``chroma``: ``chromadb.PersistentClient`` (HNSW ip, M16, efC 100, ef 64),
  texts as documents, the query returns documents and metadatas.

Phases (every system in a fresh child process, figures from ``getrusage``):

1. ``ingest``: ``--ingest`` chunks written the way ``mmrag add`` writes them:
   old = one ``replace_source`` per file (one commit per file), new =
   ``replace_sources`` per batch of 64 files (the pipeline's batch).
   Vectors are precomputed: the encoder is not timed. Rows per CPU-second
   (user + system, all threads) and peak RSS. ``--ingest-old`` caps the old
   path's rows (it is slow); its rate is then over those rows only.
2. ``build``: the ``--n`` rows into each system in batches of 20k; build CPU-s.
3. ``search``: a process opens an EMPTY index of that system and searches it
   (baseline peak RSS), then opens the real one: cold open + first search
   (wall and CPU; the page cache is warm: the files were just written), then
   ``--queries`` searches: p50 and recall@10 against numpy's exact top 10.
   "index memory" = resident memory (VmRSS) after the searches minus that
   after the empty index's search, in the same process (a peak-minus-peak
   figure hid whole indexes under import-time peaks). Beside the wall-clock
   p50, the p50 of the searching thread's CPU time (``thread_time``): on this
   shared machine a query's wall time is mostly waiting for a core. The data set is not in
   the search process: queries and exact top-10 come from the parent.

Usage::

    nice -n 10 python bench/bench_scale.py --n 200000 --ingest 100000 --workdir /tmp/scale
    python bench/bench_scale.py --n 20000 --ingest 5000 --workdir /tmp/scale-small   # quick
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

from bench_search import exact_topk

DIM, CLUSTERS, NOISE, K, FILE_BATCH = 384, 3000, 1.0, 10, 64
WORDS = [f"{a}{b}" for a in ("ka", "lo", "mi", "nu", "pe", "ra", "si", "tu", "ve", "zo") for b in
         ("ba", "da", "fe", "gi", "ho", "ju", "ke", "lu", "mo", "ni", "po", "qu", "re", "sa", "ti", "vo")]


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM). Not ``ru_maxrss``: Linux carries the parent's peak
    into an exec'd child's ``ru_maxrss`` (a parent holding the data set inflated every child's figure)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def rss_mb() -> float:
    """Resident memory now (VmRSS): import-time peaks would hide an index under a peak-minus-peak figure."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return peak_mb()


def write_data(work: Path, n: int, queries: int, seed: int = 0) -> np.ndarray:
    """``bench_search.make_data``'s vectors, identical, written chunk by chunk to ``work/data.npy``
    (reused when present); returns the queries. Nobody holds the whole data set in memory."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((CLUSTERS, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    path, done = work / "data.npy", work / "data.json"
    spec = {"n": n, "dim": DIM, "clusters": CLUSTERS, "noise": NOISE, "seed": seed}
    fresh = not (path.exists() and done.exists() and json.loads(done.read_text()) == spec)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, DIM)) if fresh else None
    for lo in range(0, n, 50_000):  # the same draws, in the same order, as make_data
        hi = min(n, lo + 50_000)
        chunk = centres[rng.integers(0, CLUSTERS, hi - lo)]
        chunk += rng.standard_normal((hi - lo, DIM)).astype(np.float32) * (NOISE / np.sqrt(DIM))
        if out is not None:
            out[lo:hi] = chunk / np.linalg.norm(chunk, axis=1, keepdims=True)
    if out is not None:
        out.flush()
        del out
        done.write_text(json.dumps(spec))
    q = centres[rng.integers(0, CLUSTERS, queries)]
    q = q + rng.standard_normal(q.shape).astype(np.float32) * (NOISE / np.sqrt(DIM))
    return (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)


def read_data(work: Path, lo: int, hi: int) -> np.ndarray:
    """Rows ``lo:hi`` of ``work/data.npy`` by a plain read (no mapping: nothing else becomes resident)."""
    with open(work / "data.npy", "rb") as fh:
        np.lib.format.read_magic(fh)
        shape, _, _ = np.lib.format.read_array_header_1_0(fh)
        hi = min(hi, shape[0])
        fh.seek(fh.tell() + lo * DIM * 4)
        return np.fromfile(fh, dtype=np.float32, count=(hi - lo) * DIM).reshape(hi - lo, DIM)


def exact_truth(work: Path, n: int, queries: np.ndarray) -> np.ndarray:
    """Exact top-K row numbers of every query over the first ``n`` rows, read in chunks."""
    best_s = np.full((len(queries), K), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(queries), K), dtype=np.int64)
    for lo in range(0, n, 100_000):
        chunk = read_data(work, lo, min(n, lo + 100_000))
        part = exact_topk(chunk, queries, K) + lo
        s = np.concatenate([best_s, np.take_along_axis(queries @ chunk.T, part - lo, axis=1)], axis=1)
        i = np.concatenate([best_i, part], axis=1)
        order = np.argsort(-s, axis=1, kind="stable")[:, :K]
        best_s, best_i = np.take_along_axis(s, order, axis=1), np.take_along_axis(i, order, axis=1)
    return best_i


def texts(lo: int, hi: int) -> list[str]:
    rng = np.random.default_rng(lo)
    out = []
    for i in range(lo, hi):
        words = [WORDS[j] for j in rng.integers(0, len(WORDS), 60)]
        out.append((f"chunk {i} " + " ".join(words))[:200])
    return out


def rows(data: np.ndarray | Path, lo: int, hi: int, per_file: int) -> list:
    """Rows ``lo:hi``; ``data`` is the vectors (row i at i) or the work folder holding ``data.npy``."""
    from mmrag.stores.base import Row

    vecs = read_data(data, lo, hi) if isinstance(data, Path) else data[lo:hi]
    return [
        Row(id=f"seg{i}:text", segment_id=f"seg{i}", source=f"docs/{i // per_file}.txt", source_hash=f"{i // per_file:08x}",
            modality="text", channel="text", vector=vecs[i - lo], text=t, start=(i % per_file) * 200,
            end=(i % per_file) * 200 + 200, meta=json.dumps({"chunk": i % per_file}), added_at=1.7e9 + i)
        for i, t in zip(range(lo, hi), texts(lo, hi))
    ]


def open_store(system: str, path: Path):
    """The store with the defaults, plus any ``MMRAG_STORE_*`` environment settings (e.g. the search's
    ``MMRAG_STORE_ANN_NPROBE``; a ./mmrag.toml would be read too)."""
    from mmrag.config import load_config

    cfg = load_config(path=None, environ={k: v for k, v in os.environ.items() if k.startswith("MMRAG_STORE_")})
    if system == "old":
        from baseline_lance import LanceStore as Old

        return Old(str(path), DIM, cfg)
    from mmrag.stores.lance import LanceStore

    return LanceStore(str(path), DIM, cfg)


def chroma_collection(path: Path):
    import chromadb

    client = chromadb.PersistentClient(path=str(path))
    return client.get_or_create_collection(
        "bench", embedding_function=None,
        configuration={"hnsw": {"space": "ip", "ef_construction": 100, "max_neighbors": 16, "ef_search": 64}},
    )


# -- child phases -----------------------------------------------------------------------
def child_ingest(system: str, work: Path, n: int, per_file: int) -> dict:
    path = work / f"ingest-{system}"
    shutil.rmtree(path, ignore_errors=True)
    store = open_store(system, path)
    c0, t0 = cpu(), time.perf_counter()
    files = [(lo, min(n, lo + per_file)) for lo in range(0, n, per_file)]
    for at in range(0, len(files), FILE_BATCH):
        batch = [(f"docs/{lo // per_file}.txt", rows(work, lo, hi, per_file)) for lo, hi in files[at : at + FILE_BATCH]]
        if system == "old":
            for source, rs in batch:
                store.replace_source(source, rs)
        else:
            store.replace_sources(batch)
    store.close()
    took, used = time.perf_counter() - t0, cpu() - c0
    return {"rows": n, "wall_s": took, "cpu_s": used, "rows_per_cpu_s": n / used, "peak_mb": peak_mb()}


def child_build(system: str, work: Path, n: int, per_file: int) -> dict:
    path = work / f"index-{system}"
    shutil.rmtree(path, ignore_errors=True)
    c0, t0 = cpu(), time.perf_counter()
    stages: dict[str, float] = {"start_rss_mb": rss_mb()}
    if system == "numpy":
        path.mkdir(parents=True)
        out = np.lib.format.open_memmap(path / "vectors.npy", mode="w+", dtype=np.float32, shape=(n, DIM))
        for lo in range(0, n, 100_000):
            out[lo : min(n, lo + 100_000)] = read_data(work, lo, min(n, lo + 100_000))
        out.flush()
        del out
    elif system == "chroma":
        col = chroma_collection(path)
        for lo in range(0, n, 5000):
            hi = min(n, lo + 5000)
            col.add(ids=[f"seg{i}:text" for i in range(lo, hi)], embeddings=read_data(work, lo, hi), documents=texts(lo, hi),
                    metadatas=[{"source": f"docs/{i // per_file}.txt", "segment_id": f"seg{i}", "channel": "text"} for i in range(lo, hi)])
    else:
        store = open_store(system, path)
        for lo in range(0, n, 20_000):
            store.upsert(rows(work, lo, min(n, lo + 20_000), per_file))
            print(f"  {system}: {min(n, lo + 20_000)}/{n} rows {time.perf_counter() - t0:.0f}s RSS {rss_mb():.0f} MB "
                  f"peak {peak_mb():.0f} MB", file=sys.stderr, flush=True)
        stages["before_close_rss_mb"], stages["before_close_peak_mb"] = rss_mb(), peak_mb()
        store.close()
        stages["after_close_rss_mb"] = rss_mb()
    took, used = time.perf_counter() - t0, cpu() - c0
    return {"rows": n, "wall_s": took, "cpu_s": used, "rows_per_cpu_s": n / used, "peak_mb": peak_mb(), **stages}


def searcher(system: str, path: Path):
    """(open, search) for a system; search returns row numbers best first, with the hit's text fetched."""
    if system == "numpy":
        matrix = np.load(path / "vectors.npy")

        def search(q: np.ndarray) -> list[int]:
            s = matrix @ q
            part = np.argpartition(-s, K - 1)[:K]
            return part[np.argsort(-s[part])].tolist()
        return search
    if system == "chroma":
        col = chroma_collection(path)

        def search(q: np.ndarray) -> list[int]:
            res = col.query(query_embeddings=q[None], n_results=K, include=["documents", "metadatas", "distances"])
            return [int(i[3:].split(":")[0]) for i in res["ids"][0]]
        return search
    store = open_store(system, path)

    def search(q: np.ndarray) -> list[int]:  # the engine's call: full rows back, channel filter
        return [int(s.row.segment_id[3:]) for s in store.search(q, K, "channel = 'text'") if s.row.text]
    search.store = store  # type: ignore[attr-defined]
    return search


def child_search(system: str, work: Path, n: int, per_file: int) -> dict:
    # the data set is not in this process (its peak would hide the index's): queries + truth come from the parent
    warm = system.endswith("+warm")  # the store as `mmrag serve` opens it: lists read in ahead of the searches
    system = system.removesuffix("+warm")
    queries, truth = np.load(work / "queries.npy"), np.load(work / "truth.npy")
    one = queries[:1] / np.linalg.norm(queries[:1])
    empty = work / f"empty-{system}"
    shutil.rmtree(empty, ignore_errors=True)
    if system == "numpy":
        empty.mkdir(parents=True)
        np.save(empty / "vectors.npy", np.zeros((K, DIM), np.float32))
    elif system == "chroma":
        chroma_collection(empty).add(ids=["seg0:text"], embeddings=one, documents=["x"], metadatas=[{"source": "x"}])
    else:
        store = open_store(system, empty)
        store.upsert(rows(one, 0, 1, per_file))
        store.close()
    searcher(system, empty)(queries[0])
    base = rss_mb()
    c0, t0 = cpu(), time.perf_counter()
    search = searcher(system, work / f"index-{system}")
    search(queries[0])
    cold_wall, cold_cpu = time.perf_counter() - t0, cpu() - c0
    warm_s, warm_mb = 0.0, 0.0
    if warm:  # here in the foreground, timed (the server does it in a background thread)
        t1 = time.perf_counter()
        warm_mb = search.store.warm(background=False) / 2**20
        warm_s = time.perf_counter() - t1
    for q in queries[:10]:
        search(q)
    lat, on_cpu, found = [], [], []
    for q in queries:
        t, c = time.perf_counter(), time.thread_time()
        found.append(search(q))
        lat.append(time.perf_counter() - t)
        on_cpu.append(time.thread_time() - c)
    rec = float(np.mean([len(set(f) & set(t.tolist())) / K for f, t in zip(found, truth)]))
    return {"cold_wall_s": cold_wall, "cold_cpu_s": cold_cpu, "p50_ms": 1000 * float(np.median(lat)),
            "cpu_p50_ms": 1000 * float(np.median(on_cpu)),
            "p99_ms": 1000 * float(np.percentile(lat, 99)), "recall": rec, "index_mb": rss_mb() - base,
            "baseline_mb": base, "warm_s": warm_s, "warm_mb": warm_mb}


# -- parent ---------------------------------------------------------------------------------
def drop_caches() -> str:
    """Empty the OS page cache (Linux, root), so the next process reads the index from disk."""
    subprocess.run(["sync"], check=False)
    try:
        with open("/proc/sys/vm/drop_caches", "w") as fh:
            fh.write("1\n")
        return "emptied"
    except OSError as exc:
        return f"not emptied ({exc.strerror})"


def run_child(args: argparse.Namespace, phase: str, system: str, n: int, timeout: float) -> dict | None:
    cmd = [sys.executable, __file__, "--child", phase, "--system", system, "--n", str(n), "--workdir", str(args.workdir),
           "--queries", str(args.queries), "--chunks-per-file", str(args.chunks_per_file), "--data-n", str(args.data_n)]
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False", "PYTHONPATH": f"{HERE.parent / 'src'}:{HERE}"}
    try:
        with open(Path(args.workdir) / f"{phase}-{system}.log", "w") as log:  # the child's progress lines
            out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=log, text=True, timeout=timeout, env=env, check=False)
    except subprocess.TimeoutExpired:
        print(f"  {phase} {system}: over {timeout:.0f}s, stopped", flush=True)
        return None
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    tail = (Path(args.workdir) / f"{phase}-{system}.log").read_text(errors="replace")[-3000:]
    print(f"  {phase} {system} failed:\n{tail}", flush=True)
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--ingest", type=int, default=100_000, help="chunks for the ingest phase (0: skip)")
    ap.add_argument("--ingest-old", type=int, default=0, help="cap the old path's ingest rows (0: all)")
    ap.add_argument("--chunks-per-file", type=int, default=10)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--systems", default="old,new,numpy,chroma")
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per child process")
    ap.add_argument("--search-only", action="store_true", help="reuse the indexes built in --workdir by an earlier run")
    ap.add_argument("--warm", action="store_true",
                    help="search the mmrag store a second time as `mmrag serve` opens it (store.ann_warm: lists read in first)")
    ap.add_argument("--drop-caches", action="store_true",
                    help="before each search process, empty the OS page cache (needs root): a cold disk, not just a cold process")
    ap.add_argument("--child", choices=["ingest", "build", "search"])
    ap.add_argument("--system")
    ap.add_argument("--data-n", type=int, default=0)
    args = ap.parse_args()
    args.data_n = args.data_n or max(args.n, args.ingest, args.queries)
    if args.child == "search":
        print("RESULT " + json.dumps(child_search(args.system, args.workdir, args.n, args.chunks_per_file)), flush=True)
        return
    if args.child:
        fn = {"ingest": child_ingest, "build": child_build}[args.child]
        print("RESULT " + json.dumps(fn(args.system, args.workdir, args.n, args.chunks_per_file)), flush=True)
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    queries = write_data(args.workdir, args.data_n, args.queries)
    systems = args.systems.split(",")
    if "chroma" in systems:
        try:
            import chromadb  # noqa: F401
        except ImportError:
            print("chroma: skipped (chromadb is not installed; pip install -e \".[bench]\")")
            systems.remove("chroma")
    print(f"data: {args.data_n} x {DIM}, {CLUSTERS} clusters; texts 200 chars; {args.chunks_per_file} chunks a file; "
          f"cpus {os.cpu_count()}; load {os.getloadavg()[0]:.1f}", flush=True)
    if args.search_only:
        args.ingest = 0
    if args.ingest:
        print(f"\n== ingest: {args.ingest} chunks, as mmrag add writes them (vectors precomputed)", flush=True)
        ing = {}
        for system in [s for s in ("old", "new") if s in systems]:
            n = args.ingest_old if system == "old" and args.ingest_old else args.ingest
            ing[system] = r = run_child(args, "ingest", system, n, args.timeout)
            if r:
                print(f"  {system:6s} {r['rows']:7d} rows  {r['wall_s']:7.1f} s wall  {r['cpu_s']:7.1f} CPU-s  "
                      f"{r['rows_per_cpu_s']:7.0f} rows/CPU-s  peak RSS {r['peak_mb']:6.0f} MB", flush=True)
        if ing.get("old") and ing.get("new"):
            print(f"  new/old rows per CPU-second: {ing['new']['rows_per_cpu_s'] / ing['old']['rows_per_cpu_s']:.1f}x", flush=True)
    if not args.n:
        return
    print(f"\n== build: {args.n} rows in batches of 20k", flush=True)
    built = {}
    for system in systems:
        if args.search_only:
            built[system] = {"reused": True}
            continue
        built[system] = r = run_child(args, "build", system, args.n, args.timeout)
        if r:
            print(f"  {system:6s} {r['wall_s']:7.1f} s wall  {r['cpu_s']:7.1f} CPU-s  {r['rows_per_cpu_s']:7.0f} rows/CPU-s  "
                  f"peak RSS {r['peak_mb']:6.0f} MB  (RSS at start {r['start_rss_mb']:.0f} MB; before close: "
                  f"{r.get('before_close_rss_mb', 0):.0f} MB, peak {r.get('before_close_peak_mb', 0):.0f} MB)", flush=True)
    np.save(args.workdir / "queries.npy", queries)
    np.save(args.workdir / "truth.npy", exact_truth(args.workdir, args.n, queries))
    print(f"\n== search: {args.queries} queries, k={K}, each system in a fresh process", flush=True)
    found = {}
    searched = [s for s in systems if built.get(s)]
    if args.warm and "new" in searched:
        searched.insert(searched.index("new") + 1, "new+warm")
    for system in searched:
        if args.drop_caches:
            print(f"  page cache: {drop_caches()}", flush=True)
        found[system] = r = run_child(args, "search", system, args.n, args.timeout)
        if r and r.get("warm_s"):
            print(f"  {system}: read {r['warm_mb']:.0f} MB of lists in {r['warm_s']:.2f} s before the searches", flush=True)
        if r:
            print(f"  {system:6s} index memory {r['index_mb']:6.0f} MB  cold open+first search {r['cold_wall_s']:6.2f} s wall "
                  f"{r['cold_cpu_s']:6.2f} CPU-s  recall@10 {r['recall']:.3f}  p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms  "
                  f"(CPU of the searching thread, p50 {r['cpu_p50_ms']:.2f} ms)",
                  flush=True)
    if found.get("old") and found.get("new"):
        o, w = found["old"], found["new"]
        print(f"\n  new vs old: index memory {w['index_mb'] / max(o['index_mb'], 1):.2f}x, cold open {w['cold_wall_s'] / o['cold_wall_s']:.2f}x, "
              f"p50 {w['p50_ms'] / o['p50_ms']:.2f}x", flush=True)


if __name__ == "__main__":
    main()
