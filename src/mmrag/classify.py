"""Zero-shot classification in the index's shared space (the CLIP classifier recipe).

Each label becomes a text vector: the mean of its prompt templates ("a photo
of a {}", "a drawing of a {}", ...) through the text tower, renormalised. A
picture is classified by a softmax over its cosines to the label vectors,
divided by a temperature (``probs = softmax(cos / T)``). Pictures come from
files (through the image tower) or from the index itself (their stored image
vectors: nothing is re-encoded), and indexed pictures can be labelled in
place: the label goes into the segment's ``meta`` (``label``, ``label_p``
and ``tags = "label:NAME"``), which ``--where "meta LIKE '%label:cat%'"``
filters on.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mmrag.errors import QueryError
from mmrag.stores.base import quote
from mmrag.types import Channel

DEFAULT_TEMPLATES = ("a photo of a {}.", "a drawing of a {}.", "a picture of a {}.", "{}")
DEFAULT_TEMPERATURE = 0.01  # CLIP's logit scale of 100


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
    logits = (np.asarray(items, dtype=np.float64) @ np.asarray(labels, dtype=np.float64).T) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


def predictions(names: Sequence[str], probs: np.ndarray, labels: Sequence[str]) -> list[Prediction]:
    out = []
    for name, p in zip(names, probs):
        i = int(np.argmax(p))
        out.append(Prediction(name, labels[i], float(p[i]), {lab: float(v) for lab, v in zip(labels, p)}))
    return out


def classify_images(space: Any, config: Any, images: Sequence[Any], labels: Sequence[str], *,
                    templates: Sequence[str] = DEFAULT_TEMPLATES, temperature: float = DEFAULT_TEMPERATURE) -> list[Prediction]:
    """Classify image files (or PIL images) through the space's image tower."""
    if not space.has(Channel.IMAGE):
        raise QueryError("this space has no image tower, so pictures cannot be classified by what they show. "
                         "Use a space with one (--space clip, or minilm with its starter tower).")
    from mmrag.query import _load_image

    pils = [_load_image(img, config)[0] for img in images]
    vecs = space.encode(Channel.IMAGE, pils, query=False)
    probs = softmax_scores(vecs, label_vectors(space, labels, templates), temperature)
    return predictions([str(i) for i in images], probs, labels)


def classify_index(engine: Any, labels: Sequence[str], *, templates: Sequence[str] = DEFAULT_TEMPLATES,
                   temperature: float = DEFAULT_TEMPERATURE, where: str | None = None, write: bool = True,
                   limit: int = 100_000) -> list[Prediction]:
    """Classify the indexed pictures by their stored image vectors; with ``write`` put the label in their meta."""
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
    seg_ids = list(dict.fromkeys(s.row.segment_id for s in found))
    vecs = fetch([f"{s}:image" for s in seg_ids])
    seg_ids = [s for s in seg_ids if f"{s}:image" in vecs]
    matrix = np.vstack([vecs[f"{s}:image"] for s in seg_ids])
    preds = predictions(seg_ids, softmax_scores(matrix, label_vectors(engine.space, labels, templates), temperature), labels)
    if write:
        from mmrag.ingest.record_fields import add_fields

        sources = [_write_label(store, p) for p in preds]
        add_fields(store, dict.fromkeys(s for s in sources if s), LABEL_FIELDS)
        engine._meta = store.read_meta() or engine._meta  # the engine's field registry: --where label = 'cat'
        engine._samples.invalidate()
    return preds


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
                                           thumbnail=thumb if r.has_thumbnail else b"", has_thumbnail=None))
    store.upsert(updated)
    return rows[0].source if rows else ""


def accuracy(preds: Sequence[Prediction], truth: Sequence[str]) -> float:
    return float(np.mean([p.label == t for p, t in zip(preds, truth)])) if preds else 0.0


__all__ = ["DEFAULT_TEMPLATES", "Prediction", "accuracy", "classify_images", "classify_index", "label_vectors",
           "read_labels", "softmax_scores"]
