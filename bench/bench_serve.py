"""`mmrag serve` under load, and the cold CLI with and without a server.

1. Builds (once, cached under --work) a LanceDB index of 10k text segments:
   1,000 sentences with real MiniLM vectors, 9,000 pairs of them (joined
   text, normalised mean vector), written through the store.
2. Starts `mmrag serve` on a free loopback port and runs clients against
   POST /search (bounded: loopback only, fixed durations), for two servers in
   the same run: the code at ``--before`` (a git commit) and this tree. Each
   gets, in turn: DISTINCT queries (every request a text never asked before:
   neither the query cache nor the result cache can help; the query-cache file
   is deleted before each server starts), 1 client then N back to back; a
   QUERY LOG (``QueryLog``: 30 % of the requests texts never asked before, 70 %
   drawn from 500 popular texts with Zipf frequencies, seeded), N clients for
   two runs in a row (the second continues the log: a server warmed by use);
   REPEATED queries (10 texts in turn), N clients then 1; then, with --think,
   N paced clients (an offered load, not a saturation run). Reports
   requests/s, p50/p99 latency, errors, the result cache's hit rate, the load
   average, and the server's CPU time per request (from /proc: what a request
   costs, whatever else runs). The clients are raw keep-alive HTTP/1.1
   connections on asyncio (``Conn``), in this process, on the same cores.
3. Cold `mmrag search` wall time, same run, same index: the base commit's code
   (before the import work), this tree's code (after), and this tree's CLI
   while the server runs (the CLI forwards the query to it); plus the
   ``python -X importtime`` sums of the cold CLI (no server / server running).

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
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
WORDS = ["harbour", "lighthouse", "keeper", "boat", "summer", "winter", "budget", "report", "engine", "valve", "cat", "dog", "garden", "bread", "oven", "river", "mountain", "forest", "rabbit", "film", "camera", "station", "train", "ticket", "market", "spice", "cloves", "vanilla", "desert", "caravan", "salt", "museum", "painting", "library", "archive", "letter", "contract", "invoice", "travel", "hotel", "airport", "storm", "rain", "snow", "sunrise", "coffee", "tea", "kitchen", "recipe", "flour", "sugar", "orchestra", "violin", "piano", "concert", "lecture", "student", "exam", "physics", "chemistry", "biology", "planet", "rocket", "astronaut", "satellite", "telescope", "galaxy", "comet"]
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


def start_server(idx: Path, src: Path) -> tuple[subprocess.Popen[bytes], str]:
    (idx / "server.json").unlink(missing_ok=True)
    for cache in idx.parent.glob(f"{idx.name}*query-cache.sqlite*"):
        cache.unlink()  # distinct queries must miss the cache: start each server without one
    for cache in idx.glob("*query-cache.sqlite*"):
        cache.unlink()
    proc = subprocess.Popen([sys.executable, "-m", "mmrag.cli", "serve", "--index", str(idx), "--port", "0"],
                            env=env(src), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (its threads included), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class DistinctQueries:
    """Texts never asked before in this run: 3-7 words from WORDS, each text handed out once."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.seen: set[str] = set()

    def __call__(self, _n: int) -> str:
        while True:
            q = " ".join(self.rng.choice(WORDS) for _ in range(self.rng.randint(3, 7)))
            if q not in self.seen:
                self.seen.add(q)
                return q


def repeated(n: int) -> str:
    return QUERIES[n % len(QUERIES)]


class QueryLog:
    """A fixed, realistic query log: a share ``unique`` of the requests are texts never asked
    before (as in real search logs, where a large part of the queries are one-offs), the rest are
    drawn from ``popular`` texts with Zipf frequencies (the r-th most asked weighs 1/r^s), in a
    seeded order. The share of first-time texts stays about the same however far a run gets into
    the log (a log with a fixed, small vocabulary would turn into repeated queries after a while).
    One stream shared by all clients; a later run continues it."""

    def __init__(self, seed: int = 11, popular: int = 500, unique: float = 0.3, s: float = 1.0) -> None:
        self.rng = random.Random(seed)
        self.unique = unique
        fresh = DistinctQueries(seed + 1)
        self.popular = [fresh(0) for _ in range(popular)]
        self.weights = [1.0 / (r + 1) ** s for r in range(popular)]
        self.fresh = fresh  # hands out texts never seen, the popular ones included

    def __call__(self, _n: int) -> str:
        if self.rng.random() < self.unique:
            return self.fresh(0)
        return self.rng.choices(self.popular, weights=self.weights)[0]


class Conn:
    """One keep-alive HTTP/1.1 connection speaking just enough HTTP for this bench: a url-encoded
    POST and a response with Content-Length. It costs the load generator a fraction of httpx's CPU
    (both run on the same two cores as the server)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, form: dict[str, str]) -> tuple[int, bytes]:
        from urllib.parse import urlencode

        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        body = urlencode(form).encode()
        self.writer.write(f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                          f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = next(int(v) for k, _, v in (ln.partition(":") for ln in lines[1:]) if k.strip().lower() == "content-length")
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


async def load(url: str, clients: int, seconds: float, pid: int, queries: Any, think: float = 0.0) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    errors = 0
    host, port = url.rsplit("//", 1)[1].rsplit(":", 1)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        stop = time.perf_counter() + seconds

        async def one(i: int) -> None:
            nonlocal errors
            n = i
            conn = Conn(host, int(port))
            if think:
                await asyncio.sleep(think * i / clients)  # spread the paced clients over one period
            while time.perf_counter() < stop:
                q = queries(n)
                n += clients
                t = time.perf_counter()
                try:
                    status, body = await asyncio.wait_for(conn.post("/search", {"q": q, "k": "10"}), 60)
                    ok = status == 200 and len(json.loads(body)["hits"]) == 10
                except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, KeyError):
                    ok = False
                    conn.close()
                latencies.append(time.perf_counter() - t)
                errors += not ok
                if think:
                    await asyncio.sleep(think)
            conn.close()

        health0 = (await client.get("/healthz")).json()
        batches0 = health0.get("query_batches", {})
        cache0 = health0.get("result_cache", {})
        load0, cpu0, client0 = os.getloadavg()[0], cpu_seconds(pid), time.process_time()
        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(clients)))
        took = time.perf_counter() - started
        cpu, client_cpu = cpu_seconds(pid) - cpu0, time.process_time() - client0
        health = (await client.get("/healthz")).json()
        batches, cache = health.get("query_batches"), health.get("result_cache")
    per_call = None
    if batches and batches["calls"] > batches0.get("calls", 0):
        per_call = (batches["texts"] - batches0["texts"]) / (batches["calls"] - batches0["calls"])
    hit_rate = None
    if cache:
        hits, misses = cache["hits"] - cache0.get("hits", 0), cache["misses"] - cache0.get("misses", 0)
        hit_rate = hits / max(1, hits + misses)
    lat = sorted(latencies)
    return {
        "clients": clients, "seconds": seconds, "requests": len(lat), "errors": errors, "rps": len(lat) / took,
        "p50_ms": 1000 * statistics.median(lat), "p99_ms": 1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))],
        "cpu_ms": 1000 * cpu / max(1, len(lat)), "client_cpu_ms": 1000 * client_cpu / max(1, len(lat)),
        "load": f"{load0:.1f}-{os.getloadavg()[0]:.1f}", "batch": "" if per_call is None else f"{per_call:.1f}",
        "hit_rate": "" if hit_rate is None else f"{100 * hit_rate:.0f} %",
    }


def run_loop(coro: Any) -> Any:
    """The load generator's event loop: uvloop when installed (less of the shared CPU than asyncio's)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def run_server(name: str, idx: Path, src: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    proc, url = start_server(idx, src)
    rows: list[dict[str, Any]] = []
    try:
        warm = min(args.seconds, 15)
        log = QueryLog()  # each server gets the same log from its start
        plan = [
            ("distinct (all unique)", 1, warm, DistinctQueries(1), 0.0),
            ("distinct (all unique)", args.clients, args.seconds, DistinctQueries(2), 0.0),
            ("query log: 70 % popular (Zipf over 500 texts), 30 % first-time", args.clients, args.seconds, log, 0.0),
            ("the same log, the next minute", args.clients, args.seconds, log, 0.0),
            ("repeated (10 texts)", args.clients, args.seconds, repeated, 0.0),
            ("repeated (10 texts)", 1, warm, repeated, 0.0),
        ]
        if args.think > 0:
            plan.append((f"distinct, paced {args.think:g} s", args.clients, args.seconds, DistinctQueries(3), args.think))
        for kind, clients, secs, queries, think in plan:
            r = run_loop(load(url, clients, secs, proc.pid, queries, think))
            r.update(server=name, queries=kind)
            rows.append(r)
            print(f"  {name} {kind} x{clients}: {r['rps']:.1f} req/s p50 {r['p50_ms']:.0f} ms p99 {r['p99_ms']:.0f} ms "
                  f"errors {r['errors']} cpu {r['cpu_ms']:.1f} ms/req batch {r['batch']} cache hits {r['hit_rate']} "
                  f"load {r['load']}", flush=True)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    return rows


def base_tree(commit: str, work: Path) -> Path:
    """The base commit's src/ (before this branch's import work), exported with git archive."""
    out = work / f"base-{commit[:10]}"
    if not (out / "src" / "mmrag").is_dir():
        blob = subprocess.run(["git", "-C", str(REPO), "archive", commit, "src"], check=True, capture_output=True).stdout
        with tarfile.open(fileobj=BytesIO(blob)) as tar:
            tar.extractall(out, filter="data")
    return out / "src"


def cold_search(idx: Path, src: Path, no_server: bool, importtime: bool = False) -> tuple[float, str]:
    e = env(src)
    if no_server:
        e["MMRAG_NO_SERVER"] = "1"
    t = time.perf_counter()
    done = subprocess.run([sys.executable, *(["-X", "importtime"] if importtime else []), "-m", "mmrag.cli", "search",
                           QUERIES[0], "--index", str(idx), "-k", "5"], check=True, env=e, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    return time.perf_counter() - t, done.stderr


def cold_copy(idx: Path, name: str, src: Path) -> Path:
    """A copy of the index for one code version's cold runs. Each version keeps its own saved
    vector indexes (``ann/``, whose format changed between them): on a shared folder each
    would find the other's files unusable and rebuild HNSW on every open. The copy is
    optimized once by that version (a write), so its ``ann/`` is saved in its own format."""
    import shutil

    out = idx.parent / f"{idx.name}-{name}"
    if not (out / "built").is_file():
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(idx, out, ignore=shutil.ignore_patterns("server.json", "ann", "*query-cache*"))
        code = "import sys, mmrag; e = mmrag.open(sys.argv[1]); e.store.optimize(); e.close()"
        subprocess.run([sys.executable, "-c", code, str(out)], check=True, env=env(src))
    return out


def import_profile(stderr: str, top: int = 6) -> tuple[float, list[tuple[str, float]]]:
    """Total import time (s) and the heaviest top-level packages from ``-X importtime`` output."""
    total, heavy = 0.0, []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cum, raw = line[len("import time:"):].split("|")
        if raw[:2] == " " + raw.strip()[:1]:  # a top-level import: one space, no nesting indent
            total += int(cum) / 1e6
            heavy.append((raw.strip(), int(cum) / 1e6))
    return total, sorted(heavy, key=lambda t: -t[1])[:top]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--segments", type=int, default=10_000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--think", type=float, default=1.0, help="pause of each paced client between requests (0: no paced run)")
    ap.add_argument("--cold", type=int, default=2, help="cold CLI runs per variant (0: skip)")
    ap.add_argument("--no-load", action="store_true", help="skip the server load runs (cold CLI only)")
    ap.add_argument("--base", default="02b7287", help="commit before the import work (cold CLI)")
    ap.add_argument("--before", default="7d4073b", help="commit of the server to compare with, run first ('' : this tree only); "
                    "7d4073b: before the result cache and the one-round-trip full-text query")
    ap.add_argument("--work", type=Path, default=REPO / ".cache" / "bench-serve")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    idx = build_index(args.work, args.segments)
    print(f"index {idx}; load average at start {os.getloadavg()[0]:.1f}", flush=True)
    print("uptime:", subprocess.run(["uptime"], check=False, capture_output=True, text=True).stdout.strip(), flush=True)

    rows: list[dict[str, Any]] = []
    if args.before and not args.no_load:
        rows += run_server(f"before ({args.before})", idx, base_tree(args.before, args.work), args)
    if not args.no_load:
        rows += run_server("after (this tree)", idx, REPO / "src", args)

    cold: dict[str, list[float]] = {}
    imports: dict[str, tuple[float, list[tuple[str, float]]]] = {}
    if args.cold:
        before = base_tree(args.base, args.work)
        idx_before, idx_after = cold_copy(idx, "base", before), cold_copy(idx, "this", REPO / "src")
        cold = {"before (base commit, no server)": [], "after (this tree, no server)": []}
        for _ in range(args.cold):  # interleaved, so load changes hit both alike
            cold["before (base commit, no server)"].append(cold_search(idx_before, before, True)[0])
            cold["after (this tree, no server)"].append(cold_search(idx_after, REPO / "src", True)[0])
        imports["this tree, no server"] = import_profile(cold_search(idx_after, REPO / "src", True, importtime=True)[1])
        proc, _url = start_server(idx_after, REPO / "src")
        try:
            cold["this tree, server running"] = [cold_search(idx_after, REPO / "src", False)[0] for _ in range(args.cold)]
            imports["this tree, server running"] = import_profile(cold_search(idx_after, REPO / "src", False, importtime=True)[1])
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)

    print("uptime:", subprocess.run(["uptime"], check=False, capture_output=True, text=True).stdout.strip(), flush=True)
    print(f"\nindex: {args.segments} segments (MiniLM, LanceDB), server on loopback, {os.cpu_count()} CPUs; "
          f"load average at the end {os.getloadavg()[0]:.1f}")
    print("| server | queries | clients | seconds | requests | errors | req/s | p50 | p99 | server CPU / request "
          "| texts per encoder call | result-cache hits | load avg |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['server']} | {r['queries']} | {r['clients']} | {r['seconds']:g} | {r['requests']} | {r['errors']} "
              f"| {r['rps']:.1f} | {r['p50_ms']:.0f} ms | {r['p99_ms']:.0f} ms | {r['cpu_ms']:.1f} ms | {r['batch'] or '–'} "
              f"| {r['hit_rate'] or '–'} | {r['load']} |")
    if rows:
        print(f"(the load generator itself, same process for all rows: "
              f"{statistics.median(r['client_cpu_ms'] for r in rows):.1f} ms CPU per request, median)")
    if cold:
        ref = statistics.median(cold["before (base commit, no server)"])
        print("\n| cold `mmrag search` | runs | median wall | vs before |")
        print("|---|---|---|---|")
        for name, times in cold.items():
            print(f"| {name} | {len(times)} | {statistics.median(times):.2f} s | {statistics.median(times) / ref:.2f}x |")
        print("\n| `python -X importtime` of a cold `mmrag search` | imports in all | heaviest top-level imports |")
        print("|---|---|---|")
        for name, (total, heavy) in imports.items():
            print(f"| {name} | {total:.2f} s | " + ", ".join(f"{n} {t:.2f} s" for n, t in heavy) + " |")


if __name__ == "__main__":
    main()
