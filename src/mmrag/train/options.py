"""What a training run takes and gives back: ``BindOptions``, ``TrainResult`` and the
progress callback type. A leaf module, so every trainer (``loop``, ``bind_backbone``,
``finetune``) imports these without importing another trainer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mmrag.train.evaluate import Metrics

Progress = Callable[[str, int, int], None]  # (task, done, total)


@dataclass(frozen=True)
class BindOptions:
    pairs: str
    out: str
    modality: str = "image"  # image | audio
    epochs: int = 5
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 0.05
    loss: str = "clip"
    seed: int = 0
    holdout: float = 0.1
    resume: bool = False
    device: str = "auto"
    image_size: int = 64
    widths: tuple[int, ...] = ()  # () = the modality's default (image 32,64,128,256; audio 16,32,64,128)
    augment: float = 1.0
    clip_seconds: float = 4.0  # audio: the tower's crop length
    max_seconds: float = 10.0  # audio: training keeps the first this-many seconds of each sound
    # the frozen backbone: image "efficientnet-lite0" (a head on cached backbone outputs) or "" (a CNN from
    # scratch); audio "whisper" (a head on Whisper's frozen encoder, the default when "") or "logmel" (a CNN)
    backbone: str = ""
    threads: int = 0  # 0: all cores
    name: str = ""
    cache_dir: str = ""
    extra_eval: tuple[str, ...] = ()  # more pairs files to evaluate on (other collections)
    command: str = ""
    max_pictures: int = 0  # backbone: train on a fixed random subset of this many pictures (0 = all)
    head_input: str = "pooled"  # backbone: what the head reads, "pooled" (1280) or "pooled+stages" (+704 stage means)
    init: str = ""  # backbone: fine-tune this tower's head ("lite0b" = the shipped default, "lite0e", "lite0c", "lite0", or a folder) instead of a new one


@dataclass(frozen=True)
class TrainResult:
    out: Path
    before: dict[str, dict[str, Metrics]]
    after: dict[str, dict[str, Metrics]]
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    n_train: int = 0
    n_heldout: int = 0
    skipped: int = 0


__all__ = ["BindOptions", "Progress", "TrainResult"]
