"""The ``clip`` space: any CLIP- or SigLIP-style dual encoder through HF ``transformers``.

Text and image towers of one model are two ``Encoder``s writing into the
model's joint space. Both run batched (``space.batch_size``) under
``torch.inference_mode`` on ``space.device`` and return L2-normalised float32.
Texts longer than the text tower's window (77 tokens for CLIP, 64 for SigLIP)
are split into windows whose vectors are averaged (see ``space/text.py``),
never truncated. SigLIP-family models are fed fixed-length (``max_length``)
padded windows, as they were trained.

Encoder ids look like ``clip:openai/clip-vit-base-patch32@<fingerprint>#text``:
the model family, its name and a fingerprint of config + weights, so an index
built with other weights refuses to open.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mmrag.config import Config
from mmrag.errors import ConfigError, MmragError, ModelNotFound, QueryError
from mmrag.space.base import Encoder, Space, l2_normalize
from mmrag.space.resolve import ResolvedModel, read_model_config, resolve_device, resolve_model
from mmrag.space.text import (
    TextWindower,
    attach_audio_tower,
    check_texts,
    check_tokenizer_files,
    encode_windowed,
    quiet_transformers,
    run_batches,
)
from mmrag.types import Channel

DEFAULT_MODEL = "openai/clip-vit-base-patch32"
_HUGE = 1_000_000


def _pooled(out: Any, what: str) -> Any:
    """The projected features from ``get_*_features`` (a tensor in transformers 4.x, a ModelOutput in 5.x)."""
    import torch

    if isinstance(out, torch.Tensor):
        return out
    pooled = getattr(out, "pooler_output", None)
    if isinstance(pooled, torch.Tensor):
        return pooled
    if isinstance(out, tuple) and len(out) > 1 and isinstance(out[1], torch.Tensor):
        return out[1]
    raise MmragError(
        f"the model's {what} returned {type(out).__name__} without pooled features; unsupported model."
    )


def is_dual_encoder_config(model_config: dict[str, Any]) -> bool:
    """Whether a ``config.json`` describes a text+vision dual encoder (CLIP, SigLIP, ...)."""
    return "text_config" in model_config and "vision_config" in model_config


@dataclass
class DualEncoder:
    """One loaded CLIP/SigLIP model with its tokenizer and image processor."""

    model: Any
    tokenizer: Any
    image_processor: Any
    resolved: ResolvedModel
    family: str  # config.model_type: clip, siglip, siglip2, ...
    device: str
    max_tokens: int
    lock: threading.Lock = field(default_factory=threading.Lock)  # one model, one caller at a time

    @property
    def pad_to_max(self) -> bool:
        return self.family.startswith("siglip")

    def encoder_id(self, channel: Channel) -> str:
        return f"{self.family}:{self.resolved.name}@{self.resolved.fingerprint}#{channel.value}"


def load_dual_encoder(resolved: ResolvedModel, device: str = "auto") -> DualEncoder:
    """Load model, tokenizer and image processor from a resolved folder (never from the network)."""
    import torch
    import transformers
    from transformers import AutoImageProcessor, AutoModel, AutoTokenizer

    model_config = read_model_config(resolved.path)
    if not is_dual_encoder_config(model_config):
        raise ConfigError(
            f"{resolved.name} (model_type '{model_config.get('model_type', '?')}') is not a CLIP/SigLIP-style "
            "text+image model. Use one (e.g. openai/clip-vit-base-patch32), or --space minilm for a text model."
        )
    check_tokenizer_files(resolved)
    target = resolve_device(device)
    path = str(resolved.path)
    dtype_kw = "dtype" if int(transformers.__version__.split(".")[0]) >= 5 else "torch_dtype"
    try:
        with quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            image_processor = AutoImageProcessor.from_pretrained(path, local_files_only=True)
            model = AutoModel.from_pretrained(path, local_files_only=True, **{dtype_kw: torch.float32})
    except ImportError as exc:
        raise ConfigError(
            f"loading {resolved.name} needs a Python package that is not installed ({str(exc)[:300]}). "
            "Install the package it names (SigLIP's tokenizer needs: pip install sentencepiece)."
        ) from None
    except Exception as exc:  # noqa: BLE001 - safetensors, torch and transformers raise many types
        raise ModelNotFound(
            f"cannot load {resolved.name} from {path} ({str(exc)[:300]}). The folder may be incomplete "
            "(config.json, tokenizer files, preprocessor_config.json and weights are all needed): fetch it again."
        ) from None
    for method in ("get_text_features", "get_image_features"):
        if not callable(getattr(model, method, None)):
            raise ConfigError(
                f"{resolved.name} ({type(model).__name__}) has no {method}; it is not a dual encoder."
            )
    model.to(target).eval()
    text_cfg = getattr(model.config, "text_config", None)
    window = int(getattr(text_cfg, "max_position_embeddings", 0) or 77)
    tok_max = int(getattr(tokenizer, "model_max_length", _HUGE) or _HUGE)
    return DualEncoder(
        model=model,
        tokenizer=tokenizer,
        image_processor=image_processor,
        resolved=resolved,
        family=str(model_config.get("model_type") or "clip"),
        device=target,
        max_tokens=min(window, tok_max) if tok_max < _HUGE else window,
    )


class ClipTextEncoder:
    """The text tower: windowed, batched, normalised."""

    def __init__(self, bundle: DualEncoder, batch_size: int = 32) -> None:
        import torch

        self.bundle = bundle
        self.batch_size = int(batch_size)
        self.id = bundle.encoder_id(Channel.TEXT)
        self.windower = TextWindower(bundle.tokenizer, bundle.max_tokens)
        self._torch = torch
        self.dim = int(self._forward([self.windower.framing.wrap([])]).shape[1])

    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        b = self.bundle
        if b.pad_to_max:
            feats = b.tokenizer.pad(
                {"input_ids": batch}, padding="max_length", max_length=b.max_tokens, return_tensors="pt"
            )
        else:
            feats = b.tokenizer.pad({"input_ids": batch}, padding="longest", return_tensors="pt")
        inputs = {k: v.to(b.device) for k, v in feats.items() if k in ("input_ids", "attention_mask")}
        with self._torch.inference_mode():
            out = _pooled(b.model.get_text_features(**inputs), "get_text_features")
        return out.float().cpu().numpy()

    def encode_windows(self, windows: Sequence[Sequence[int]]) -> np.ndarray:
        """Embed already framed windows (one normalised row each); for tests and tools."""
        return run_batches(windows, self._forward, self.batch_size)

    def encode(self, items: Sequence[Any], *, query: bool = False) -> np.ndarray:
        texts = check_texts(items, query=query)
        with (
            self.bundle.lock
        ):  # a fast tokenizer must not be used by two threads at once ("Already borrowed")
            return encode_windowed(
                texts, self.windower, self._forward, self.batch_size, self.dim, query=query
            )


def to_rgb(image: Any, index: int = 0) -> Any:
    """A decoded RGB copy of a PIL image; transparency is laid on white (clip art, SVG renders)."""
    from PIL import Image

    if not isinstance(image, Image.Image):
        raise QueryError(
            f"image #{index} is a {type(image).__name__}, not a PIL image. Open it with PIL first."
        )
    try:
        image.load()
    except (OSError, ValueError, SyntaxError) as exc:
        raise QueryError(
            f"image #{index} cannot be decoded ({exc}). The file may be truncated or corrupt."
        ) from None
    if image.width < 1 or image.height < 1:
        raise QueryError(f"image #{index} is empty ({image.width}x{image.height} pixels).")
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        arr = np.asarray(image, dtype=np.float64)
        span = float(arr.max() - arr.min()) or 1.0
        image = Image.fromarray(((arr - arr.min()) * (255.0 / span)).astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        canvas.alpha_composite(rgba)
        return canvas.convert("RGB")
    return image.convert("RGB") if image.mode != "RGB" else image


def processor_side(image_processor: Any) -> int | None:
    """The largest pixel side the image processor resizes/crops to (224 for CLIP ViT-B/32), if it says."""
    sides: list[int] = []
    for attr in ("size", "crop_size"):
        value: Any = getattr(image_processor, attr, None)
        if isinstance(value, dict):
            sides += [int(v) for k, v in value.items() if k in ("shortest_edge", "height", "width") and v]
        elif hasattr(value, "get"):  # transformers 5 SizeDict
            sides += [int(v) for k in ("shortest_edge", "height", "width") if (v := value.get(k))]
        elif isinstance(value, int):
            sides.append(value)
    return max(sides) if sides else None


def pre_shrink(image: Any, side: int | None) -> Any:
    """Box-reduce a big image to no less than twice ``side`` before the processor's resample.

    A 12-megapixel photo costs the processor's bicubic resize ~0.5 s; an integer
    box reduction first costs a few ms and leaves the model input almost
    unchanged (the final resize still starts from >= 2x its output size).
    """
    if not side:
        return image
    factor = min(image.size) // (2 * side)
    return image.reduce(factor) if factor >= 2 else image


class ClipImageEncoder:
    """The image tower: takes PIL images, batched, normalised."""

    def __init__(self, bundle: DualEncoder, batch_size: int = 32) -> None:
        import torch
        from PIL import Image

        self.bundle = bundle
        self.batch_size = int(batch_size)
        self.id = bundle.encoder_id(Channel.IMAGE)
        self._torch = torch
        self.side = processor_side(bundle.image_processor)
        self.dim = int(self._forward([Image.new("RGB", (32, 32), (127, 127, 127))]).shape[1])

    def _forward(self, images: list[Any]) -> np.ndarray:
        b = self.bundle
        feats = b.image_processor(images=images, return_tensors="pt")
        inputs = {k: v.to(b.device) for k, v in feats.items()}
        with self._torch.inference_mode():
            out = _pooled(b.model.get_image_features(**inputs), "get_image_features")
        return out.float().cpu().numpy()

    def encode(self, items: Sequence[Any], *, query: bool = False) -> np.ndarray:
        images = [pre_shrink(to_rgb(image, i), self.side) for i, image in enumerate(items)]
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self.bundle.lock:
            parts = [
                self._forward(images[i : i + self.batch_size]) for i in range(0, len(images), self.batch_size)
            ]
        return l2_normalize(np.concatenate(parts, axis=0))


def build_clip_space(config: Config, resolved: ResolvedModel, *, reason: str = "") -> Space:
    """The ``clip`` space around an already resolved model folder."""
    bundle = load_dual_encoder(resolved, config.space.device)
    encoders: dict[Channel, Encoder] = {
        Channel.TEXT: ClipTextEncoder(bundle, config.space.batch_size),
        Channel.IMAGE: ClipImageEncoder(bundle, config.space.batch_size),
    }
    audio_note = attach_audio_tower(config, encoders)
    notes = f"text and images by {bundle.family} model {resolved.name} (one joint space); {audio_note}"
    if reason:
        notes = f"{reason} {notes}"
    extra = {
        "reason": reason or "space 'clip' was asked for",
        "model": resolved.name,
        "model_path": str(resolved.path),
        "model_source": resolved.source,
        "family": bundle.family,
        "device": bundle.device,
        "window_tokens": bundle.max_tokens,
    }
    return Space(name="clip", encoders=encoders, notes=notes, extra=extra)


def build_space(config: Config, *, reason: str = "") -> Space:
    """Registry factory for ``clip``: resolve ``space.model`` (default CLIP ViT-B/32) and load it."""
    return build_clip_space(config, resolve_model(config.space.model or DEFAULT_MODEL), reason=reason)


__all__ = [
    "DEFAULT_MODEL",
    "ClipImageEncoder",
    "ClipTextEncoder",
    "DualEncoder",
    "build_clip_space",
    "build_space",
    "is_dual_encoder_config",
    "load_dual_encoder",
    "pre_shrink",
    "processor_side",
    "to_rgb",
]
