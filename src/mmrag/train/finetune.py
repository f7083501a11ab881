"""``finetune``: update a CLIP/SigLIP model (HF ``transformers``) on a pairs file.

End to end, or only the projection layers and the temperature
(``projection_only``). Recall before/after on the held-out split; the result
is written with ``save_pretrained`` (model + processor) so the ``clip`` space
loads it by path.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mmrag.errors import ModelNotFound, TrainingError
from mmrag.train.data import Group, group_pairs, is_image_path, read_pairs, split_groups
from mmrag.train.evaluate import Metrics, pair_metrics
from mmrag.train.features import decode_images
from mmrag.train.loop import pick_device
from mmrag.train.options import Progress, TrainResult

PROJECTION_NAMES = ("visual_projection", "text_projection", "logit_scale", "logit_bias")


@dataclass(frozen=True)
class FinetuneOptions:
    pairs: str
    base: str  # model folder or hub id
    out: str
    epochs: int = 3
    batch_size: int = 32
    lr: float = 1e-5
    seed: int = 0
    holdout: float = 0.1
    device: str = "auto"
    projection_only: bool = False
    loss: str = "clip"
    threads: int = 0


def _load(base: str, device: str) -> tuple[Any, Any]:
    from transformers import AutoModel, AutoProcessor

    try:
        model = AutoModel.from_pretrained(base)
        processor = AutoProcessor.from_pretrained(base)
    except (OSError, ValueError) as exc:
        raise ModelNotFound(f"cannot load a CLIP/SigLIP model from '{base}' ({exc}); pass --base a local folder saved with save_pretrained") from None
    if not hasattr(model, "get_image_features") or not hasattr(model, "get_text_features"):
        raise TrainingError(f"'{base}' is a {type(model).__name__}, not a two-tower image-text model (CLIP/SigLIP)")
    return model.to(device), processor


def _feats(model: Any, processor: Any, images: np.ndarray | None, texts: list[str] | None, device: str) -> Any:
    import torch

    if images is not None:
        px = processor(images=list(images), return_tensors="pt")["pixel_values"].to(device)
        out = model.get_image_features(pixel_values=px)
    else:
        tok = processor(text=texts, return_tensors="pt", padding="max_length" if "Siglip" in type(model).__name__ else True, truncation=True)
        tok = {k: v.to(device) for k, v in tok.items() if k in ("input_ids", "attention_mask")}
        out = model.get_text_features(**tok)
    if not isinstance(out, torch.Tensor):  # transformers 5 may return a model output
        out = getattr(out, "pooler_output", None) if getattr(out, "pooler_output", None) is not None else out[0]
    return torch.nn.functional.normalize(out.float(), dim=-1)


def _evaluate(model: Any, processor: Any, groups: list[Group], images: np.ndarray, device: str) -> dict[str, Metrics]:
    import torch

    model.eval()
    caps = [g.captions[0] for g in groups]
    with torch.inference_mode():
        ie = torch.cat([_feats(model, processor, images[s : s + 64], None, device) for s in range(0, len(images), 64)])
        te = torch.cat([_feats(model, processor, None, caps[s : s + 64], device) for s in range(0, len(caps), 64)])
    model.train()
    return pair_metrics(ie.cpu().numpy(), te.cpu().numpy(), caps)


def finetune_clip(opts: FinetuneOptions, progress: Progress | None = None) -> TrainResult:
    import torch

    from mmrag.train.losses import clip_loss, siglip_loss

    t0 = time.perf_counter()
    device = pick_device(opts.device)
    torch.set_num_threads(opts.threads or max(1, os.cpu_count() or 1))
    torch.manual_seed(opts.seed)
    groups = [g for g in group_pairs(read_pairs(opts.pairs)) if is_image_path(g.a)]
    if len(groups) < 4:
        raise TrainingError(f"{opts.pairs}: finetune needs at least 4 image-text pairs, found {len(groups)}")
    model, processor = _load(opts.base, device)
    train_g, held_g = split_groups(groups, opts.holdout, opts.seed)
    size = int(getattr(model.config.vision_config, "image_size", 224))
    out = Path(opts.out)
    cache = out / "cache"
    tr_img, tr_ok = decode_images([g.a for g in train_g], size, cache, progress)
    train_g, tr_img = [g for g, k in zip(train_g, tr_ok) if k], tr_img[tr_ok]
    he_img, he_ok = decode_images([g.a for g in held_g], size, cache, progress)
    held_g, he_img = [g for g, k in zip(held_g, he_ok) if k], he_img[he_ok]
    before = {"heldout": _evaluate(model, processor, held_g, he_img, device)} if held_g else {}

    if opts.projection_only:
        for n, p in model.named_parameters():
            p.requires_grad = n.split(".")[0] in PROJECTION_NAMES
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise TrainingError(f"no trainable parameters in '{opts.base}' with --projection-only; train end to end instead")
    optim = torch.optim.AdamW(params, lr=opts.lr, weight_decay=0.1)
    gen = torch.Generator().manual_seed(opts.seed)
    steps = max(1, math.ceil(len(train_g) / opts.batch_size))
    losses: list[float] = []
    model.train()
    for epoch in range(opts.epochs):
        perm = torch.randperm(len(train_g), generator=gen).tolist()
        run = 0.0
        for b in range(steps):
            idx = perm[b * opts.batch_size : (b + 1) * opts.batch_size]
            if len(idx) < 2:
                continue
            caps = [train_g[i].captions[int(torch.randint(len(train_g[i].captions), (1,), generator=gen))] for i in idx]
            ie = _feats(model, processor, tr_img[idx], None, device)
            te = _feats(model, processor, None, caps, device)
            if hasattr(model, "logit_bias") and opts.loss == "siglip":
                loss = siglip_loss(ie, te, model.logit_scale, model.logit_bias)
            else:
                loss = clip_loss(ie, te, model.logit_scale)
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()
            run += float(loss.detach())
            if progress:
                progress("train", epoch * steps + b + 1, opts.epochs * steps)
        losses.append(run / steps)
    after = {"heldout": _evaluate(model, processor, held_g, he_img, device)} if held_g else {}
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return TrainResult(out, before, after, losses, time.perf_counter() - t0, len(train_g), len(held_g), int((~tr_ok).sum() + (~he_ok).sum()))


__all__ = ["FinetuneOptions", "finetune_clip"]
