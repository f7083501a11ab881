"""Backbone outputs for training pictures, computed once and cached on disk.

A frozen backbone makes binding cheap: every picture goes through it once,
its pooled features, class logits and stage means are stored, and training the small
head on top takes seconds per epoch. The cache holds one small ``.npy`` per
picture (float16, 1280 features + 1000 logits + 704 stage means, 6 KB), keyed by the
backbone's id and the picture's path, so any subset of a collection (a
held-out split, a sample for a benchmark) reuses what was computed before,
and an interrupted run resumes where it stopped. Unreadable pictures are
remembered too (``.bad`` with the reason) and come back with ``ok`` False.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from mmrag.errors import TrainingError

Progress = Callable[[str, int, int], None]
CHUNK = 64


def _key(path: str) -> str:
    return hashlib.sha1(path.encode("utf-8", "surrogatepass")).hexdigest()


def backbone_outputs(
    paths: Sequence[str], cache: Path, progress: Progress | None = None, backbone: Any = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(features (n, 1280), logits (n, 1000), ok (n,))`` for pictures on disk (float32).

    Pictures are decoded like the search path decodes them (alpha on white,
    letterboxed to 224 px; SVG rendered by resvg). Unreadable ones are zeros
    with ``ok`` False.
    """
    feats, logits, _, ok = backbone_outputs_with_stages(paths, cache, progress, backbone)
    return feats, logits, ok


def backbone_outputs_with_stages(
    paths: Sequence[str], cache: Path, progress: Progress | None = None, backbone: Any = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``backbone_outputs`` and the stage means (n, 704): ``(features, logits, stages, ok)``."""
    from mmrag.space.backbone import (
        FEATURE_DIM,
        GRAPH_VERSION,
        INPUT_SIZE,
        N_CLASSES,
        STAGE_DIM,
        load_backbone,
    )
    from mmrag.train.data import load_image

    bb = backbone or load_backbone()
    folder = Path(cache) / f"bb-{bb.id.replace('@', '-')}-{GRAPH_VERSION}"
    folder.mkdir(parents=True, exist_ok=True)
    n = len(paths)
    feats = np.zeros((n, FEATURE_DIM), np.float32)
    logits = np.zeros((n, N_CLASSES), np.float32)
    stages = np.zeros((n, STAGE_DIM), np.float32)
    ok = np.zeros(n, bool)
    cut = (FEATURE_DIM, FEATURE_DIM + N_CLASSES)
    todo: list[int] = []
    for i, p in enumerate(paths):
        f = folder / f"{_key(p)}.npy"
        if f.exists():
            row = np.load(f).astype(np.float32)
            feats[i], logits[i], stages[i], ok[i] = row[: cut[0]], row[cut[0] : cut[1]], row[cut[1] :], True
        elif not (folder / f"{_key(p)}.bad").exists():
            todo.append(i)
    if progress:
        progress("backbone", n - len(todo), n)

    def decode(i: int) -> np.ndarray | None:
        try:
            return load_image(paths[i], INPUT_SIZE)
        except TrainingError as exc:
            (folder / f"{_key(paths[i])}.bad").write_text(str(exc) + "\n", encoding="utf-8")
            return None

    workers = max(1, min(2, os.cpu_count() or 1))
    with ThreadPoolExecutor(workers) as pool:
        for s in range(0, len(todo), CHUNK):
            part = todo[s : s + CHUNK]
            decoded = list(pool.map(decode, part))
            good = [(i, px) for i, px in zip(part, decoded) if px is not None]
            if good:
                out = bb.run_pixels(np.stack([px for _, px in good]))
                for j, (i, _) in enumerate(good):
                    row = np.concatenate([out.features[j], out.logits[j], out.stages[j]]).astype(np.float16)
                    tmp = folder / f"{_key(paths[i])}.tmp.npy"
                    np.save(tmp, row)
                    tmp.replace(folder / f"{_key(paths[i])}.npy")
                    feats[i], logits[i], stages[i], ok[i] = row[: cut[0]], row[cut[0] : cut[1]], row[cut[1] :], True  # as cached
            if progress:
                progress("backbone", n - len(todo) + s + len(part), n)
    return feats, logits, stages, ok


__all__ = ["backbone_outputs", "backbone_outputs_with_stages"]
