"""The fitted zero-shot classifier: label probabilities from several cosines with fitted scales.

A picture's logit for a label is a weighted sum of cosines between the label's
prompt vector and each *part* of the picture (the way search fuses channels):

- ``conse``: the backbone's own ImageNet class probabilities carried into the
  text space (ConSE); this is what knows what a *photo* shows;
- ``head``: the head trained on captioned drawings (it knows emoji and clip art,
  and is noise on photos);
- ``image``: a tower's one vector, where it cannot be split (CLIP, or an index
  row whose picture is gone);
- ``text``: the picture's own words (title, keywords, file name, OCR) through
  the text tower, where it has any;
- ``conse:flat`` / ``head:flat``: the same cosines times the picture's flatness
  (``mmrag.classify.flatness``): a drawing's scales differ from a photo's, and
  ``w_conse + w_conse:flat * flatness`` stays linear in the weights.

``p = softmax(sum_k w_k * cos_k)``. The weights are inverse temperatures, one
per part, fitted by maximum likelihood (a conditional logit: the multinomial
negative log-likelihood, L-BFGS with ``w >= 0`` except the gated parts, scipy) on held-out labelled
pictures, so ``label_p`` is calibrated rather than a constant's guess
(``scripts/fit_classify.py`` writes ``mmrag/weights/classify-*.json``). A model
is only used for the encoders it was fitted with; other spaces get one
cosine over the image vector at CLIP's logit scale (100).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = 1
CLIP_SCALE = 100.0  # CLIP's fitted logit scale: the default where no model was fitted for a space
PARTS = ("conse", "head", "conse:flat", "head:flat", "image", "text")


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64 (pure; the backbone's softmax on a float64 copy)."""
    from mmrag.space.backbone import softmax as rows_softmax

    return rows_softmax(np.asarray(z, dtype=np.float64))


def part_cosines(part: str, cos: Mapping[str, np.ndarray], has_text: np.ndarray | None = None) -> np.ndarray:
    """The ``(n, L)`` float64 cosines ``part`` adds to the logits: ``text`` rows are zero for pictures
    without words (``has_text`` false), so their text cosine (of an empty string) weighs nothing (pure)."""
    c = np.asarray(cos[part], dtype=np.float64)
    if part == "text" and has_text is not None:
        c = c * np.asarray(has_text, dtype=np.float64)[:, None]
    return c


def fused_logits(weights: Mapping[str, float], cos: Mapping[str, np.ndarray], has_text: np.ndarray | None = None) -> np.ndarray:
    """``sum_k w_k * cos_k`` over the parts both sides have; ``text`` counts only where ``has_text`` (pure)."""
    shape = next(iter(cos.values())).shape
    z = np.zeros(shape, dtype=np.float64)
    for part, w in weights.items():
        if part in cos:
            z += w * part_cosines(part, cos, has_text)
    return z


@dataclass(frozen=True)
class Task:
    """One labelled classification set: per part, the ``(n, L)`` cosines to its labels; ``y`` the right column."""

    cos: Mapping[str, np.ndarray]
    y: np.ndarray
    has_text: np.ndarray | None = None


def nll(weights: np.ndarray, parts: Sequence[str], tasks: Sequence[Task]) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood over tasks (each task weighs the same) and its gradient (pure)."""
    total, grad = 0.0, np.zeros(len(parts))
    for t in tasks:
        w = dict(zip(parts, weights))
        p = softmax(fused_logits(w, t.cos, t.has_text))
        n = len(t.y) * len(tasks)
        rows = np.arange(len(t.y))
        total -= float(np.log(p[rows, t.y] + 1e-12).sum()) / n
        resid = p.copy()
        resid[rows, t.y] -= 1.0
        for i, part in enumerate(parts):
            if part in t.cos:
                grad[i] += float((resid * part_cosines(part, t.cos, t.has_text)).sum()) / n
    return total, grad


def fit_weights(parts: Sequence[str], tasks: Sequence[Task], start: float = 10.0) -> dict[str, float]:
    """Maximum-likelihood inverse temperatures per part (``>= 0``), scipy's L-BFGS-B."""
    from scipy.optimize import minimize

    bounds = [(-1000.0, 1000.0) if ":" in p else (0.0, 1000.0) for p in parts]  # a gated part may lower a scale
    res = minimize(nll, np.array([0.0 if ":" in p else start for p in parts]), args=(tuple(parts), tuple(tasks)), jac=True,
                   method="L-BFGS-B", bounds=bounds)
    return {p: round(float(w), 4) for p, w in zip(parts, res.x)}


def evaluate(weights: Mapping[str, float], task: Task) -> dict[str, float]:
    """Accuracy, mean confidence, ECE of the top label and NLL of ``weights`` on ``task``."""
    from mmrag.retrieve.relevance import expected_calibration_error

    p = softmax(fused_logits(weights, task.cos, task.has_text))
    right = p.argmax(axis=1) == task.y
    top = p.max(axis=1)
    return {"n": len(task.y), "labels": int(p.shape[1]), "accuracy": round(float(right.mean()), 4),
            "confidence": round(float(top.mean()), 4), "ece": round(expected_calibration_error(top, right), 4),
            "nll": round(float(-np.log(p[np.arange(len(p)), task.y] + 1e-12).mean()), 4)}


@dataclass(frozen=True)
class ClassifyModel:
    """Fitted scales: ``weights`` over the split parts (``conse``, ``head``, ``text``), ``fused`` over a
    tower's one vector (``image``, ``text``: for index rows whose picture cannot be read again)."""

    weights: Mapping[str, float]
    fused: Mapping[str, float]
    encoders: Mapping[str, str] = field(default_factory=dict)  # channel -> encoder id at fit time
    source: str = ""
    report: Mapping[str, Any] = field(default_factory=dict)

    def applies_to(self, encoders: Mapping[str, str]) -> bool:
        return all(encoders.get(ch) == enc for ch, enc in self.encoders.items() if ch in ("text", "image"))

    def weights_for(self, parts: Sequence[str]) -> Mapping[str, float]:
        """The split weights when the picture's parts are there, else the fused ones."""
        return self.weights if any(p in parts for p in self.weights if p != "text") else self.fused

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "weights": dict(self.weights), "fused": dict(self.fused),
                "encoders": dict(self.encoders), "report": dict(self.report)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], source: str = "") -> ClassifyModel:
        if int(d.get("format", 0)) != FORMAT:
            raise ValueError(f"classify model format {d.get('format')!r} is not {FORMAT}")
        return cls({str(k): float(v) for k, v in d["weights"].items()}, {str(k): float(v) for k, v in d["fused"].items()},
                   {str(k): str(v) for k, v in d.get("encoders", {}).items()}, source, dict(d.get("report", {})))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> ClassifyModel:
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")), source=str(path))


UNFITTED = ClassifyModel(weights={"image": CLIP_SCALE}, fused={"image": CLIP_SCALE}, source="unfitted: CLIP's logit scale")


def load_classify_model(encoders: Mapping[str, str]) -> ClassifyModel:
    """The shipped model fitted for these encoders, else ``UNFITTED`` (one cosine at CLIP's scale)."""
    folder = Path(str(resources.files("mmrag") / "weights"))
    for path in sorted(folder.glob("classify-*.json")):
        try:
            model = ClassifyModel.load(path)
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if model.applies_to(encoders):
            return model
    return UNFITTED


__all__ = [
    "CLIP_SCALE",
    "UNFITTED",
    "ClassifyModel",
    "Task",
    "evaluate",
    "fit_weights",
    "fused_logits",
    "load_classify_model",
    "nll",
    "part_cosines",
    "softmax",
]
