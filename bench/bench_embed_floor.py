"""The floor under a new text query: the shipped text tower alone, batched as a busy server batches (issue 10).

Issue 10's load target is p50 <= 50 ms with 50 clients firing back to back. With every client always waiting,
Little's law fixes the p50 at ~50 / throughput, so the target needs ~1,000 new texts a second. This bench asks
whether the embedding alone allows that on this machine: the offline space's MiniLM tower, loaded by
``build_minilm_space`` as ``mmrag serve`` loads it (onnxruntime when its export is cached, else torch), encodes
query texts of 3-7 words (the words of ``bench_serve.py``) in batches of 1, 8, 25 and 50 (a full batch is the
best case for 50 clients: every request in flight embedded together). Per batch size: wall and process CPU time
(all threads) per text, the ratio against batch 1 in the same process, the texts a second the two cores could
embed if they did nothing else, and the p50 50 back-to-back clients would see if search, ranking and HTTP were
free (one batch of 50 in flight at a time: its wall time).

    python bench/bench_embed_floor.py --n 400
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_serve import WORDS

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as `mmrag serve` sets it (server/command.py)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=400, help="texts per batch size (default 400)")
    ap.add_argument("--sizes", default="1,8,25,50", help="batch sizes, comma-separated")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from mmrag.config import Config
    from mmrag.space.text import build_minilm_space
    from mmrag.types import Channel

    space = build_minilm_space(Config())
    encoder = space.encoders[Channel("text")]
    cores = len(os.sched_getaffinity(0))
    print(f"text tower: {encoder.id} on {getattr(encoder, 'runtime', 'torch')}; {cores} cores; load {os.getloadavg()[0]:.2f}")
    rng = random.Random(args.seed)
    seen: set[str] = set()

    def new_text() -> str:  # never the same text twice: nothing is cached below the encoder either
        while True:
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 7)))
            if text not in seen:
                seen.add(text)
                return text

    encoder.encode([new_text() for _ in range(8)], query=True)  # warm up the session
    base_cpu = 0.0
    print("| batch | wall ms / text | CPU ms / text | CPU vs batch 1 | texts/s on all cores, embedding only | p50 for 50 back-to-back clients, all else free |")
    print("|---|---|---|---|---|---|")
    for size in (int(s) for s in args.sizes.split(",")):
        batches = [[new_text() for _ in range(size)] for _ in range(max(1, args.n // size))]
        wall, cpu = time.perf_counter(), time.process_time()
        for batch in batches:
            encoder.encode(batch, query=True)
        count = sum(len(b) for b in batches)
        wall_ms = 1000 * (time.perf_counter() - wall) / count
        cpu_ms = 1000 * (time.process_time() - cpu) / count
        base_cpu = base_cpu or cpu_ms
        ceiling = 1000 * cores / cpu_ms
        p50 = 50 * wall_ms if size >= 50 else 50 / min(ceiling, 1000 / wall_ms) * 1000
        print(f"| {size} | {wall_ms:.2f} | {cpu_ms:.2f} | {cpu_ms / base_cpu:.2f} | {ceiling:,.0f} | {p50:,.0f} ms |")
    print("target: p50 <= 50 ms, i.e. ~1,000 new texts/s with every other stage (search, ranking, HTTP) on the same cores")


if __name__ == "__main__":
    main()
