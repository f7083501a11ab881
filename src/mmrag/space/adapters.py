"""Bound towers: image encoders trained (``mmrag train --mode bind``) into an
existing frozen text space, loaded as space ``Encoder``s.

A tower checkpoint is a folder with two files:

- ``tower.safetensors``: the weights (float16 to keep it small);
- ``tower.json``: architecture, image size, output dim, the id of the frozen
  text encoder it was bound to (``text_encoder``), training metrics and the
  command that reproduces it.

The encoder id is ``tower:<name>@<sha256[:12] of the weights>#image``, so an
index built with one tower refuses another. ``path=None`` loads the starter
tower shipped inside the package (``mmrag/weights/``, named ``drawings-minilm``;
the files sit directly in that folder so ``package-data = weights/*`` ships them).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from mmrag.errors import ModelNotFound, QueryError, SpaceMismatch, TrainingError

WEIGHTS_FILE = "tower.safetensors"
META_FILE = "tower.json"
SHIPPED = "drawings-minilm"
MINILM_TEXT_ID = "st:all-MiniLM-L6-v2#text"


def shipped_tower_dir() -> Path:
    """Folder of the starter image tower shipped in the package."""
    return Path(str(resources.files("mmrag") / "weights"))


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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

        from mmrag.train.data import to_square_rgb

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


def load_image_tower(path: str | Path | None, text_dim: int, text_encoder: str | None = MINILM_TEXT_ID) -> ImageTowerEncoder:
    """Load a bound image tower checkpoint folder (``None``: the shipped one).

    ``text_dim`` must equal the tower's output dim. ``text_encoder`` (the id
    of the space's text tower, e.g. ``st:all-MiniLM-L6-v2#text``) must equal the
    one the tower was trained against; pass ``None`` to skip that check.
    """
    import torch
    from safetensors.torch import load_file

    from mmrag.train.towers import TowerConfig, build_tower

    folder = shipped_tower_dir() if path is None else Path(path)
    if folder.is_file():
        folder = folder.parent
    weights, meta_file = folder / WEIGHTS_FILE, folder / META_FILE
    if not weights.exists() or not meta_file.exists():
        raise ModelNotFound(
            f"no image tower at {folder}: expected {WEIGHTS_FILE} and {META_FILE}. "
            f"Train one with 'mmrag train PAIRS --mode bind --out {folder}', or set space.image_model to a tower folder."
        )
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        cfg = TowerConfig.from_dict(meta["tower"])
    except (ValueError, KeyError, TypeError) as exc:
        raise TrainingError(f"{meta_file} is not a valid tower description ({exc}); re-run 'mmrag train' to rewrite it") from None
    digest = file_sha256(weights)
    if meta.get("sha256") and meta["sha256"] != digest:
        raise TrainingError(f"{weights} does not match the checksum in {meta_file}: the checkpoint is corrupt or was replaced; re-train or re-copy it")
    if cfg.out_dim != text_dim:
        raise SpaceMismatch(f"the image tower at {folder} writes {cfg.out_dim}-d vectors but the text space has {text_dim} dims: use a tower bound to this space")
    bound_to = str(meta.get("text_encoder", ""))
    if text_encoder is not None and bound_to != text_encoder:
        raise SpaceMismatch(
            f"the image tower at {folder} was bound to text encoder '{bound_to}', not '{text_encoder}': "
            f"use it with that space, or train a tower for this one with 'mmrag train --mode bind --space ...'"
        )
    try:
        state = load_file(str(weights))
        model = build_tower(cfg)
        model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    except Exception as exc:  # noqa: BLE001 - safetensors/torch raise many types for bad files
        raise TrainingError(f"cannot load the image tower weights {weights} ({type(exc).__name__}: {exc}); re-train or re-copy it") from None
    model.eval()
    name = str(meta.get("name") or folder.name)
    del torch
    return ImageTowerEncoder(
        id=f"tower:{name}@{digest[:12]}#image",
        dim=cfg.out_dim,
        model=model,
        image_size=cfg.image_size,
        text_encoder=bound_to,
        meta=meta,
    )


__all__ = ["MINILM_TEXT_ID", "ImageTowerEncoder", "load_image_tower", "save_tower", "shipped_tower_dir"]
