"""Ingest at scale: text chunks and images into an EMPTY index, LanceDB store vs a Milvus server.

The issue's table: ``--texts`` text chunks (200 characters, ``--chunks-per-file``
a file) then ``--images`` images (one row a file, ``channel = 'image'``, a
6 KB thumbnail each) written the way ``mmrag add`` writes them:
``store.replace_sources`` per batch of 64 files, then ``close()``. Vectors are
precomputed (``bench_scale``'s clustered 384-d data): the encoders are NOT
timed, this is the store's share of ``add``. Each system runs in its own
child process. Milvus is the standalone server from PyPI ``milvus`` (2.3.5),
started by the child on loopback; its memory and CPU are the server process
group's (sampled every 0.5 s), next to the client's.

Usage::

    nice -n 10 python bench/bench_ingest_scale.py --texts 100000 --images 10000 --workdir /tmp/ingest
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

from bench_scale import DIM, FILE_BATCH, cpu, peak_mb, read_data, rows, write_data

THUMB = 6 * 1024


def group_stats(pgid: int) -> tuple[float, float]:
    """(resident MB, CPU-s) summed over the processes of a process group."""
    rss, ticks = 0.0, 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(stat[2]) != pgid:  # field 5: pgrp
                continue
            ticks += int(stat[11]) + int(stat[12])  # utime + stime
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1]) / 1024.0
        except (OSError, IndexError, ValueError):
            continue
    return rss, ticks / os.sysconf("SC_CLK_TCK")


def image_rows(work: Path, lo: int, hi: int, base: int) -> list:
    """Image rows ``lo:hi`` (one file each); vectors are rows ``base + i`` of the data."""
    from mmrag.stores.base import Row

    vecs = read_data(work, base + lo, base + hi)
    rng = np.random.default_rng(lo)
    return [
        Row(id=f"img{i}:image", segment_id=f"img{i}", source=f"pics/{i}.jpg", source_hash=f"{i:08x}",
            modality="image", channel="image", vector=vecs[i - lo], text="", thumbnail=rng.bytes(THUMB),
            added_at=1.7e9 + i)
        for i in range(lo, hi)
    ]


def child(system: str, work: Path, texts: int, images: int, per_file: int) -> dict:
    server = None
    peak_server = [0.0]
    if system == "milvus":
        from mmrag.stores.milvus import MilvusStore
        from mmrag.stores.milvus_server import LocalMilvus

        shutil.rmtree(work / "milvus-data", ignore_errors=True)
        server = LocalMilvus(work / "milvus-data").start()
        assert server.proc is not None
        pgid = server.proc.pid
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.5):
                peak_server[0] = max(peak_server[0], group_stats(pgid)[0])

        threading.Thread(target=sample, daemon=True).start()
        server_cpu0 = group_stats(pgid)[1]
        store = MilvusStore(server.uri + "#ingest", DIM)
    else:
        from mmrag.config import Config
        from mmrag.stores.lance import LanceStore

        shutil.rmtree(work / "ingest-lance", ignore_errors=True)
        store = LanceStore(str(work / "ingest-lance"), DIM, Config())
    c0, t0 = cpu(), time.perf_counter()
    files = [(lo, min(texts, lo + per_file)) for lo in range(0, texts, per_file)]
    for at in range(0, len(files), FILE_BATCH):
        store.replace_sources([(f"docs/{lo // per_file}.txt", rows(work, lo, hi, per_file)) for lo, hi in files[at : at + FILE_BATCH]])
    text_s = time.perf_counter() - t0
    for lo in range(0, images, FILE_BATCH):
        batch = image_rows(work, lo, min(images, lo + FILE_BATCH), texts)
        store.replace_sources([(r.source, [r]) for r in batch])
    store.close()
    took, used = time.perf_counter() - t0, cpu() - c0
    out = {"rows": texts + images, "wall_s": took, "text_s": text_s, "cpu_s": used, "peak_mb": peak_mb()}
    if server is not None:
        out["server_peak_mb"] = max(peak_server[0], group_stats(pgid)[0])
        out["server_cpu_s"] = group_stats(pgid)[1] - server_cpu0
        stop.set()
        server.stop()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--texts", type=int, default=100_000)
    ap.add_argument("--images", type=int, default=10_000)
    ap.add_argument("--chunks-per-file", type=int, default=10)
    ap.add_argument("--systems", default="lance,milvus")
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--timeout", type=float, default=3600.0)
    ap.add_argument("--child")
    args = ap.parse_args()
    if args.child:
        print("RESULT " + json.dumps(child(args.child, args.workdir, args.texts, args.images, args.chunks_per_file)), flush=True)
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    write_data(args.workdir, args.texts + args.images, 1)
    print(f"ingest into an empty index: {args.texts} text chunks ({args.chunks_per_file} a file) + {args.images} images "
          f"(one a file, {THUMB // 1024} KB thumbnail); vectors precomputed; cpus {os.cpu_count()}; "
          f"load {os.getloadavg()[0]:.1f}", flush=True)
    env = {**os.environ, "PYTHONPATH": f"{HERE.parent / 'src'}:{HERE}"}
    found = {}
    for system in args.systems.split(","):
        cmd = [sys.executable, __file__, "--child", system, "--texts", str(args.texts), "--images", str(args.images),
               "--chunks-per-file", str(args.chunks_per_file), "--workdir", str(args.workdir)]
        try:
            with open(args.workdir / f"ingest-{system}.log", "w") as log:
                out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=log, text=True, timeout=args.timeout, env=env, check=False)
        except subprocess.TimeoutExpired:
            print(f"  {system}: over {args.timeout:.0f} s, stopped", flush=True)
            continue
        res = [json.loads(line[7:]) for line in out.stdout.splitlines() if line.startswith("RESULT ")]
        if not res:
            print(f"  {system} failed:\n{(args.workdir / f'ingest-{system}.log').read_text()[-3000:]}", flush=True)
            continue
        found[system] = r = res[0]
        extra = (f"  server peak RSS {r['server_peak_mb']:6.0f} MB  server {r['server_cpu_s']:6.1f} CPU-s"
                 if "server_peak_mb" in r else "")
        print(f"  {system:7s} {r['rows']} rows  {r['wall_s']:7.1f} s wall ({r['text_s']:.1f} s texts)  "
              f"{r['rows'] / r['wall_s']:7.0f} rows/s  client {r['cpu_s']:6.1f} CPU-s  client peak RSS {r['peak_mb']:6.0f} MB"
              + extra + f"  load {os.getloadavg()[0]:.1f}", flush=True)
    if "lance" in found and "milvus" in found:
        a, b = found["lance"], found["milvus"]
        print(f"  milvus / lance rows/s: {(b['rows'] / b['wall_s']) / (a['rows'] / a['wall_s']):.2f}x", flush=True)


if __name__ == "__main__":
    main()
