"""Score a space on a pairs file, and the text-only (OCR + metadata) baseline.

The baseline is what an index without an image tower can do: each picture
becomes the text RapidOCR reads in it plus its metadata (file name words and
any SVG ``<title>``/``<desc>``), embedded by the same text tower.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mmrag.errors import TrainingError
from mmrag.train.data import (
    Group,
    fingerprint,
    group_pairs,
    is_audio_path,
    is_image_path,
    read_pairs,
)
from mmrag.train.evaluate import Metrics, pair_metrics
from mmrag.train.features import decode_images, decode_sounds, embed_texts, frozen_text_encoder
from mmrag.train.loop import tower_embed


def metadata_text(path: str) -> str:
    """File-name words plus SVG title/desc: what an index knows without pixels (the index's own
    ``filename_words``, so code-point and camera names give none, as in an index)."""
    from mmrag.ingest.image import filename_words

    words = [filename_words(Path(path).name)]
    if path.lower().endswith(".svg"):
        try:
            head = Path(path).read_text(encoding="utf-8", errors="replace")[:20000]
            words += re.findall(r"<(?:title|desc)[^>]*>([^<]{1,200})</", head)
        except OSError:
            pass
    return " ".join(w.strip() for w in words if w.strip())


def ocr_texts(paths: Sequence[str], cache: Path, size: int = 256) -> list[str]:
    """RapidOCR text per picture (cached by path list)."""
    f = cache / f"ocr-{fingerprint(list(paths), size)}.json"
    if f.exists():
        return list(json.loads(f.read_text(encoding="utf-8")))
    from rapidocr_onnxruntime import RapidOCR

    engine = RapidOCR()
    arr, ok = decode_images(paths, size, cache)
    texts = []
    for img, good in zip(arr, ok):
        res = engine(img)[0] if good else None
        texts.append(" ".join(r[1] for r in res) if res else "")
    cache.mkdir(parents=True, exist_ok=True)
    f.write_text(json.dumps(texts), encoding="utf-8")
    return texts


def _space(name: str) -> Any:
    from mmrag.config import Config
    from mmrag.registry import resolve

    return resolve("space", name)(Config())


def evaluate_pairs(
    pairs: str | Path,
    space: str = "minilm",
    image_model: str | Path | None = None,
    baseline: bool = False,
    cache: Path | None = None,
    text_encoder: Any = None,
    limit: int = 0,
    seed: int = 0,
    audio_model: str | Path | None = None,
    flat_gate: bool | None = False,
) -> dict[str, dict[str, Metrics]]:
    """``{"tower": {...}, "text-only": {...}}`` metrics on ``pairs`` (one plain
    caption per ``a``; ``limit`` > 0 takes a fixed random subset).

    Pictures in column ``a`` go through the bound image tower (``space`` minilm,
    ``image_model`` None = the shipped one) or, for any other space, through that
    space's own image encoder; sounds through the audio tower ``audio_model``
    (required: none ships; the baseline is then the file name alone); texts in
    column ``a`` through the text encoder. ``flat_gate``: a backbone tower weighs its parts by each
    picture's flatness, as the default ``lite0b`` (and ``lite0e``, ``lite0c``, ``lite0-flat``) does (``None``: if its ``tower.json`` carries a gate).
    """
    from mmrag.space.adapters import load_image_tower
    from mmrag.types import Channel

    groups = group_pairs(read_pairs(pairs))
    if limit and len(groups) > limit:
        idx = sorted(np.random.default_rng(seed).choice(len(groups), limit, replace=False).tolist())
        groups = [groups[i] for i in idx]
    if len(groups) < 2:
        raise TrainingError(f"{pairs}: needs at least 2 pairs to evaluate")
    images = [is_image_path(g.a) for g in groups]
    sounds = [is_audio_path(g.a) for g in groups]
    if (any(images) or any(sounds)) and not (all(images) or all(sounds)):
        raise TrainingError(f"{pairs}: column 'a' mixes pictures, sounds and texts; evaluate one modality per file")
    cache = cache or Path.home() / ".cache" / "mmrag" / "eval"
    built = None if space == "minilm" else _space(space)
    text_encoder = text_encoder or (built.encoders[Channel.TEXT] if built else frozen_text_encoder(space))
    if all(sounds):
        return _evaluate_sounds(groups, audio_model, text_encoder, cache, baseline)
    if not all(images):
        caps = [g.captions[0] for g in groups]
        docs = np.asarray(text_encoder.encode([g.a for g in groups], query=False), dtype=np.float32)
        return {"text": pair_metrics(docs, embed_texts(text_encoder, caps, cache), caps)}
    if built is not None:
        if Channel.IMAGE not in built.encoders:
            raise TrainingError(f"space '{space}' has no image encoder; bind one with 'mmrag train --mode bind'")
        from PIL import Image

        from mmrag.train.data import load_image

        kept, pics = [], []
        for g in groups:
            try:
                pics.append(Image.fromarray(load_image(g.a, 224)))
                kept.append(g)
            except TrainingError:
                continue
        groups = kept
        img_emb = np.asarray(built.encoders[Channel.IMAGE].encode(pics), dtype=np.float32)
        size = 256
    else:
        gate = {"flat_gate": flat_gate} if flat_gate is not False else {}
        tower = load_image_tower(image_model, int(text_encoder.dim), text_encoder=text_encoder.id, **gate)
        from mmrag.space.backbone_tower import BackboneImageEncoder

        if isinstance(tower, BackboneImageEncoder):  # a frozen backbone + heads: cached backbone outputs, then the heads
            from mmrag.train.backbone_cache import backbone_outputs_with_stages

            feats, logits, stages, ok = backbone_outputs_with_stages([g.a for g in groups], cache)
            flat = None
            if getattr(tower, "gate", None) is not None:  # flatness from the cached 64 x 64 decode
                from PIL import Image

                from mmrag.space.backbone_tower import flatness

                small, ok_small = decode_images([g.a for g in groups], 64, cache)
                ok = ok & ok_small
                flat = np.array([flatness(Image.fromarray(a)) for a in small[ok]], dtype=np.float32)
            groups = [g for g, k in zip(groups, ok, strict=True) if k]
            img_emb = tower.vectors(feats[ok], logits[ok], flat, stages[ok])
        else:
            arr, ok = decode_images([g.a for g in groups], tower.image_size, cache)
            groups = [g for g, k in zip(groups, ok, strict=True) if k]
            img_emb = tower_embed(tower.model, arr[ok], "cpu")
        size = 256
    if len(groups) < 2:
        raise TrainingError(f"{pairs}: only {len(groups)} of the pictures in column 'a' could be read; check their "
                            "paths (a relative path is read from the pairs file's folder)")
    caps = [g.captions[0] for g in groups]
    txt = embed_texts(text_encoder, caps, cache)
    results = {"tower" if built is None else space: pair_metrics(img_emb, txt, caps)}
    if baseline:
        ocr = ocr_texts([g.a for g in groups], cache, size)
        docs_t = [f"{metadata_text(g.a)} {o}".strip() for g, o in zip(groups, ocr, strict=True)]
        results["text-only"] = pair_metrics(embed_texts(text_encoder, docs_t, cache), txt, caps)
    return results


def _evaluate_sounds(groups: list[Group], audio_model: str | Path | None, text_encoder: Any, cache: Path,
                     baseline: bool) -> dict[str, dict[str, Metrics]]:
    from mmrag.space.adapters import load_audio_tower

    if audio_model is None:
        raise TrainingError("column 'a' holds sounds: pass --audio-model with a tower from 'mmrag train --modality audio'")
    tower = load_audio_tower(audio_model, int(text_encoder.dim), text_encoder=text_encoder.id)
    flat, offsets, ok = decode_sounds([g.a for g in groups], 60.0, cache)
    clips = [(flat[offsets[i] : offsets[i + 1]].astype(np.float32), 16_000) for i in range(len(groups)) if ok[i]]
    groups = [g for g, k in zip(groups, ok, strict=True) if k]
    if len(groups) < 2:
        raise TrainingError("fewer than 2 readable sounds to evaluate; check the paths in column 'a'")
    caps = [g.captions[0] for g in groups]
    txt = embed_texts(text_encoder, caps, cache)
    results = {"tower": pair_metrics(np.asarray(tower.encode(clips), dtype=np.float32), txt, caps)}
    if baseline:
        names = [metadata_text(g.a) for g in groups]
        results["text-only"] = pair_metrics(embed_texts(text_encoder, names, cache), txt, caps)
    return results


__all__ = ["evaluate_pairs", "metadata_text", "ocr_texts"]
