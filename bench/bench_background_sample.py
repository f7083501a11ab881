"""The calibration background: drawn by the rows' keys (before) or by what the rows hold (now).

``VectorIndex.sample`` gives search the 512 vectors a channel's scores are calibrated against. It was a
seeded choice of the rows' keys, which come from the row ids, which come from the files' paths; it is now
the vectors with the smallest content keys (``stores/sampling.py``) while the channel holds at most
``CONTENT_ROWS``. This bench builds indexes of N random unit vectors (384-d, as MiniLM's), times both
ways in the same process (the key choice is kept here as the baseline), and checks what each gives when
the same vectors come under other keys in another order (the same files in another folder). The sample
is drawn once per channel and kept until the channel changes, so this is a cost per write, not per query.

    python bench/bench_background_sample.py --sizes 1000 5000 20000 --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from checkout import add_src, use_src


def by_keys(index: object, n: int, seed: int = 0) -> np.ndarray:
    """The baseline: ``VectorIndex.sample`` as it was, a seeded choice of the sorted keys."""
    keys = np.sort(index.keys())  # type: ignore[attr-defined]
    if n < len(keys):
        keys = keys[np.sort(np.random.default_rng(seed).choice(len(keys), size=n, replace=False))]
    return index.vectors(keys)  # type: ignore[attr-defined,no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--n", type=int, default=512, help="the sample's size (search.calibration_sample)")
    add_src(ap)
    args = ap.parse_args()
    use_src(args.src)
    from mmrag.stores.ann import AnnParams, VectorIndex, keys_of

    print(f"source measured: {args.src}")
    print("| rows | index | by keys (before) | by content (now) | ratio | same sample in another folder: before / now |")
    print("|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for size in args.sizes:
        v = rng.standard_normal((size, 384)).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        here, there = VectorIndex(384, AnnParams()), VectorIndex(384, AnnParams())
        here.add(keys_of(f"/home/me/docs/{i}:text" for i in range(size)), v)
        order = rng.permutation(size)
        there.add(keys_of(f"/tmp/copy/docs/{i}:text" for i in order), v[order])
        times: dict[str, list[float]] = {"keys": [], "content": []}
        for _ in range(args.rounds):
            started = time.perf_counter()
            by_keys(here, args.n)
            times["keys"].append(time.perf_counter() - started)
            started = time.perf_counter()
            here.sample(args.n)
            times["content"].append(time.perf_counter() - started)
        old, new = statistics.median(times["keys"]), statistics.median(times["content"])
        same_old = np.array_equal(np.sort(by_keys(here, args.n), axis=0), np.sort(by_keys(there, args.n), axis=0))
        same_new = np.array_equal(here.sample(args.n), there.sample(args.n))
        print(f"| {size:,} | {here.mode} | {old * 1000:.1f} ms | {new * 1000:.1f} ms | ×{new / old:.1f} | "
              f"{'yes' if same_old else 'no'} / {'yes' if same_new else 'no'} |")


if __name__ == "__main__":
    main()
