"""The image tower that sees: a frozen ImageNet backbone bound into the text space.

Two heads share one backbone pass (``mmrag.space.backbone``):

- **ConSE** (Norouzi et al., 2014, "Zero-shot learning by convex combination
  of semantic embeddings"), no training: the backbone's class probabilities,
  top ``T``, weight the text-space embeddings of the class names
  ("a picture of a tabby."), renormalised. ``conse`` below is that formula.
- **a bound head**: a linear map of the pooled 1280-d features into the text
  space (``head_input = "pooled"``), or of those and the backbone's stage means
  (``"pooled+stages"``, 1984 values: ``lite0e``, ``lite0c``), trained with
  mmrag's contrastive trainer (``mmrag train --mode bind --backbone
  efficientnet-lite0``) on captioned pictures.

The tower's vector is ``normalise((1 - mix) * conse + mix * head)``; ``mix``
is picked on the training collection's held-out split (never on the
collections the figures report as unseen). That split is drawings, where
the head is far better than ConSE, so the fixed mix is 0.9 and photos, where
the head is noise, are barely seen. The gated towers (``lite0b``, the default, ``lite0e``, ``lite0c`` and ``lite0-flat``) therefore
weighs the two per picture by its ``flatness`` (drawings and emoji are flat,
photos are not): ``normalise(w_c(f) * conse + w_h(f) * head)`` with
``w(f) = max(0, a + b * f)``, the ``FlatGate`` read from ``tower.json``
(``flat_gate``; its numbers come from the maximum-likelihood fit of
``scripts/fit_classify.py``, which asks the same question: how much to trust
each part for a picture this flat). A picture's visual features also
form a channel of their own (``VisualEncoder``, channel ``visual``): the
pooled features, centred and projected onto their top principal components
(fitted once on the training pictures, shipped) so they fit the store's one
vector width; only image queries search it.

A checkpoint folder holds ``tower.json`` (``tower.arch = "backbone-head"``)
and ``tower.safetensors``: the class-name embeddings (1000 x d), the head, the
projection (float16, about 2 MB). The backbone itself comes from its own
package.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mmrag.space.backbone import Backbone, softmax

ARCH = "backbone-head"
CONSE_TEMPLATE = "a picture of a {}."


@dataclass(frozen=True)
class BackboneTowerConfig:
    backbone: str = "efficientnet-lite0"
    feature_dim: int = 1280
    out_dim: int = 384
    top_t: int = 10
    mix: float = 0.5  # weight of the trained head against ConSE
    template: str = CONSE_TEMPLATE
    arch: str = ARCH
    head_input: str = "pooled"  # what the head reads: "pooled" (1280) or "pooled+stages" (1280 + 704)

    def to_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> BackboneTowerConfig:
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)


def conse(probs: np.ndarray, class_emb: np.ndarray, top_t: int) -> np.ndarray:
    """ConSE: ``normalise(sum_{top T} p_c * e_c)`` per row (pure).

    ``probs`` (n, C) class probabilities, ``class_emb`` (C, d) unit vectors.
    The top-T probabilities are renormalised to sum to one before weighting.
    """
    probs = np.asarray(probs, dtype=np.float32)
    t = max(1, min(int(top_t), probs.shape[1]))
    top = np.argpartition(-probs, t - 1, axis=1)[:, :t]
    w = np.take_along_axis(probs, top, axis=1)
    w = w / np.maximum(w.sum(axis=1, keepdims=True), 1e-12)
    out = np.einsum("nt,ntd->nd", w, class_emb[top])
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


@dataclass(frozen=True)
class FlatGate:
    """Per-picture weights of ConSE and the head, each a line in the picture's flatness, clipped at 0."""

    conse: tuple[float, float]  # (a, b): w = max(0, a + b * flatness)
    head: tuple[float, float]

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FlatGate:
        def line(key: str) -> tuple[float, float]:
            a, b = (float(x) for x in d[key])
            return a, b

        return cls(line("conse"), line("head"))

    def key(self) -> str:
        """A short digest of the numbers: part of the tower's id, so a refit gate is another space."""
        import hashlib

        text = ",".join(f"{x:.6g}" for x in (*self.conse, *self.head))
        return hashlib.sha256(text.encode()).hexdigest()[:8]


def flatness(picture: Any) -> float:
    """Share of neighbouring pixels (64 x 64, box-averaged) that differ by at most 2 levels (pure).

    Drawings and emoji are flat (measured: 0.71-0.92 for 90 % of Twemoji and OpenMoji), photos are not
    (0.03-0.78 for the GCompris photos; product shots on white are the flattest)."""
    from PIL import Image

    rgb = picture if picture.mode == "RGB" else picture.convert("RGB")
    factor = min(rgb.size) // 256  # a whole-factor box average first: the same means, several times faster on big pictures
    small = rgb.reduce(factor) if factor >= 2 else rgb
    im = np.asarray(small.resize((64, 64), Image.Resampling.BOX)).astype(np.int16)
    across = (np.abs(im[:, 1:] - im[:, :-1]).max(axis=-1) <= 2).mean()
    down = (np.abs(im[1:] - im[:-1]).max(axis=-1) <= 2).mean()
    return float(across + down) / 2


DRAWING_FLATNESS = 0.7  # at or above: a drawing, icon or emoji (90 % of Twemoji and OpenMoji), rarely a photo


def is_drawing(picture: Any) -> bool:
    """Whether a picture is flat like a drawing, an icon or an emoji (``flatness`` >= ``DRAWING_FLATNESS``)."""
    return flatness(picture) >= DRAWING_FLATNESS


def mostly_drawings(pictures: int, flat: int) -> bool:
    """Whether a batch of ``pictures`` of which ``flat`` are drawings is a collection of drawings, icons or emoji:
    at least 20 pictures, four in five of them flat (pure)."""
    return pictures >= 20 and flat >= 0.8 * pictures


def flatnesses(pictures: Sequence[Any]) -> np.ndarray:
    """``flatness`` of each picture, ``(n,)`` float32."""
    return np.array([flatness(p) for p in pictures], dtype=np.float32)


def gated_combine(conse_vec: np.ndarray, head_vec: np.ndarray, flat: np.ndarray, gate: FlatGate) -> np.ndarray:
    """``normalise(w_c(f) * conse + w_h(f) * head)`` per row, ``f`` the row's flatness (pure).
    Where both weights clip to 0 the row is ConSE alone."""
    f = np.asarray(flat, dtype=np.float32).reshape(-1, 1)
    wc = np.maximum(gate.conse[0] + gate.conse[1] * f, 0.0)
    wh = np.maximum(gate.head[0] + gate.head[1] * f, 0.0)
    wc = np.where(wc + wh > 0, wc, 1.0)
    return _unit(wc * conse_vec + wh * head_vec)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


HEAD_INPUTS = ("pooled", "pooled+stages")


def head_features(head_input: str, features: np.ndarray, stages: np.ndarray | None) -> np.ndarray:
    """What a head of that ``head_input`` reads: the pooled features, or those and the stage means (pure)."""
    if head_input == "pooled":
        return np.asarray(features, np.float32)
    if head_input == "pooled+stages":
        if stages is None:
            raise ValueError("this head reads the backbone's stage means too: pass stages")
        return np.concatenate([np.asarray(features, np.float32), np.asarray(stages, np.float32)], axis=1)
    raise ValueError(f"unknown head input {head_input!r}: one of {', '.join(HEAD_INPUTS)}")


def head_vectors(features: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """The bound head: ``normalise(W f + b)`` (pure)."""
    return _unit(np.asarray(features, np.float32) @ weight.T + bias)


def combine(conse_vec: np.ndarray, head_vec: np.ndarray | None, mix: float) -> np.ndarray:
    """``normalise((1 - mix) * conse + mix * head)`` (pure); no head: ConSE alone."""
    if head_vec is None or mix <= 0:
        return _unit(conse_vec)
    return _unit((1.0 - mix) * conse_vec + mix * head_vec)


def project_visual(features: np.ndarray, mean: np.ndarray, components: np.ndarray) -> np.ndarray:
    """Visual-channel vectors: centred features on the principal components, normalised (pure)."""
    return _unit((np.asarray(features, np.float32) - mean) @ components.T)


@dataclass
class BackboneTowerWeights:
    """What the checkpoint holds, as float32 arrays."""

    class_emb: np.ndarray  # (1000, d)
    head_weight: np.ndarray | None  # (d, 1280)
    head_bias: np.ndarray | None  # (d,)
    visual_mean: np.ndarray  # (1280,)
    visual_components: np.ndarray  # (d, 1280)

    def tensors(self) -> dict[str, np.ndarray]:
        out = {"class_emb": self.class_emb, "visual.mean": self.visual_mean, "visual.components": self.visual_components}
        if self.head_weight is not None and self.head_bias is not None:
            out |= {"head.weight": self.head_weight, "head.bias": self.head_bias}
        return out

    @classmethod
    def from_tensors(cls, t: Mapping[str, np.ndarray]) -> BackboneTowerWeights:
        f = {k: np.asarray(v, dtype=np.float32) for k, v in t.items()}
        return cls(f["class_emb"], f.get("head.weight"), f.get("head.bias"), f["visual.mean"], f["visual.components"])


def save_backbone_tower(folder: str | Path, weights: BackboneTowerWeights, meta: Mapping[str, Any]) -> Path:
    """Write ``tower.safetensors`` (float16) + ``tower.json`` (with the weights' sha256)."""
    import json

    from safetensors.numpy import save_file

    from mmrag.space.tower_files import META_FILE, WEIGHTS_FILE, file_sha256

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / (WEIGHTS_FILE + ".tmp")
    save_file({k: np.ascontiguousarray(v, dtype=np.float16) for k, v in weights.tensors().items()}, str(tmp))
    tmp.chmod(0o644)
    tmp.replace(out / WEIGHTS_FILE)
    body = dict(meta) | {"sha256": file_sha256(out / WEIGHTS_FILE)}
    (out / META_FILE).write_text(json.dumps(body, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return out


def load_weights(folder: Path) -> BackboneTowerWeights:
    from safetensors.numpy import load_file

    from mmrag.errors import TrainingError
    from mmrag.space.tower_files import WEIGHTS_FILE

    try:
        return BackboneTowerWeights.from_tensors(load_file(str(folder / WEIGHTS_FILE)))
    except Exception as exc:  # noqa: BLE001 - safetensors raises many types for bad files
        raise TrainingError(f"cannot load the tower weights {folder / WEIGHTS_FILE} ({type(exc).__name__}: {exc}); re-train or re-copy it") from None


class BackboneImageEncoder:
    """Channel ``image``: ConSE + the bound head, into the text space (items are PIL images)."""

    reference: np.ndarray | None = None  # typical pictures' vectors (``references.load_background``)

    def __init__(self, id: str, cfg: BackboneTowerConfig, weights: BackboneTowerWeights, backbone: Backbone,
                 text_encoder: str, meta: Mapping[str, Any], gate: FlatGate | None = None) -> None:
        self.id, self.dim, self.cfg, self.weights = id, cfg.out_dim, cfg, weights
        self.backbone, self.text_encoder, self.meta, self.gate = backbone, text_encoder, meta, gate
        self._lock = threading.Lock()

    def vectors(self, features: np.ndarray, logits: np.ndarray, flat: np.ndarray | None = None,
                stages: np.ndarray | None = None) -> np.ndarray:
        """The tower's vectors; with a gate, ``flat`` (each picture's flatness) weighs ConSE against the head.
        ``stages``: the backbone's stage means, for a head that reads them (``cfg.head_input``)."""
        w = self.weights
        c = conse(softmax(logits), w.class_emb, self.cfg.top_t)
        h = (head_vectors(head_features(self.cfg.head_input, features, stages), w.head_weight, w.head_bias)
             if w.head_weight is not None and w.head_bias is not None else None)
        if self.gate is not None and h is not None:
            if flat is None:
                raise ValueError(f"the tower {self.id} weighs its parts by each picture's flatness: pass flat")
            return gated_combine(c, h, flat, self.gate).astype(np.float32)
        return combine(c, h, self.cfg.mix).astype(np.float32)

    def encode(self, items: Sequence[Any], *, query: bool = False) -> np.ndarray:
        items = list(items)
        return self.encode_with(items, flatnesses(items) if self.gate is not None and items else None)

    def encode_with(self, items: Sequence[Any], flat: np.ndarray | None) -> np.ndarray:
        """``encode`` with each picture's flatness already measured (ignored by an ungated tower)."""
        if len(items) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = self.backbone.run(list(items))
        return self.vectors(out.features, out.logits, flat, out.stages)

    def parts(self, items: Sequence[Any]) -> dict[str, np.ndarray]:
        """What ``encode`` mixes, kept apart (zero-shot classification weighs them by fitted scales):
        ``conse`` (what the ImageNet backbone sees) and ``head`` (the trained head), unit rows."""
        out = self.backbone.run(list(items))
        w = self.weights
        parts = {"conse": conse(softmax(out.logits), w.class_emb, self.cfg.top_t).astype(np.float32)}
        if w.head_weight is not None and w.head_bias is not None:
            head_in = head_features(self.cfg.head_input, out.features, out.stages)
            parts["head"] = head_vectors(head_in, w.head_weight, w.head_bias).astype(np.float32)
        return parts


class VisualEncoder:
    """Channel ``visual``: the backbone's own features (image -> similar image only)."""

    reference: np.ndarray | None = None  # typical pictures' vectors (``references.load_background``)

    def __init__(self, id: str, weights: BackboneTowerWeights, backbone: Backbone) -> None:
        self.id, self.weights, self.backbone = id, weights, backbone
        self.dim = int(weights.visual_components.shape[0])

    def encode(self, items: Sequence[Any], *, query: bool = False) -> np.ndarray:
        if len(items) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = self.backbone.run(list(items))
        return project_visual(out.features, self.weights.visual_mean, self.weights.visual_components).astype(np.float32)


def build_backbone_tower(folder: Path, meta: Mapping[str, Any], digest: str,
                         flat_gate: bool = False) -> tuple[BackboneImageEncoder, VisualEncoder]:
    """Both encoders of a checked ``backbone-head`` checkpoint (see ``adapters.load_image_tower``).

    ``flat_gate``: weigh ConSE and the head per picture by the ``flat_gate`` of ``tower.json`` (the
    default tower); without it, the fixed ``mix`` (indexes built before the gate reopen that way)."""
    from mmrag.errors import TrainingError
    from mmrag.space.backbone import STAGE_DIM, load_backbone

    try:
        cfg = BackboneTowerConfig.from_dict(meta["tower"])
    except (KeyError, TypeError, ValueError) as exc:
        raise TrainingError(f"{folder / 'tower.json'} is not a valid backbone tower description ({exc}); re-run 'mmrag train'") from None
    backbone = load_backbone()
    if cfg.backbone != backbone.id.split("@")[0]:
        raise TrainingError(f"the tower at {folder} was trained on backbone '{cfg.backbone}', but this mmrag has '{backbone.id}'")
    weights = load_weights(folder)
    if cfg.head_input not in HEAD_INPUTS:
        raise TrainingError(f"the tower at {folder} has a head on {cfg.head_input!r}, which this mmrag does not know "
                            f"({', '.join(HEAD_INPUTS)}): upgrade mmrag")
    wanted = cfg.feature_dim + (STAGE_DIM if cfg.head_input == "pooled+stages" else 0)
    if weights.head_weight is not None and weights.head_weight.shape[1] != wanted:
        raise TrainingError(f"the tower at {folder} has a head of {weights.head_weight.shape[1]} inputs, but its "
                            f"head_input {cfg.head_input!r} gives {wanted}: re-train or re-copy it")
    name = str(meta.get("name") or folder.name)
    gate = None
    if flat_gate:
        try:
            gate = FlatGate.from_dict(meta["flat_gate"])
        except (KeyError, TypeError, ValueError) as exc:
            raise TrainingError(f"{folder / 'tower.json'} has no valid 'flat_gate' ({exc}): set space.image_model to "
                                f"'lite0' (the fixed mix) or add the gate") from None
        if weights.head_weight is None:
            raise TrainingError(f"the tower at {folder} has no trained head, so there is nothing to gate: use it without the gate")
    suffix = f"+flat@{gate.key()}" if gate is not None else ""
    tower_id = f"tower:{name}@{digest[:12]}+{backbone.id}{suffix}#image"
    image = BackboneImageEncoder(tower_id, cfg, weights, backbone, str(meta.get("text_encoder", "")), meta, gate)
    visual = VisualEncoder(f"visual:{backbone.id}+pca@{digest[:12]}#visual", weights, backbone)
    from mmrag.space.references import load_background

    refs = load_background(folder)
    image.reference, visual.reference = refs.get("image"), refs.get("visual")
    return image, visual


__all__ = [
    "ARCH",
    "CONSE_TEMPLATE",
    "HEAD_INPUTS",
    "BackboneImageEncoder",
    "BackboneTowerConfig",
    "BackboneTowerWeights",
    "FlatGate",
    "VisualEncoder",
    "build_backbone_tower",
    "combine",
    "conse",
    "flatness",
    "flatnesses",
    "gated_combine",
    "head_features",
    "head_vectors",
    "load_weights",
    "project_visual",
    "save_backbone_tower",
]
