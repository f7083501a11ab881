"""Bound towers: image and audio encoders trained (``mmrag train --mode bind``)
into an existing frozen text space, loaded as space ``Encoder``s.

A tower checkpoint is a folder with two files:

- ``tower.safetensors``: the weights (float16 to keep it small);
- ``tower.json``: modality, architecture, input size (image pixels or audio
  crop seconds), output dim, the id of the frozen text encoder it was bound to
  (``text_encoder``), training metrics and the command that reproduces it.

The encoder id is ``tower:<name>@<sha256[:12] of the weights>#image`` (or
``#audio``), so an index built with one tower refuses another. ``path=None`` loads the starter
tower shipped inside the package (``mmrag/weights/``, named ``drawings-minilm``;
the files sit directly in that folder so ``package-data = weights/*`` ships them).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmrag.errors import ConfigError, ModelNotFound, QueryError, SpaceMismatch, TrainingError
from mmrag.space.base import Encoder
from mmrag.space.tower_files import META_FILE, WEIGHTS_FILE, file_sha256

if TYPE_CHECKING:  # pragma: no cover
    from mmrag.space.backbone_tower import BackboneImageEncoder

SHIPPED = "drawings-minilm"
MINILM_TEXT_ID = "st:all-MiniLM-L6-v2#text"


def shipped_tower_dir() -> Path:
    """Folder of the starter image tower shipped in the package (the default before the backbone tower)."""
    return Path(str(resources.files("mmrag") / "weights"))


# The shipped backbone towers (EfficientNet-Lite0 + ConSE + a bound head), by the folder under mmrag/weights:
# lite0b (the default): the head on the pooled features, trained on all 7,671 training pictures;
# lite0e (opt-in, for icons, emoji and clip art): a head reading the backbone's stage means too, trained on twice the
# drawn pictures (six Iconify sets beside Open Clip Art and Noto); better on emoji and icons, weaker on photos
# (bench/README.md, "lite0e"); lite0c (the option before it): the same head on lite0b's pictures; lite0: the lite0b
# recipe on a fixed 3,000 of them. Indexes built with one reopen with it.
BACKBONE_TOWERS = ("lite0b", "lite0e", "lite0c", "lite0")
DEFAULT_BACKBONE_TOWER = "lite0b"


def backbone_tower_dir(name: str = DEFAULT_BACKBONE_TOWER) -> Path:
    """Folder of a shipped backbone tower (``BACKBONE_TOWERS``; default: the default tower)."""
    if name not in BACKBONE_TOWERS:
        raise ConfigError(f"no shipped backbone tower named {name!r}: use one of {', '.join(BACKBONE_TOWERS)} or a tower folder")
    return shipped_tower_dir() / name


# ``space.image_model`` keywords of the shipped backbone towers -> (folder under mmrag/weights, whether ConSE and the
# head are weighed per picture by its flatness): lite0b is the default, lite0e and lite0c options; lite0-flat and lite0 reopen older indexes
BACKBONE_KEYWORDS: Mapping[str, tuple[str, bool]] = {
    "lite0b": ("lite0b", True), "lite0e": ("lite0e", True), "lite0c": ("lite0c", True), "lite0-flat": ("lite0", True), "lite0": ("lite0", False),
}


def shipped_backbone(keyword: str) -> tuple[Path, bool] | None:
    """A backbone-tower keyword's shipped folder and whether it is gated by flatness; ``None`` for any other value."""
    found = BACKBONE_KEYWORDS.get(keyword)
    return (backbone_tower_dir(found[0]), found[1]) if found else None


def sound_tower_dir() -> Path:
    """Folder of the shipped sound tower: a head on Whisper tiny.en's encoder bound to MiniLM (the default)."""
    return shipped_tower_dir() / "sound0"


def save_tower(folder: str | Path, model: Any, meta: Mapping[str, Any]) -> Path:
    """Write ``tower.safetensors`` (float16) + ``tower.json`` into ``folder``."""
    import torch
    from safetensors.torch import save_file

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: (v.detach().to("cpu").half() if v.is_floating_point() else v.detach().to("cpu")).contiguous()
             for k, v in model.state_dict().items()}
    tmp = out / (WEIGHTS_FILE + ".tmp")
    save_file(state, str(tmp))
    tmp.chmod(0o644)
    tmp.replace(out / WEIGHTS_FILE)
    body = dict(meta)
    body["sha256"] = file_sha256(out / WEIGHTS_FILE)
    (out / META_FILE).write_text(json.dumps(body, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    del torch
    return out


@dataclass
class ImageTowerEncoder:
    """A bound image tower as a space ``Encoder`` (items are PIL images)."""

    id: str
    dim: int
    model: Any
    image_size: int
    text_encoder: str
    meta: Mapping[str, Any]
    batch_size: int = 64

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def encode(self, items: Sequence[Any], *, query: bool = False) -> np.ndarray:
        import torch

        from mmrag.space.pixels import to_square_rgb

        if len(items) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        arrays = []
        for i, im in enumerate(items):
            if not hasattr(im, "convert") or not hasattr(im, "size"):
                raise QueryError(f"image tower item {i} is a {type(im).__name__}, not a PIL image: open it with PIL.Image.open first")
            try:
                arrays.append(to_square_rgb(im, self.image_size))
            except Exception as exc:  # noqa: BLE001
                raise QueryError(f"image tower item {i} cannot be converted to RGB ({exc})") from None
        out = []
        with self._lock, torch.inference_mode():
            for s in range(0, len(arrays), self.batch_size):
                x = torch.from_numpy(np.stack(arrays[s : s + self.batch_size])).permute(0, 3, 1, 2).float() / 255.0
                out.append(self.model(x).numpy())
        emb = np.concatenate(out).astype(np.float32)
        return emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)


@dataclass
class AudioTowerEncoder:
    """A bound audio tower as a space ``Encoder`` (items are ``(samples, sample_rate)`` tuples).

    Any sample rate and channel count is accepted (mixed to 16 kHz mono). A
    clip longer than the tower's crop is embedded as the renormalised mean of
    its non-silent crops; a shorter one is repeated to fill the crop.
    """

    id: str
    dim: int
    model: Any
    clip_samples: int
    text_encoder: str
    meta: Mapping[str, Any]
    batch_size: int = 32

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def encode(self, items: Sequence[Any], *, query: bool = False) -> np.ndarray:
        from mmrag.space.logmel_tower import embed_clips
        from mmrag.space.sound_tower import mono_clips

        clips = mono_clips(items)
        if not clips:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return embed_clips(self.model, clips, self.clip_samples, batch=self.batch_size)


def _read_tower(folder: Path, modality: str, text_dim: int, text_encoder: str | None) -> tuple[dict[str, Any], str, str]:
    """Check a tower folder: ``(meta, weights sha256, modality)``. See ``load_image_tower``."""
    weights, meta_file = folder / WEIGHTS_FILE, folder / META_FILE
    if not weights.exists() or not meta_file.exists():
        raise ModelNotFound(
            f"no {modality} tower at {folder}: expected {WEIGHTS_FILE} and {META_FILE}. "
            f"Train one with 'mmrag train PAIRS --mode bind --modality {modality} --out {folder}', "
            f"or set space.{modality}_model to a tower folder"
            + (f" or a shipped one: {DEFAULT_BACKBONE_TOWER} (the default), "
               f"{', '.join(k for k in BACKBONE_KEYWORDS if k != DEFAULT_BACKBONE_TOWER)}, shipped, or off."
               if modality == "image" else ".")
        )
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        tower = dict(meta["tower"])
        out_dim = int(tower["out_dim"])
    except (ValueError, KeyError, TypeError) as exc:
        raise TrainingError(f"{meta_file} is not a valid tower description ({exc}); re-run 'mmrag train' to rewrite it") from None
    found = str(meta.get("modality") or tower.get("modality") or "image")
    if found != modality:
        raise SpaceMismatch(
            f"the tower at {folder} embeds {found}, not {modality}: set space.{found}_model to it, "
            f"or train a {modality} tower with 'mmrag train --mode bind --modality {modality}'"
        )
    digest = file_sha256(weights)
    if meta.get("sha256") and meta["sha256"] != digest:
        raise TrainingError(f"{weights} does not match the checksum in {meta_file}: the checkpoint is corrupt or was replaced; re-train or re-copy it")
    if out_dim != text_dim:
        raise SpaceMismatch(f"the {modality} tower at {folder} writes {out_dim}-d vectors but the text space has {text_dim} dims: use a tower bound to this space")
    bound_to = str(meta.get("text_encoder", ""))
    if text_encoder is not None and bound_to != text_encoder:
        raise SpaceMismatch(
            f"the {modality} tower at {folder} was bound to text encoder '{bound_to}', not '{text_encoder}': "
            f"use it with that space, or train a tower for this one with 'mmrag train --mode bind --space ...'"
        )
    return meta, digest, found


def _load_weights(folder: Path, model: Any) -> Any:
    from safetensors.torch import load_file

    weights = folder / WEIGHTS_FILE
    try:
        state = load_file(str(weights))
        model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    except Exception as exc:  # noqa: BLE001 - safetensors/torch raise many types for bad files
        raise TrainingError(f"cannot load the tower weights {weights} ({type(exc).__name__}: {exc}); re-train or re-copy it") from None
    model.eval()
    return model


def _folder(path: str | Path | None) -> Path:
    folder = shipped_tower_dir() if path is None else Path(path).expanduser()
    return folder.parent if folder.is_file() else folder


def _open_tower(path: str | Path | None, modality: str, text_dim: int, text_encoder: str | None,
                config_cls: Any, build: Any) -> tuple[dict[str, Any], Any, Any, str]:
    """Checked checkpoint → ``(meta, config, model with its weights, encoder id)``."""
    folder = _folder(path)
    meta, digest, _ = _read_tower(folder, modality, text_dim, text_encoder)
    try:
        cfg = config_cls.from_dict(meta["tower"])
        model = build(cfg)
    except (ValueError, KeyError, TypeError) as exc:
        raise TrainingError(f"{folder / META_FILE} is not a valid {modality} tower description ({exc}); re-run 'mmrag train'") from None
    name = str(meta.get("name") or folder.name)
    return meta, cfg, _load_weights(folder, model), f"tower:{name}@{digest[:12]}#{modality}"


def load_image_tower(path: str | Path | None, text_dim: int, text_encoder: str | None = MINILM_TEXT_ID,
                     flat_gate: bool | None = False) -> ImageTowerEncoder | BackboneImageEncoder:
    """Load a bound image tower checkpoint folder (``None``: the shipped one).

    ``flat_gate`` (backbone towers only): weigh ConSE against the head per picture by its flatness
    (``mmrag.space.backbone_tower.FlatGate``), as the default ``lite0b`` (and ``lite0e``, ``lite0c``, ``lite0-flat``) does; ``None``: if the
    folder's ``tower.json`` carries a ``flat_gate`` (towers fine-tuned from ``lite0`` inherit it).

    ``text_dim`` must equal the tower's output dim. ``text_encoder`` (the id
    of the space's text tower, e.g. ``st:all-MiniLM-L6-v2#text``) must equal the
    one the tower was trained against; pass ``None`` to skip that check.
    """
    folder = _folder(path)
    meta, digest, _ = _read_tower(folder, "image", text_dim, text_encoder)
    if dict(meta.get("tower") or {}).get("arch") == "backbone-head":  # a frozen backbone + heads (+ its visual channel)
        from mmrag.space.backbone_tower import build_backbone_tower

        gated = "flat_gate" in meta if flat_gate is None else flat_gate
        image, visual = build_backbone_tower(folder, meta, digest, flat_gate=gated)
        image.visual = visual  # type: ignore[attr-defined]
        return image
    if flat_gate is True:
        raise ConfigError(f"the image tower at {folder} is not a backbone tower, so it has no flatness gate: "
                          f"name its folder in space.image_model instead")
    from mmrag.space.cnn_tower import (  # torch: only for a CNN tower, not the backbone's
        TowerConfig,
        build_tower,
    )

    meta, cfg, model, tower_id = _open_tower(path, "image", text_dim, text_encoder, TowerConfig, build_tower)
    return ImageTowerEncoder(id=tower_id, dim=cfg.out_dim, model=model, image_size=cfg.image_size,
                             text_encoder=str(meta.get("text_encoder", "")), meta=meta)


def load_audio_tower(path: str | Path, text_dim: int, text_encoder: str | None = MINILM_TEXT_ID) -> Encoder:
    """Load a bound audio tower checkpoint folder (written by ``mmrag train --mode bind --modality audio``).

    The same checks as ``load_image_tower``: output dim, the text encoder it was bound to, checksum.
    A Whisper-encoder tower runs in numpy (``space/sound_tower.py``: no torch import); a log-mel CNN
    tower in torch. A ``background.npz`` in the folder becomes the encoder's ``reference``.
    """
    folder = _folder(path)
    meta, digest, _ = _read_tower(folder, "audio", text_dim, text_encoder)
    if str(dict(meta.get("tower") or {}).get("arch", "audioconv")) == "whisper":
        from mmrag.space.references import load_background
        from mmrag.space.sound_tower import WhisperSoundEncoder, read_head

        weights = read_head(folder / WEIGHTS_FILE)
        if weights.out_dim != text_dim:
            raise SpaceMismatch(f"the audio tower at {folder} writes {weights.out_dim}-d vectors but the text space has {text_dim} dims")
        name = str(meta.get("name") or folder.name)
        return WhisperSoundEncoder(id=f"tower:{name}@{digest[:12]}#audio", dim=text_dim, weights=weights,
                                   text_encoder=str(meta.get("text_encoder", "")), meta=meta,
                                   reference=load_background(folder).get("audio"))
    from types import SimpleNamespace

    from mmrag.space.logmel_tower import audio_tower_config, build_audio_tower

    configs = SimpleNamespace(from_dict=audio_tower_config)  # log-mel CNN or Whisper-encoder head, by 'arch'
    meta, cfg, model, tower_id = _open_tower(path, "audio", text_dim, text_encoder, configs, build_audio_tower)
    return AudioTowerEncoder(id=tower_id, dim=cfg.out_dim, model=model, clip_samples=cfg.clip_samples,
                             text_encoder=str(meta.get("text_encoder", "")), meta=meta)


__all__ = [
    "BACKBONE_KEYWORDS",
    "BACKBONE_TOWERS",
    "DEFAULT_BACKBONE_TOWER",
    "MINILM_TEXT_ID",
    "AudioTowerEncoder",
    "ImageTowerEncoder",
    "backbone_tower_dir",
    "load_audio_tower",
    "load_image_tower",
    "save_tower",
    "shipped_backbone",
    "shipped_tower_dir",
    "sound_tower_dir",
]
