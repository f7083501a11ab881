"""`mmrag serve` under load, and the cold CLI with and without a server.

1. Builds (once, cached under --work) a LanceDB index of 10k text segments:
   1,000 sentences with real MiniLM vectors, 9,000 pairs of them (joined
   text, normalised mean vector), written through the store.
2. Starts `mmrag serve` on a free loopback port and runs N concurrent clients
   for D seconds against POST /search with varied text queries (bounded:
   loopback only, fixed duration). Reports requests/s, p50/p99 latency and
   errors; first at 1 client (the latency of one query on a warm server: the
   baseline), then at N clients.
3. Cold `mmrag search` wall time, same run, same index: the base commit's code
   (before the import work), this tree's code (after), and this tree's CLI
   while the server runs (the CLI forwards the query to it).

    nice -n 10 python bench/bench_serve.py                       # 50 clients x 60 s
    python bench/bench_serve.py --clients 8 --seconds 10 --cold 1  # quick look
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tarfile
import time
from io import BytesIO
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
WORDS = (
    "harbour lighthouse keeper boat summer winter budget report engine valve cat dog garden bread oven "
    "river mountain forest rabbit film camera station train ticket market spice cloves vanilla desert "
    "caravan salt museum painting library archive letter contract invoice travel hotel airport storm "
    "rain snow sunrise coffee tea kitchen recipe flour sugar orchestra violin piano concert lecture "
    "student exam physics chemistry biology planet rocket astronaut satellite telescope galaxy comet"
).split()
QUERIES = [
    "lighthouse keeper and the boats", "budget report for the harbour", "a rabbit in the forest",
    "spice market with cloves", "rocket launch and astronauts", "bread recipe with flour and sugar",
    "storm over the mountain river", "violin concert in the library", "train station ticket",
    "telescope watching a comet",
]


def env(src: Path | None = None) -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(src or REPO / "src")
    e.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    e.pop("MMRAG_NO_SERVER", None)
    return e


def build_index(work: Path, segments: int, real: int = 1000) -> Path:
    """``segments`` text segments: ``real`` sentences embedded by the real MiniLM, the rest pairs of
    them (joined text, normalised mean vector), upserted through the store. (The add pipeline's
    per-file work is not what this bench measures, and this machine is too loaded to embed 10k.)"""
    idx = work / f"idx-{segments}"
    if (idx / "built").is_file():
        return idx
    import shutil

    import mmrag
    from mmrag.stores.base import Row
    from mmrag.types import Channel, Modality, Span, segment_id

    shutil.rmtree(idx, ignore_errors=True)
    rng = random.Random(0)
    base = [" ".join(rng.choice(WORDS) for _ in range(12)) + "." for _ in range(min(real, segments))]
    t = time.perf_counter()
    engine = mmrag.open(str(idx), space__name="minilm", space__image_model="off")
    space = engine.space  # creates the index with the real space spec
    base_vecs = np.concatenate([space.encode(Channel.TEXT, base[lo : lo + 250]) for lo in range(0, len(base), 250)])
    texts, vecs = list(base), list(base_vecs)
    while len(texts) < segments:  # the rest: two real sentences joined, their vectors' normalised mean
        a, b = rng.randrange(len(base)), rng.randrange(len(base))
        v = base_vecs[a] + base_vecs[b]
        texts.append(base[a] + " " + base[b])
        vecs.append(v / np.linalg.norm(v))
    rows = []
    for i, (text, vec) in enumerate(zip(texts, vecs)):
        source = f"/bench/doc{i // 100:04d}.txt"
        span = Span(start=(i % 100) * 200, end=(i % 100) * 200 + len(text))
        seg = segment_id(source, Modality.TEXT, span)
        rows.append(Row(id=f"{seg}:text", segment_id=seg, source=source, source_hash=f"h{i // 100}",
                        modality="text", channel="text", vector=np.asarray(vec, np.float32), text=text,
                        start=span.start or 0, end=span.end or 0, added_at=time.time()))
    for lo in range(0, len(rows), 2000):
        engine.store.upsert(rows[lo : lo + 2000])
    engine.store.refresh_text_index()  # type: ignore[attr-defined]
    engine.close()
    (idx / "built").write_text("ok")
    print(f"built {idx} in {time.perf_counter() - t:.0f} s")
    return idx


def start_server(idx: Path) -> tuple[subprocess.Popen[bytes], str]:
    (idx / "server.json").unlink(missing_ok=True)
    proc = subprocess.Popen([sys.executable, "-m", "mmrag.cli", "serve", "--index", str(idx), "--port", "0"],
                            env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        f = idx / "server.json"
        if f.is_file():
            data = json.loads(f.read_text())
            if data["pid"] == proc.pid:
                return proc, data["url"]
        time.sleep(0.5)
    proc.kill()
    raise SystemExit("server did not start")


async def load(url: str, clients: int, seconds: float) -> dict[str, float]:
    import httpx

    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:

        async def one(i: int) -> None:
            nonlocal errors
            n = i
            while time.perf_counter() < stop:
                q = QUERIES[n % len(QUERIES)]
                n += 1
                t = time.perf_counter()
                try:
                    r = await client.post("/search", data={"q": q, "k": "10"})
                    ok = r.status_code == 200 and len(r.json()["hits"]) == 10
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - t)
                errors += not ok

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(clients)))
        took = time.perf_counter() - started
    lat = sorted(latencies)
    return {
        "clients": clients, "requests": len(lat), "errors": errors, "rps": len(lat) / took,
        "p50_ms": 1000 * statistics.median(lat), "p99_ms": 1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))],
    }


def base_tree(commit: str, work: Path) -> Path:
    """The base commit's src/ (before this branch's import work), exported with git archive."""
    out = work / f"base-{commit[:10]}"
    if not (out / "src" / "mmrag").is_dir():
        blob = subprocess.run(["git", "-C", str(REPO), "archive", commit, "src"], check=True, capture_output=True).stdout
        with tarfile.open(fileobj=BytesIO(blob)) as tar:
            tar.extractall(out, filter="data")
    return out / "src"


def cold_search(idx: Path, src: Path, no_server: bool) -> float:
    e = env(src)
    if no_server:
        e["MMRAG_NO_SERVER"] = "1"
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mmrag.cli", "search", QUERIES[0], "--index", str(idx), "-k", "5"],
                   check=True, env=e, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--segments", type=int, default=10_000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--cold", type=int, default=2, help="cold CLI runs per variant (0: skip)")
    ap.add_argument("--base", default="02b7287", help="commit before the import work")
    ap.add_argument("--work", type=Path, default=REPO / ".cache" / "bench-serve")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    idx = build_index(args.work, args.segments)
    before = base_tree(args.base, args.work) if args.cold else None

    cold: dict[str, list[float]] = {"before (base commit, no server)": [], "after (this tree, no server)": []}
    for _ in range(args.cold):  # interleaved, so load changes hit both alike
        cold["before (base commit, no server)"].append(cold_search(idx, before, True))  # type: ignore[arg-type]
        cold["after (this tree, no server)"].append(cold_search(idx, REPO / "src", True))

    proc, url = start_server(idx)
    try:
        rows = [asyncio.run(load(url, 1, min(args.seconds, 15))), asyncio.run(load(url, args.clients, args.seconds))]
        if args.cold:
            cold["this tree, server running"] = [cold_search(idx, REPO / "src", False) for _ in range(args.cold)]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)

    print(f"\nindex: {args.segments} segments (MiniLM, LanceDB), server on loopback; load average {os.getloadavg()[0]:.1f}")
    print("| clients | seconds | requests | errors | req/s | p50 | p99 | p50 vs 1 client |")
    print("|---|---|---|---|---|---|---|---|")
    base = rows[0]["p50_ms"]
    for r, secs in zip(rows, (min(args.seconds, 15), args.seconds)):
        print(f"| {r['clients']} | {secs:g} | {r['requests']} | {r['errors']} | {r['rps']:.1f} | {r['p50_ms']:.0f} ms "
              f"| {r['p99_ms']:.0f} ms | {r['p50_ms'] / base:.1f}x |")
    if args.cold:
        ref = statistics.median(cold["before (base commit, no server)"])
        print("\n| cold `mmrag search` | runs | median wall | vs before |")
        print("|---|---|---|---|")
        for name, times in cold.items():
            print(f"| {name} | {len(times)} | {statistics.median(times):.2f} s | {statistics.median(times) / ref:.2f}x |")


if __name__ == "__main__":
    main()
