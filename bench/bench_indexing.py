"""Indexing throughput of the space encoders: batched (mmrag's encoders) vs one call per item.

The per-item loop is the seed recipe: ``encoder.encode([item])`` for each item,
i.e. one forward pass per text or image. Both run in the same process on the
same inputs, after a warm-up, so the printed ratios compare like with like.

Encoders measured:

- tiny CLIP (random weights, built here with save_pretrained and loaded through
  ``mmrag.space.clip``: the real loading, tokenising, preprocessing and
  windowing code; the network is small, so this mostly measures the pipeline
  overhead that batching removes), text and image towers;
- the real all-MiniLM-L6-v2 (``minilm`` space): short captions, and 160-word
  chunks (the default ``ingest.chunk_words``).

Usage::

    python bench/bench_indexing.py                 # full run
    python bench/bench_indexing.py --quick         # smaller inputs
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.space.tiny_models (the tiny CLIP recipe shared with the tests)
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np


def _captions(n: int, seed: int = 0) -> list[str]:
    from tests.space.tiny_models import WORDS

    rnd = random.Random(seed)
    return [" ".join(rnd.choice(WORDS) for _ in range(rnd.randint(6, 16))) for _ in range(n)]


def _chunks(n: int, words: int = 160, seed: int = 1) -> list[str]:
    from tests.space.tiny_models import WORDS

    rnd = random.Random(seed)
    return [" ".join(rnd.choice(WORDS) for _ in range(words)) for _ in range(n)]


def _images(n: int) -> list[Any]:
    """Real photos from scikit-image (astronaut, coffee, chelsea ...), cropped to varied sizes."""
    from PIL import Image

    try:
        import skimage

        folder = Path(skimage.__file__).parent / "data"
        photos = [
            Image.open(p).convert("RGB") for p in sorted(folder.glob("*.png")) if p.stat().st_size > 50_000
        ]
    except ImportError:
        photos = []
    rng = np.random.default_rng(0)
    if not photos:
        photos = [Image.fromarray(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8))]
    out = []
    for i in range(n):
        img = photos[i % len(photos)]
        w, h = img.size
        cw, ch = int(w * rng.uniform(0.5, 1.0)), int(h * rng.uniform(0.5, 1.0))
        x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        out.append(img.crop((x, y, x + cw, y + ch)))
    return out


def _time(fn: Callable[[], Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def measure(name: str, encoder: Any, items: Sequence[Any], repeat: int) -> dict[str, Any]:
    encoder.encode(list(items[:4]))  # warm-up (allocations, lazy init)
    batched = _time(lambda: encoder.encode(list(items)), repeat)
    single = _time(lambda: [encoder.encode([item]) for item in items], repeat)
    a = encoder.encode(list(items[:8]))
    b = np.concatenate([encoder.encode([item]) for item in items[:8]])
    row = {
        "name": name,
        "n": len(items),
        "batched_per_s": len(items) / batched,
        "single_per_s": len(items) / single,
        "ratio": single / batched,
        "max_abs_diff": float(np.abs(a - b).max()),
    }
    print(
        f"{name:<34} n={row['n']:>4}  batched {row['batched_per_s']:>8.1f}/s  per-item {row['single_per_s']:>8.1f}/s"
        f"  ratio x{row['ratio']:.2f}  (max |batched-single| {row['max_abs_diff']:.1e})",
        flush=True,
    )
    return row


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=512, help="captions per text run")
    parser.add_argument("--images", type=int, default=128, help="images per image run")
    parser.add_argument("--chunks", type=int, default=96, help="160-word chunks for minilm")
    parser.add_argument("--batch-size", type=int, default=32, help="space.batch_size")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (1: steadiest on a shared machine)"
    )
    parser.add_argument("--repeat", type=int, default=2, help="best of N timings")
    parser.add_argument("--quick", action="store_true", help="a quarter of the inputs, one timing")
    args = parser.parse_args(argv)
    if args.quick:
        args.texts, args.images, args.chunks, args.repeat = (
            args.texts // 4,
            args.images // 4,
            args.chunks // 4,
            1,
        )

    import torch

    torch.set_num_threads(args.threads)
    from tests.space.tiny_models import make_tiny_clip

    from mmrag.config import Config, SpaceConfig
    from mmrag.space.clip import build_space
    from mmrag.space.text import build_minilm_space
    from mmrag.types import Channel

    print(
        f"python {platform.python_version()}, torch {torch.__version__}, {args.threads} threads, "
        f"{os.cpu_count()} cpus, batch_size {args.batch_size}, best of {args.repeat}",
        flush=True,
    )
    folder = ROOT / ".cache" / "bench" / "tiny-clip"
    if not (folder / "model.safetensors").is_file():
        make_tiny_clip(folder)
    cfg = Config(space=SpaceConfig(device="cpu", batch_size=args.batch_size))
    clip = build_space(Config(space=SpaceConfig(model=str(folder), device="cpu", batch_size=args.batch_size)))
    minilm = build_minilm_space(cfg)
    captions, images, chunks = _captions(args.texts), _images(args.images), _chunks(args.chunks)
    rows = [
        measure("tiny-clip text (captions)", clip.encoders[Channel.TEXT], captions, args.repeat),
        measure("tiny-clip image (photos)", clip.encoders[Channel.IMAGE], images, args.repeat),
        measure("minilm text (captions)", minilm.encoders[Channel.TEXT], captions, args.repeat),
        measure("minilm text (160-word chunks)", minilm.encoders[Channel.TEXT], chunks, args.repeat),
    ]
    worst = max(r["max_abs_diff"] for r in rows)
    print(
        f"batched vs per-item: ratio min x{min(r['ratio'] for r in rows):.2f}, "
        f"max x{max(r['ratio'] for r in rows):.2f}; same vectors (max diff {worst:.1e})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
