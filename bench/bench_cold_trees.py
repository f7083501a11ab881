"""A cold `mmrag search` (no server) from two source trees, interleaved, one run.

    git worktree add /tmp/before <commit>
    python bench/bench_cold_trees.py --before /tmp/before/src --after src --index IDX --runs 5 "ten of clubs"

Each run is a fresh `python -m mmrag.cli search` process (`bench_cold_cli.one`) with `MMRAG_NO_SERVER=1`
and `PYTHONPATH` set to one tree's `src`; reports median wall time and CPU (user + system, from `os.wait4`) per
tree, the ratio after / before, and whether both printed the same hits. Not a test.
"""

from __future__ import annotations

import argparse
import os
import statistics

from bench_cold_cli import one  # run as a script: bench/ is on sys.path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("query")
    ap.add_argument("--before", required=True, help="the src folder of the baseline tree")
    ap.add_argument("--after", required=True, help="the src folder of the tree measured")
    ap.add_argument("--index", required=True)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    index = os.path.abspath(args.index)
    runs: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
    outs: dict[str, str] = {}
    for _ in range(args.runs):
        for name in ("before", "after"):
            wall, cpu, outs[name] = one(index, args.query, "auto", getattr(args, name))  # auto: the default runtime
            runs[name].append((wall, cpu))
    med = {n: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for n, v in runs.items()}
    for name, (wall, cpu) in med.items():
        print(f"{name}: median wall {wall:.2f} s, CPU {cpu:.2f} s ({args.runs} runs)")
    print(f"after / before: wall {med['after'][0] / med['before'][0]:.2f}, CPU {med['after'][1] / med['before'][1]:.2f}")
    print("same hits:", outs["before"] == outs["after"])


if __name__ == "__main__":
    main()
