"""Zero-shot classification in the index's shared space (the CLIP classifier recipe, fitted).

Each label becomes a text vector: the mean of its prompt templates ("a photo
of a {}", "a drawing of a {}", ...) through the text tower, renormalised. A
picture is scored against every label by the cosines of its *parts*: with the
offline backbone tower, what the ImageNet backbone sees (ConSE) and the head
trained on drawings are kept apart, each also scaled by how flat the picture
is (drawings are flat, photos are not: the fit leans on ConSE for photos and
on the head for drawings), and the picture's own words (title, keywords, file
name, OCR) join as a text part; the probabilities are
``softmax(sum_k w_k * cos_k / temperature)`` with the inverse temperatures
``w_k`` fitted on held-out labelled pictures (``mmrag.classify_model``), so
``label_p`` is calibrated; ``temperature`` (default 1) only sharpens or
flattens that. Pictures come from files or from the index itself (their
stored thumbnails go through the backbone again; the stored vectors and text
vectors are used where there is no thumbnail), and indexed pictures can be
labelled in place: the label goes into typed fields ``label`` / ``label_p``
and the segment's ``meta`` (``tags = "label:NAME"``).

Why not the tower's one vector: the image tower mixes ConSE with the head at
0.9 (picked for retrieving drawings); on real photos the head is noise and
that mix put rocket.jpg under "cat" at 90 % (bench/bench_classify.py).
"""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mmrag.classify_model import ClassifyModel, fused_logits, load_classify_model, softmax
from mmrag.errors import QueryError
from mmrag.ingest.heard_words import search_words
from mmrag.space.backbone_tower import flatness, flatnesses
from mmrag.stores.base import quote
from mmrag.types import Channel

DEFAULT_TEMPLATES = ("a photo of a {}.", "a drawing of a {}.", "a picture of a {}.", "{}")
DEFAULT_TEMPERATURE = 0.01  # softmax_scores: one cosine at CLIP's logit scale of 100 (the unfitted classifier)


@dataclass(frozen=True)
class Prediction:
    item: str  # file or segment id
    label: str
    probability: float
    scores: dict[str, float]  # label -> probability

    def to_dict(self) -> dict[str, Any]:
        return {"item": self.item, "label": self.label, "probability": round(self.probability, 4),
                "scores": {k: round(v, 4) for k, v in self.scores.items()}}


def read_labels(labels: str | None, labels_file: Path | None) -> list[str]:
    """Labels from ``"cat,dog,car"`` and/or a file (one per line, ``#`` comments)."""
    out: list[str] = []
    if labels:
        out += [x.strip() for x in labels.split(",") if x.strip()]
    if labels_file is not None:
        if not labels_file.is_file():
            raise QueryError(f"labels file {labels_file} does not exist: one label per line.")
        out += [ln.strip() for ln in labels_file.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]
    uniq = list(dict.fromkeys(out))
    if len(uniq) < 2:
        raise QueryError("zero-shot classification needs at least two labels: --labels \"cat,dog,car\" or --labels-file FILE.")
    return uniq


def label_vectors(space: Any, labels: Sequence[str], templates: Sequence[str] = DEFAULT_TEMPLATES) -> np.ndarray:
    """``(L, d)``: each label's mean prompt embedding, renormalised."""
    bad = [t for t in templates if "{}" not in t]
    if bad:
        raise QueryError(f"prompt template {bad[0]!r} has no '{{}}' where the label goes, e.g. 'a photo of a {{}}'.")
    prompts = [t.format(label) for label in labels for t in templates]
    vecs = space.encode(Channel.TEXT, prompts, query=True).reshape(len(labels), len(templates), -1).mean(axis=1)
    return vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)


def softmax_scores(items: np.ndarray, labels: np.ndarray, temperature: float = DEFAULT_TEMPERATURE) -> np.ndarray:
    """``(n, L)`` probabilities (pure)."""
    return softmax((np.asarray(items, dtype=np.float64) @ np.asarray(labels, dtype=np.float64).T) / temperature)


def predictions(names: Sequence[str], probs: np.ndarray, labels: Sequence[str]) -> list[Prediction]:
    out = []
    for name, p in zip(names, probs):
        i = int(np.argmax(p))
        out.append(Prediction(name, labels[i], float(p[i]), {lab: float(v) for lab, v in zip(labels, p)}))
    return out


def image_parts(space: Any, pictures: Sequence[Any]) -> dict[str, np.ndarray]:
    """The image tower's vector (``image``) for these PIL pictures and, where the tower splits, its parts
    (``conse``/``head``: the backbone runs once for all of them) and the same scaled by the picture's
    ``flatness`` (``conse:flat``/``head:flat``: a per-picture scale, linear in the fitted weights)."""
    pictures = list(pictures)
    encoder = space.encoders.get(Channel.IMAGE)
    split = getattr(encoder, "parts", None)
    parts = {k: np.asarray(v, dtype=np.float32) for k, v in split(pictures).items()} if callable(split) else {}
    if not parts:
        return {"image": space.encode(Channel.IMAGE, pictures, query=False)}
    flat = flatnesses(pictures)  # measured once: the parts' scale and the gated tower's weights
    parts |= {f"{k}:flat": v * flat[:, None] for k, v in list(parts.items())}
    mixed = getattr(encoder, "encode_with", None)
    image = mixed(pictures, flat) if callable(mixed) else space.encode(Channel.IMAGE, pictures, query=False)
    return parts | {"image": np.ascontiguousarray(image, dtype=np.float32)}


def text_part(space: Any, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(n, d)`` text vectors of the pictures' own words (zeros where none) and the ``has_text`` mask."""
    has = np.array([bool((t or "").strip()) for t in texts])
    out = np.zeros((len(texts), space.dim), dtype=np.float32)
    if has.any():
        out[has] = space.encode(Channel.TEXT, [t for t, h in zip(texts, has) if h], query=False)
    return out, has


def part_probabilities(model: ClassifyModel, parts: Mapping[str, np.ndarray], labels: np.ndarray,
                       has_text: np.ndarray | None = None, temperature: float = 1.0) -> np.ndarray:
    """``(n, L)`` label probabilities from the parts' cosines and the model's fitted scales (pure)."""
    weights = model.weights_for(tuple(parts))
    cos = {k: np.asarray(v, dtype=np.float64) @ np.asarray(labels, dtype=np.float64).T for k, v in parts.items()}
    return softmax(fused_logits(weights, cos, has_text) / max(float(temperature), 1e-6))


def classify_images(space: Any, config: Any, images: Sequence[Any], labels: Sequence[str], *,
                    templates: Sequence[str] = DEFAULT_TEMPLATES, temperature: float = 1.0, use_text: bool = True,
                    model: ClassifyModel | None = None) -> list[Prediction]:
    """Classify image files (or PIL images) by the image tower's parts and, with ``use_text``, their own words."""
    if not space.has(Channel.IMAGE):
        raise QueryError("this space has no image tower, so pictures cannot be classified by what they show. "
                         "Use a space with one (--space clip, or minilm with its starter tower).")
    from mmrag.query import _load_image

    model = model or load_classify_model(space.spec.encoders)
    loaded = [_load_image(img, config) for img in images]
    parts = image_parts(space, [pil for pil, _ in loaded])
    has = None
    if use_text:
        parts["text"], has = text_part(space, [text for _, text in loaded])
    probs = part_probabilities(model, parts, label_vectors(space, labels, templates), has, temperature)
    return predictions([str(i) for i in images], probs, labels)


def _thumbnail(store: Any, segment_id: str) -> Any:
    """The stored thumbnail as a PIL picture, or ``None``."""
    from PIL import Image, UnidentifiedImageError

    blob = store.thumbnail(segment_id)
    if not blob:
        return None
    try:
        with Image.open(io.BytesIO(blob)) as im:
            return im.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError):
        return None


def classify_index(engine: Any, labels: Sequence[str], *, templates: Sequence[str] = DEFAULT_TEMPLATES,
                   temperature: float = 1.0, where: str | None = None, write: bool = True, use_text: bool = True,
                   limit: int = 100_000, model: ClassifyModel | None = None,
                   progress: Callable[[int, int], None] | None = None) -> list[Prediction]:
    """Classify the indexed pictures (their thumbnails through the image tower's parts, plus their stored text
    vectors); with ``write`` put the label in their fields and meta. ``progress(done, total)`` per batch."""
    store = engine.store
    fetch = getattr(store, "vectors", None)
    if not callable(fetch):
        raise QueryError(f"{type(store).__name__} cannot return stored vectors, so indexed items cannot be classified.")
    probe = np.zeros(store.dim, dtype=np.float32)
    probe[0] = 1.0
    cond = f"channel = {quote(Channel.IMAGE.value)}" + (f" AND ({where})" if where else "")
    found = store.search(probe, limit, cond)
    if not found:
        return []
    model = model or load_classify_model(engine.space.spec.encoders)
    label_vecs = label_vectors(engine.space, labels, templates)
    seg_ids = list(dict.fromkeys(s.row.segment_id for s in found))
    preds: list[Prediction] = []
    for start in range(0, len(seg_ids), BATCH):
        batch = seg_ids[start:start + BATCH]
        vecs = fetch([f"{s}:image" for s in batch] + ([f"{s}:text" for s in batch] if use_text else []))
        batch = [s for s in batch if f"{s}:image" in vecs]
        thumbs = {s: _thumbnail(store, s) for s in batch}
        groups = ([s for s in batch if thumbs[s] is not None], [s for s in batch if thumbs[s] is None])
        for group, seen in zip(groups, (True, False)):
            if not group:
                continue
            parts = image_parts(engine.space, [thumbs[s] for s in group]) if seen else \
                {"image": np.vstack([vecs[f"{s}:image"] for s in group])}
            has = None
            if use_text:
                has = np.array([f"{s}:text" in vecs for s in group])
                parts["text"] = np.vstack([vecs.get(f"{s}:text", np.zeros(store.dim, np.float32)) for s in group])
            preds += predictions(group, part_probabilities(model, parts, label_vecs, has, temperature), labels)
        if progress is not None:
            progress(min(start + BATCH, len(seg_ids)), len(seg_ids))
    order = {s: i for i, s in enumerate(seg_ids)}
    preds.sort(key=lambda p: order[p.item])
    if write:
        from mmrag.ingest.record_fields import add_fields

        sources = [_write_label(store, p) for p in preds]
        add_fields(store, dict.fromkeys(s for s in sources if s), LABEL_FIELDS)
        engine._meta = store.read_meta() or engine._meta  # the engine's field registry: --where label = 'cat'
        engine._samples.invalidate()
    return preds


BATCH = 64
LABEL_FIELDS = {"label": "text", "label_p": "number"}  # typed fields --label-index writes


def _write_label(store: Any, p: Prediction) -> str:
    """Rewrite one segment's rows with its label in ``fields`` (typed, for ``--where label = 'cat'``) and in
    ``meta`` (``tags = label:cat``, as before); returns its source."""
    probe = np.zeros(store.dim, dtype=np.float32)
    probe[0] = 1.0
    rows = [s.row for s in store.search(probe, 16, f"segment_id = {quote(p.item)}")]
    vecs = store.vectors([r.id for r in rows])
    thumb = store.thumbnail(p.item) or b""
    updated = []
    for r in rows:
        meta = r.meta_dict()
        meta.update({"label": p.label, "label_p": f"{p.probability:.3f}", "tags": f"label:{p.label}"})
        typed = r.fields_dict() | {"label": p.label, "label_p": round(float(p.probability), 3)}
        updated.append(dataclasses.replace(r, vector=vecs[r.id], meta=json.dumps(meta), fields=json.dumps(typed),
                                           thumbnail=thumb if r.has_thumbnail else b"", has_thumbnail=None,
                                           heard=search_words(r.text, meta.get("heard_also", ""))))  # reads leave it empty
    store.upsert(updated)
    return rows[0].source if rows else ""


def accuracy(preds: Sequence[Prediction], truth: Sequence[str]) -> float:
    return float(np.mean([p.label == t for p, t in zip(preds, truth)])) if preds else 0.0


__all__ = ["DEFAULT_TEMPLATES", "Prediction", "accuracy", "classify_images", "classify_index", "flatness", "image_parts", "label_vectors",
           "part_probabilities", "read_labels", "softmax_scores", "text_part"]
