"""ANN candidates for the store's vector index, standalone (no store): build CPU-s, recall@10, p50, memory.

Data: the first ``--n`` rows of bench_scale's ``data.npy`` (clustered, 3000
clusters, noise 1.0), or ``--noise X`` for a freshly drawn, less clustered set
(same generator, more noise). Queries: bench_scale's ``queries.npy`` (the first
``--queries``); exact top 10 by a float32 scan. Each candidate is built in this
process (CPU-s from getrusage, all threads), saved, then searched in a FRESH
child process that opens the saved file memory-mapped: "mem" = its VmRSS after
the searches minus VmRSS before opening (the pages the searches touched).

Candidates (``--cand``, comma separated):

- ``hnsw-f16-16``, ``hnsw-f16-32``, ``hnsw-i8-32``: usearch HNSW (dtype,
  connectivity; expansion_add 2*connectivity*2), ef from ``--efs``;
- ``ivf-f16``, ``ivf-sq8``: faiss IVF (inner product, nlist = ``--nlist`` or
  4*sqrt(n)), lists float16 / 8-bit; nprobe from ``--nprobes``;
- a ``+rr`` suffix re-ranks the top ``--rerank`` candidates exactly from a
  float16 vector file read with ``os.pread`` (page cache, not the process's memory).

    nice -n 10 python bench/ann_candidates.py --work /work/main/.cache/scale-1m --n 200000 --cand ivf-f16,hnsw-f16-16
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

DIM, K = 384, 10


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return 0.0


def load_data(work: Path, n: int, noise: float, queries: int) -> tuple[np.ndarray, np.ndarray]:
    """(data, queries): bench_scale's, or drawn here with ``noise`` (queries from the same centres)."""
    if noise <= 0:
        return np.load(work / "data.npy", mmap_mode="r")[:n].copy(), np.load(work / "queries.npy")[:queries]
    rng = np.random.default_rng(1)
    centres = rng.standard_normal((3000, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    x = centres[rng.integers(0, 3000, n + queries)]
    x += rng.standard_normal(x.shape).astype(np.float32) * (noise / np.sqrt(DIM))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x[:n], x[n:]


def exact(data: np.ndarray, queries: np.ndarray) -> np.ndarray:
    s = queries @ data.T
    part = np.argpartition(-s, K - 1, axis=1)[:, :K]
    return np.take_along_axis(part, np.argsort(-np.take_along_axis(s, part, axis=1), axis=1), axis=1)


def build(cand: str, data: np.ndarray, out: Path, nlist: int) -> float:
    c0 = cpu()
    base = cand.split("+")[0]
    ids = np.arange(len(data), dtype=np.int64)
    if base.startswith("hnsw"):
        from usearch.index import Index

        _, dtype, conn = base.split("-")
        index = Index(ndim=DIM, metric="ip", dtype=dtype, connectivity=int(conn), expansion_add=4 * int(conn))
        index.add(ids.astype(np.uint64), data, threads=2)
        index.save(str(out / "index.usearch"))
    else:
        import faiss

        qt = faiss.ScalarQuantizer.QT_fp16 if base == "ivf-f16" else faiss.ScalarQuantizer.QT_8bit
        index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(DIM), DIM, nlist, qt, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        sample = data[np.sort(rng.choice(len(data), min(len(data), 64 * nlist), replace=False))]
        index.train(sample)
        index.add_with_ids(data, ids)
        faiss.write_index(index, str(out / "index.faiss"))
    used = cpu() - c0
    if "+rr" in cand:
        data.astype(np.float16).tofile(out / "vectors.f16")
    return used


def child(cand: str, out: Path, queries: np.ndarray, truth: np.ndarray, knobs: list[int], rerank: int) -> dict:
    before = rss_mb()
    t0 = time.perf_counter()
    base = cand.split("+")[0]
    fd = os.open(out / "vectors.f16", os.O_RDONLY) if "+rr" in cand else -1
    if base.startswith("hnsw"):
        from usearch.index import Index

        index = Index.restore(str(out / "index.usearch"), view=True)

        def raw(q: np.ndarray, k: int, knob: int) -> np.ndarray:
            index.expansion_search = knob
            return np.asarray(index.search(q, k, threads=1).keys, dtype=np.int64)
    else:
        import faiss

        faiss.omp_set_num_threads(1)
        index = faiss.read_index(str(out / "index.faiss"), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)

        def raw(q: np.ndarray, k: int, knob: int) -> np.ndarray:
            index.nprobe = knob
            _, found = index.search(q[None], k)
            return found[0][found[0] >= 0]

    def search(q: np.ndarray, knob: int) -> np.ndarray:
        if fd < 0:
            return raw(q, K, knob)
        cands = np.sort(raw(q, rerank, knob))
        vecs = np.frombuffer(b"".join(os.pread(fd, DIM * 2, int(i) * DIM * 2) for i in cands), dtype=np.float16)
        s = vecs.reshape(-1, DIM).astype(np.float32) @ q
        return cands[np.argsort(-s)[:K]]

    search(queries[0], knobs[0])
    cold = time.perf_counter() - t0
    rows = []
    for knob in knobs:
        lat, rec = [], []
        for q, t in zip(queries, truth):
            s = time.perf_counter()
            found = search(q, knob)
            lat.append(time.perf_counter() - s)
            rec.append(len(set(found.tolist()) & set(t.tolist())) / K)
        rows.append({"knob": knob, "recall": float(np.mean(rec)), "p50_ms": 1000 * float(np.median(lat)),
                     "mem_mb": rss_mb() - before})
    return {"cold_s": cold, "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, required=True, help="bench_scale's work folder (data.npy, queries.npy)")
    ap.add_argument("--out", type=Path, default=Path("/tmp/ann-candidates"))
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--noise", type=float, default=0.0, help="> 0: draw a fresh set with this noise instead")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--cand", default="ivf-f16,hnsw-f16-16")
    ap.add_argument("--efs", default="64,128,256")
    ap.add_argument("--nprobes", default="8,16,32,64")
    ap.add_argument("--nlist", type=int, default=0)
    ap.add_argument("--rerank", type=int, default=100)
    ap.add_argument("--child")
    args = ap.parse_args()
    out = args.out / f"{args.n}-{args.noise}"
    if args.child:
        q, t = np.load(out / "queries.npy"), np.load(out / "truth.npy")
        knobs = [int(x) for x in (args.efs if args.child.startswith("hnsw") else args.nprobes).split(",")]
        print("RESULT " + json.dumps(child(args.child, out / args.child, q, t, knobs, args.rerank)), flush=True)
        return
    data, queries = load_data(args.work, args.n, args.noise, args.queries)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "queries.npy", queries)
    np.save(out / "truth.npy", exact(data, queries))
    nlist = args.nlist or int(4 * np.sqrt(args.n))
    print(f"n {args.n} noise {args.noise or 'bench_scale'} queries {len(queries)} nlist {nlist} load {os.getloadavg()[0]:.1f}", flush=True)
    for cand in args.cand.split(","):
        (out / cand).mkdir(exist_ok=True)
        used = build(cand, data, out / cand, nlist)
        print(f"{cand}: build {used:.0f} CPU-s ({args.n / used:.0f} rows/CPU-s)", flush=True)
        cmd = [sys.executable, __file__, "--work", str(args.work), "--out", str(args.out), "--n", str(args.n), "--noise",
               str(args.noise), "--child", cand, "--efs", args.efs, "--nprobes", args.nprobes, "--rerank", str(args.rerank)]
        res = subprocess.run(cmd, capture_output=True, text=True, check=False)
        line = [x for x in res.stdout.splitlines() if x.startswith("RESULT ")]
        if not line:
            print(res.stderr[-2000:], flush=True)
            continue
        r = json.loads(line[0][7:])
        for row in r["rows"]:
            print(f"  knob {row['knob']:5d}  recall@10 {row['recall']:.3f}  p50 {row['p50_ms']:6.2f} ms  mem {row['mem_mb']:6.0f} MB"
                  f"  (cold open+search {r['cold_s']:.2f} s)", flush=True)


if __name__ == "__main__":
    main()
