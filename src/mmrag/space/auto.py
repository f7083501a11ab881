"""The ``auto`` space: pick ``clip`` when its weights can be had, else the offline ``minilm``.

Decision (``choose_space``, fast: < 3 s when offline):

1. ``space.model`` set: that model is used, whatever it takes (path, cache or
   download); a CLIP/SigLIP-style model gives ``clip``, a sentence-transformers
   model gives a text space. If it cannot be resolved, that is an error, never
   a silent switch to another model.
2. else the default CLIP model is in the local HF cache: ``clip``.
3. else the hub is reachable and ``HF_HUB_OFFLINE`` is not set: ``clip``
   (downloaded once into the HF cache).
4. else ``minilm``, the offline text space.

The chosen space says which and why in ``space.extra["reason"]`` and at the
start of ``space.notes``.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmrag.config import Config
from mmrag.errors import ConfigError
from mmrag.space.base import Space
from mmrag.space.clip import DEFAULT_MODEL, build_clip_space, build_space, is_dual_encoder_config
from mmrag.space.resolve import (
    DEFAULT_HUB_TIMEOUT_S,
    ResolvedModel,
    find_in_cache,
    hub_status,
    read_model_config,
    resolve_model,
)
from mmrag.space.text import build_minilm_space, build_text_space


@dataclass(frozen=True)
class SpaceChoice:
    """What ``auto`` decided, before anything heavy is loaded."""

    name: str  # "clip" | "minilm"
    reason: str
    resolved: ResolvedModel | None = None  # set when the model folder is already known


def _explicit(model: str) -> SpaceChoice:
    resolved = resolve_model(model)  # raises ModelNotFound with the offline recipe
    model_config = read_model_config(resolved.path)
    if is_dual_encoder_config(model_config):
        kind = model_config.get("model_type", "dual encoder")
        return SpaceChoice(
            "clip", f"space.model {model} is a {kind} text+image model ({resolved.source}).", resolved
        )
    if (resolved.path / "modules.json").is_file():
        return SpaceChoice(
            "minilm",
            f"space.model {model} is a sentence-transformers text model ({resolved.source}).",
            resolved,
        )
    raise ConfigError(
        f"space.model {model} is neither a CLIP/SigLIP-style model nor a sentence-transformers model "
        f"(model_type '{model_config.get('model_type', '?')}'). Give one of those, or --space clip/minilm."
    )


def choose_space(config: Config, *, timeout: float = DEFAULT_HUB_TIMEOUT_S) -> SpaceChoice:
    """Decide between ``clip`` and ``minilm`` (see the module docstring)."""
    if config.space.model:
        return _explicit(config.space.model)
    cached = find_in_cache(DEFAULT_MODEL)
    if cached is not None:
        return SpaceChoice(
            "clip", f"{DEFAULT_MODEL} is in the local Hugging Face cache: using the 'clip' space."
        )
    reachable, why = hub_status(timeout)
    if reachable:
        return SpaceChoice(
            "clip",
            f"{DEFAULT_MODEL} is not cached but the hub is reachable ({why}): downloading it for 'clip'.",
        )
    return SpaceChoice(
        "minilm",
        f"{DEFAULT_MODEL} is not in the local HF cache and the hub cannot be used ({why}): "
        f"using the offline 'minilm' space. "
        f"For CLIP image search, get the CLIP weights on a connected machine and pass --model PATH.",
    )


def build_auto_space(config: Config) -> Space:
    """Registry factory for ``auto``."""
    choice = choose_space(config)
    if choice.name == "clip":
        if choice.resolved is not None:
            return build_clip_space(config, choice.resolved, reason=choice.reason)
        return build_space(config, reason=choice.reason)
    if choice.resolved is not None:
        return build_text_space(config, choice.resolved, name="minilm", reason=choice.reason)
    return build_minilm_space(config, reason=choice.reason)


__all__ = ["SpaceChoice", "build_auto_space", "choose_space"]
