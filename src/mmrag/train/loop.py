"""``bind``: train a new image tower into a frozen text space (LiT-style).

The text side is locked, so every caption is embedded once (cached on disk)
and epochs only run the image tower. Each step draws one of a picture's
captions at random (plain name, prompt templates, name + keywords), augments
the pixels, and applies the chosen contrastive loss; pairs whose target
captions are near-identical (cosine > 0.95) are not treated as negatives.

Held-out recall is measured before and after; a resumable state
(``state.pt``) is written after every epoch and the final tower is saved as
``tower.safetensors`` + ``tower.json`` (see :mod:`mmrag.space.adapters`).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mmrag.errors import TrainingError
from mmrag.train.data import Group, group_pairs, is_image_path, read_pairs, split_groups
from mmrag.train.evaluate import Metrics, pair_metrics
from mmrag.train.features import decode_images, embed_texts

Progress = Callable[[str, int, int], None]  # (task, done, total)


@dataclass(frozen=True)
class BindOptions:
    pairs: str
    out: str
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
    widths: tuple[int, ...] = (32, 64, 128, 256)
    augment: float = 1.0
    threads: int = 0  # 0: all cores
    name: str = ""
    cache_dir: str = ""
    extra_eval: tuple[str, ...] = ()  # more pairs files to evaluate on (other collections)
    command: str = ""


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


def pick_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise TrainingError(f"--device {device} asked for a GPU but torch sees none: use --device cpu or auto")
    return device


def _eval_set(groups: Sequence[Group], images: np.ndarray, text_emb: dict[str, np.ndarray], model: Any, device: str) -> dict[str, Metrics]:
    img_emb = tower_embed(model, images, device)
    caps = [g.captions[0] for g in groups]
    txt = np.stack([text_emb[c] for c in caps])
    return pair_metrics(img_emb, txt, caps)


def tower_embed(model: Any, images: np.ndarray, device: str, batch: int = 256) -> np.ndarray:
    import torch

    was_training = model.training
    model.eval()
    out = []
    with torch.inference_mode():
        for s in range(0, len(images), batch):
            x = torch.from_numpy(images[s : s + batch]).to(device).permute(0, 3, 1, 2).float() / 255.0
            out.append(model(x).float().cpu().numpy())
    model.train(was_training)
    return np.concatenate(out) if out else np.zeros((0, 1), np.float32)


def _load_groups(pairs_file: str) -> list[Group]:
    groups = [g for g in group_pairs(read_pairs(pairs_file)) if is_image_path(g.a)]
    if len(groups) < 4:
        raise TrainingError(f"{pairs_file}: bind --modality image needs at least 4 pictures in column 'a', found {len(groups)}")
    return groups


def _decoded(groups: list[Group], size: int, cache: Path, progress: Progress | None) -> tuple[list[Group], np.ndarray, int]:
    arr, ok = decode_images([g.a for g in groups], size, cache, progress)
    kept = [g for g, k in zip(groups, ok) if k]
    return kept, arr[ok], int((~ok).sum())


def bind_image_tower(opts: BindOptions, text_encoder: Any, progress: Progress | None = None) -> TrainResult:
    """Train an image tower into ``text_encoder``'s frozen space. See module doc."""
    import torch

    from mmrag.space.adapters import save_tower
    from mmrag.train.losses import ContrastiveHead
    from mmrag.train.towers import TowerConfig, augment, build_tower

    t_start = time.perf_counter()
    device = pick_device(opts.device)
    torch.set_num_threads(opts.threads or max(1, os.cpu_count() or 1))
    torch.manual_seed(opts.seed)
    np.random.seed(opts.seed)
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    cache = Path(opts.cache_dir) if opts.cache_dir else out / "cache"

    groups = _load_groups(opts.pairs)
    train_g, held_g = split_groups(groups, opts.holdout, opts.seed)
    train_g, train_img, skip_a = _decoded(train_g, opts.image_size, cache, progress)
    held_g, held_img, skip_b = _decoded(held_g, opts.image_size, cache, progress)
    if len(train_g) < 2:
        raise TrainingError(f"{opts.pairs}: fewer than 2 readable training pictures; check the paths in column 'a'")
    extra = []
    for f in opts.extra_eval:
        g = _load_groups(f)
        g, im, _ = _decoded(g, opts.image_size, cache, progress)
        extra.append((Path(f).stem, g, im))
    all_caps = sorted({c for g in train_g + held_g for c in g.captions} | {g.captions[0] for _, gs, _ in extra for g in gs})
    vecs = embed_texts(text_encoder, all_caps, cache, progress)
    text_emb = dict(zip(all_caps, vecs))
    dim = int(vecs.shape[1])

    cfg = TowerConfig(image_size=opts.image_size, widths=tuple(opts.widths), out_dim=dim)
    model = build_tower(cfg).to(device)
    head = ContrastiveHead(opts.loss).to(device)
    decay = [p for n, p in model.named_parameters() if p.dim() > 1]
    no_decay = [p for n, p in model.named_parameters() if p.dim() <= 1]
    optim = torch.optim.AdamW(
        [{"params": decay, "weight_decay": opts.weight_decay}, {"params": no_decay + list(head.parameters()), "weight_decay": 0.0}],
        lr=opts.lr,
    )
    steps_per_epoch = max(1, math.ceil(len(train_g) / opts.batch_size))
    total = steps_per_epoch * opts.epochs
    warmup = min(steps_per_epoch, max(1, total // 10))

    def lr_at(step: int) -> float:
        if step < warmup:
            return opts.lr * (step + 1) / warmup
        return opts.lr * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))

    gen = torch.Generator().manual_seed(opts.seed)
    losses: list[float] = []
    start_epoch = 0
    state_file = out / "state.pt"
    before_file = out / "before.json"
    if opts.resume and state_file.exists():
        st = torch.load(state_file, map_location=device, weights_only=False)
        model.load_state_dict(st["model"])
        head.load_state_dict(st["head"])
        optim.load_state_dict(st["optim"])
        gen.set_state(st["gen"])
        losses, start_epoch = list(st["losses"]), int(st["epoch"])
        before = _metrics_from_json(json.loads(before_file.read_text())) if before_file.exists() else {}
    else:
        before = {"heldout": _eval_set(held_g, held_img, text_emb, model, device)} if held_g else {}
        for name, g, im in extra:
            before[name] = _eval_set(g, im, text_emb, model, device)
        before_file.write_text(json.dumps(_metrics_to_json(before), indent=2))

    cap_tensors = [torch.from_numpy(np.stack([text_emb[c] for c in g.captions])) for g in train_g]
    images_t = torch.from_numpy(train_img)  # (N, S, S, 3) uint8
    model.train()
    step = start_epoch * steps_per_epoch
    for epoch in range(start_epoch, opts.epochs):
        perm = torch.randperm(len(train_g), generator=gen)
        run = 0.0
        for b in range(steps_per_epoch):
            idx = perm[b * opts.batch_size : (b + 1) * opts.batch_size]
            if len(idx) < 2:
                continue
            x = images_t[idx].to(device).permute(0, 3, 1, 2).float() / 255.0
            x = augment(x, opts.image_size, gen, opts.augment) if opts.augment > 0 else x
            pick = torch.randint(0, 1 << 30, (len(idx),), generator=gen)
            t = torch.stack([cap_tensors[i][int(p) % len(cap_tensors[i])] for i, p in zip(idx.tolist(), pick)]).to(device)
            ignore = (t @ t.T) > 0.95
            for g_ in optim.param_groups:
                g_["lr"] = lr_at(step)
            loss = head(model(x), t, ignore=ignore)
            if not torch.isfinite(loss):
                raise TrainingError(f"the loss diverged (value {float(loss)}) at epoch {epoch + 1}: lower --lr")
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()
            step += 1
            run += float(loss.detach())
            if progress:
                progress("train", step, total)
        losses.append(run / steps_per_epoch)
        tmp = out / "state.pt.tmp"
        torch.save({"model": model.state_dict(), "head": head.state_dict(), "optim": optim.state_dict(),
                    "gen": gen.get_state(), "losses": losses, "epoch": epoch + 1}, tmp)
        tmp.replace(state_file)
        snapshot = {"name": opts.name or out.name, "tower": cfg.to_dict(), "text_encoder": getattr(text_encoder, "id", "unknown"),
                    "losses": [round(x, 4) for x in losses], "epoch": epoch + 1, "command": opts.command, "partial": True}
        save_tower(out, model, snapshot)  # a usable tower after every epoch (final one overwrites it)

    after = {"heldout": _eval_set(held_g, held_img, text_emb, model, device)} if held_g else {}
    for name, g, im in extra:
        after[name] = _eval_set(g, im, text_emb, model, device)
    seconds = time.perf_counter() - t_start
    meta = {
        "name": opts.name or out.name,
        "tower": cfg.to_dict(),
        "text_encoder": getattr(text_encoder, "id", "unknown"),
        "loss": opts.loss,
        "logit_scale": float(head.logit_scale.detach().exp()),
        "losses": [round(x, 4) for x in losses],
        "before": _metrics_to_json(before),
        "after": _metrics_to_json(after),
        "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(opts).items() if k not in ("out", "cache_dir")},
        "n_train": len(train_g),
        "n_heldout": len(held_g),
        "skipped_unreadable": skip_a + skip_b,
        "train_seconds": round(seconds, 1),
        "command": opts.command,
    }
    save_tower(out, model.cpu(), meta)
    return TrainResult(out, before, after, losses, seconds, len(train_g), len(held_g), skip_a + skip_b)


def _metrics_to_json(res: dict[str, dict[str, Metrics]]) -> dict[str, dict[str, dict[str, float]]]:
    return {run: {d: m.to_dict() for d, m in dirs.items()} for run, dirs in res.items()}


def _metrics_from_json(data: dict[str, Any]) -> dict[str, dict[str, Metrics]]:
    out: dict[str, dict[str, Metrics]] = {}
    for run, dirs in data.items():
        out[run] = {}
        for d, m in dirs.items():
            rec = {int(k[2:]): float(v) for k, v in m.items() if k.startswith("R@")}
            ch = {int(k.split("@")[1]): float(v) for k, v in m.items() if k.startswith("chance R@")}
            out[run][d] = Metrics(int(m["n"]), rec, float(m["MRR"]), float(m["nDCG@10"]), ch)
    return out


__all__ = ["BindOptions", "TrainResult", "bind_image_tower", "pick_device", "tower_embed"]
