"""Milvus vs LanceDB through mmrag's own store and fused-search path, in one run.

Same rows in both stores: ``--n`` rows of ``--dim``-d clustered unit vectors,
half ``text`` and half ``image`` channel, each with a 200-character text.
Measured per store: ingest rows/s (``upsert`` in batches of 2,000, then
``flush``/``close``), open time, the first fused search (calibration
samples fetched), then ``store.search`` p50 and fused-search p50 over
``--queries`` queries (``retrieve.search``: one list per channel,
calibrated, then fused; "hybrid" adds the BM25 list: the engine's path
minus the query embedding). A server without BM25 (Milvus < 2.5, like the
2.3.5 here) scanned every row's text per hybrid search, so only its dense
fused search was measured; collections now keep a ``term_ids`` array for it (see
``milvus_rows.text_terms``), and both are measured. ``--keep DIR`` builds the
indexes in DIR and reuses them on a later run with the same ``--n`` (ingest is
then not measured; rebuild after changing how rows are written). The Milvus server is the standalone 2.3.5 from PyPI
(``milvus``), started here on loopback; ``--lite`` adds Milvus Lite.
Ratios are against LanceDB in the same run. Usage::

    python bench/bench_milvus.py --n 20000
    python bench/bench_milvus.py --n 200000 --lite 0
    python bench/bench_milvus.py --n 200000 --lite 0 --keep /tmp/bm200k   # build once, reuse after
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from mmrag.config import Config
from mmrag.retrieve.search import BackgroundSamples, Query, search
from mmrag.stores import open_store
from mmrag.stores.base import Row

WORDS = [
    "river", "mountain", "zebra", "crossing", "budget", "meeting", "invoice", "harbour", "violin", "engine",
    "garden", "winter", "protein", "galaxy", "lantern", "pepper", "copper", "silver", "orbit", "canyon",
]


def data(n: int, dim: int, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((64, dim)).astype(np.float32)
    v = centres[rng.integers(0, 64, n)] + rng.standard_normal((n, dim)).astype(np.float32) * 0.08
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    texts = []
    for _ in range(n):
        words = " ".join(rng.choice(WORDS, 40))
        texts.append(words[:200])
    return v, texts


def rows(v: np.ndarray, texts: list[str], lo: int, hi: int) -> list[Row]:
    out = []
    for i in range(lo, hi):
        ch = "text" if i % 2 == 0 else "image"
        out.append(
            Row(
                id=f"s{i}:{ch}", segment_id=f"s{i}", source=f"doc{i // 20}.txt", source_hash=f"h{i // 20}",
                modality="text" if ch == "text" else "image", channel=ch, vector=v[i], text=texts[i],
            )
        )
    return out


def reusable(location: str, n: int, cfg: Config) -> bool:
    """``True`` when ``location`` already holds this bench's ``n`` rows (``--keep`` from an earlier run)."""
    try:
        store = open_store(location, None, cfg)
    except Exception:  # noqa: BLE001 - no index there yet
        return False
    try:
        return store.count() == n
    finally:
        store.close()


def run(name: str, location: str, v: np.ndarray, texts: list[str], qs: np.ndarray, cfg: Config,
        reuse: bool = False) -> dict:
    n = len(v)
    ingest = float("nan")
    if reuse and reusable(location, n, cfg):
        print(f"{name}: reusing the {n} rows already at {location} (ingest not measured)", flush=True)
    else:
        t = time.perf_counter()
        store = open_store(location, v.shape[1], cfg)
        for lo in range(0, n, 2000):
            store.upsert(rows(v, texts, lo, min(n, lo + 2000)))
        store.close()
        ingest = n / (time.perf_counter() - t)
    t = time.perf_counter()
    store = open_store(location, None, cfg)
    opened = time.perf_counter() - t
    if hasattr(store, "_client") and location.startswith("http"):  # steady state: the server's index built
        waited = time.perf_counter()
        while time.perf_counter() - waited < 900:
            info = store._client.describe_index(store.rows_name, "vector")
            if int(info.get("pending_index_rows", 0)) == 0 and int(info.get("indexed_rows", 0)) >= n:
                break
            time.sleep(2)
        print(f"{name}: vector index built {time.perf_counter() - waited:.0f} s after the last flush", flush=True)
    samples = BackgroundSamples(size=cfg.search.calibration_sample)
    dense_cfg = dataclasses.replace(cfg.search, hybrid=False)
    # a server without BM25 (Milvus < 2.5): text candidates picked in the server by the rows' terms
    # array (collections made since); an older collection without it scans every text: not measured
    hybrid_ok = not hasattr(store, "_bm25") or bool(store._bm25) or bool(getattr(store, "_terms", False))

    def fused(q: np.ndarray, hybrid: bool) -> None:
        search(store, Query({"text": q}, text="zebra budget"), channels=["text", "image"], k=10,
               config=cfg.search if hybrid else dense_cfg, samples=samples)

    t = time.perf_counter()
    fused(qs[0], hybrid_ok)
    first = time.perf_counter() - t
    plain, dense, both = [], [], []
    for q in qs:
        t = time.perf_counter()
        store.search(q, 10, "channel = 'text'")
        plain.append(time.perf_counter() - t)
        t = time.perf_counter()
        fused(q, False)
        dense.append(time.perf_counter() - t)
        if hybrid_ok:
            t = time.perf_counter()
            fused(q, True)
            both.append(time.perf_counter() - t)
    store.close()
    out = {"name": name, "ingest": ingest, "open": opened, "first": first,
           "search": float(np.median(plain)) * 1e3, "dense": float(np.median(dense)) * 1e3,
           "fused": float(np.median(both)) * 1e3 if both else float("nan")}
    print(f"{name:14} ingest {ingest:8.0f} rows/s  open {opened:6.2f} s  first fused {first:6.2f} s  "
          f"store search p50 {out['search']:7.2f} ms  fused dense p50 {out['dense']:7.2f} ms  "
          f"fused hybrid p50 {out['fused']:7.2f} ms" + ("" if hybrid_ok else " (no BM25 on this server)"),
          flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--lite", type=int, default=1, help="also Milvus Lite (slow: a Python engine)")
    ap.add_argument("--keep", type=Path, default=None, metavar="DIR",
                    help="build the indexes (LanceDB folder, Milvus server data) in DIR and keep them; a later run "
                         "with the same DIR and --n reuses them instead of ingesting again (ingest then not measured)")
    args = ap.parse_args()
    from mmrag.stores.milvus_server import LocalMilvus

    v, texts = data(args.n, args.dim)
    rng = np.random.default_rng(1)
    qs = v[rng.integers(0, args.n, args.queries)] + rng.standard_normal((args.queries, args.dim)).astype(np.float32) * 0.05
    qs /= np.linalg.norm(qs, axis=1, keepdims=True)
    cfg = Config()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-milvus-"))
    work.mkdir(parents=True, exist_ok=True)
    reuse = args.keep is not None
    results = []
    try:
        results.append(run("lancedb", str(work / "lance"), v, texts, qs, cfg, reuse))
        with LocalMilvus(work / "server") as server:
            results.append(run("milvus-server", server.uri + "#bench", v, texts, qs, cfg, reuse))
        if args.lite:
            results.append(run("milvus-lite", f"milvus:{work / 'lite.db'}#bench", v, texts, qs, cfg, reuse))
    finally:
        if not reuse:
            shutil.rmtree(work, ignore_errors=True)
    base = results[0]
    print(f"\nratios vs LanceDB (n={args.n}, dim={args.dim}):")
    for r in results[1:]:
        print(f"  {r['name']:14} store search x{r['search'] / base['search']:.1f}  "
              f"fused dense x{r['dense'] / base['dense']:.1f}  fused hybrid x{r['fused'] / base['fused']:.1f}  "
              f"ingest x{r['ingest'] / base['ingest']:.2f}")


if __name__ == "__main__":
    main()
