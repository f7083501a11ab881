"""A cold `mmrag search` (no server): the text tower on torch vs onnxruntime, interleaved, one run.

    python bench/bench_cold_cli.py --index /tmp/lead/srvidx --runs 5 ["a small bird that sings"]

Each run is a fresh `python -m mmrag.cli search` process with `MMRAG_NO_SERVER=1`;
`space.text_runtime` alternates between `torch` and `auto` (onnxruntime once the
export is cached: the first `auto` process exports it if it is missing, so one
untimed `auto` run goes first). Reports median wall time and CPU (user + system,
from `os.wait4`), the ratio auto / torch, and whether both printed the same hits.
Not a test: prints a table for bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")


def one(index: str, query: str, runtime: str, src: str = SRC) -> tuple[float, float, str]:
    """One cold ``mmrag search`` from the tree at ``src``: wall seconds, CPU seconds, what it printed."""
    env = {**os.environ, "MMRAG_NO_SERVER": "1", "MMRAG_SPACE_TEXT_RUNTIME": runtime, "PYTHONPATH": os.path.abspath(src)}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "mmrag.cli", "search", query, "--index", index, "-k", "5"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"mmrag search from {src} exited {status} with text_runtime={runtime}")
    return wall, usage.ru_utime + usage.ru_stime, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("query", nargs="?", default="a small bird that sings")
    args = ap.parse_args()
    one(args.index, args.query, "auto")  # exports the ONNX tower if it is not cached yet
    rows: dict[str, list[tuple[float, float, str]]] = {"torch": [], "auto": []}
    print(f"load average at start {os.getloadavg()[0]:.1f}", flush=True)
    for _ in range(args.runs):
        for runtime in ("torch", "auto"):
            rows[runtime].append(one(args.index, args.query, runtime))
    print(f"load average at end {os.getloadavg()[0]:.1f}\n")
    print("| text tower | runs | median wall | median CPU | vs torch (wall) |\n|---|---|---|---|---|")
    base = statistics.median(w for w, _, _ in rows["torch"])
    for runtime, label in (("torch", "torch (`space.text_runtime = \"torch\"`)"), ("auto", "onnxruntime (default)")):
        wall = statistics.median(w for w, _, _ in rows[runtime])
        cpu = statistics.median(c for _, c, _ in rows[runtime])
        print(f"| {label} | {len(rows[runtime])} | {wall:.2f} s | {cpu:.2f} s | {wall / base:.2f}x |")
    same = {out for _, _, out in rows["torch"]} == {out for _, _, out in rows["auto"]}
    print(f"\nsame printed hits in every run: {same}")


if __name__ == "__main__":
    main()
