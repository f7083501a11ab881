"""MiniLM text embedding with torch's OpenMP threads spinning (libgomp's default) vs sleeping
(``OMP_WAIT_POLICY=PASSIVE``, what every ``mmrag`` command sets), in one run.

The policy is read when torch loads, so each side runs in its own child
process, one after the other, with the same texts and thread count.

    python bench/bench_omp_wait.py --texts 256 --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
import torch
from mmrag.space.text import build_minilm_space
from mmrag.config import load_config
from mmrag.types import Channel
n, threads = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(threads)
space = build_minilm_space(load_config())
texts = [f"Linen item no. {i}. A linen piece in linen, style {i % 97}." for i in range(n)]
space.encode(Channel.TEXT, texts[:8])
t, c = time.perf_counter(), time.process_time()
space.encode(Channel.TEXT, texts)
print(json.dumps({"wall": time.perf_counter() - t, "cpu": time.process_time() - c}))
"""


def run(policy: str | None, texts: int, threads: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("OMP_WAIT_POLICY", None)
    if policy:
        env["OMP_WAIT_POLICY"] = policy
    done = subprocess.run([sys.executable, "-c", CHILD, str(texts), str(threads)], env=env, check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--texts", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    load = os.getloadavg()[0]
    spin = run(None, args.texts, args.threads)
    passive = run("PASSIVE", args.texts, args.threads)
    for name, r in (("spinning (default)", spin), ("OMP_WAIT_POLICY=PASSIVE", passive)):
        print(f"{name:26s} {args.texts / r['wall']:7.1f} texts/s wall  {args.texts / r['cpu']:7.1f} texts/CPU-s")
    print(f"ratio passive/spinning: {spin['wall'] / passive['wall']:.2f}x wall, {spin['cpu'] / passive['cpu']:.2f}x CPU"
          f"  (load average {load:.1f} at the start)")


if __name__ == "__main__":
    main()
