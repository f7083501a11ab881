"""``bind``: train a new image or audio tower into a frozen text space (LiT-style).

The text side is locked, so every caption is embedded once (cached on disk)
and epochs only run the new tower. Each step draws one of an item's
captions at random (plain name, prompt templates, name + keywords), augments
the input (pictures: crop, flip, colour jitter; sounds: a random crop, added
noise and SpecAugment masks), and applies the chosen contrastive loss; pairs
whose target captions are near-identical (cosine > 0.95) are not treated as
negatives; a pairs file's ``hard_negatives`` (items wrong for a caption)
join that caption's text→item denominator (``hard_negatives.py``).

What differs between pictures and sounds lives in one small "kit" per
modality (``_ImageKit``, ``_SoundKit``): which rows of a pairs file it takes,
how inputs are decoded and cached, the tower, a training batch, and how the
held-out set is embedded. The loop itself is shared.

Held-out recall is measured before and after; a resumable state
(``state.pt``) is written after every epoch and the final tower is saved as
``tower.safetensors`` + ``tower.json`` (see :mod:`mmrag.space.adapters`).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from mmrag.errors import TrainingError
from mmrag.train.data import Group, group_pairs, is_audio_path, is_image_path, read_pairs, split_groups
from mmrag.train.evaluate import Metrics, pair_metrics
from mmrag.train.features import decode_images, decode_sounds, embed_texts
from mmrag.train.hard_negatives import decode_negatives, hard_batch
from mmrag.train.options import BindOptions, Progress, TrainResult
from mmrag.train.steps import optimizer_step


def pick_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise TrainingError(f"--device {device} asked for a GPU but torch sees none: use --device cpu or auto")
    return device


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


class _ImageKit:
    """Pictures: column ``a`` holds image paths; inputs are letterboxed RGB squares."""

    noun = "pictures"

    def __init__(self, opts: BindOptions) -> None:
        self.opts = opts

    def takes(self, value: str) -> bool:
        return is_image_path(value)

    def decode(self, groups: list[Group], cache: Path, progress: Progress | None) -> tuple[list[Group], Any, int]:
        arr, ok = decode_images([g.a for g in groups], self.opts.image_size, cache, progress)
        return [g for g, k in zip(groups, ok) if k], arr[ok], int((~ok).sum())

    def build(self, dim: int) -> tuple[Any, dict[str, object]]:
        from mmrag.space.cnn_tower import TowerConfig, build_tower

        cfg = TowerConfig(image_size=self.opts.image_size, widths=tuple(self.opts.widths) or TowerConfig.widths, out_dim=dim)
        return build_tower(cfg), cfg.to_dict()

    def prepare(self, data: Any) -> Any:
        import torch

        return torch.from_numpy(data)  # (N, S, S, 3) uint8

    def batch(self, prepared: Any, idx: Any, gen: Any, device: str) -> Any:
        from mmrag.train.augment import augment

        x = prepared[idx].to(device).permute(0, 3, 1, 2).float() / 255.0
        return augment(x, self.opts.image_size, gen, self.opts.augment) if self.opts.augment > 0 else x

    def embed(self, model: Any, data: Any, device: str) -> np.ndarray:
        return tower_embed(model, data, device)


class _SoundKit:
    """Sounds: column ``a`` holds audio paths; inputs are 16 kHz mono crops of ``clip_seconds``."""

    noun = "sounds"

    def __init__(self, opts: BindOptions) -> None:
        self.opts = opts
        from mmrag.space.logmel_tower import SAMPLE_RATE

        self.clip = round(opts.clip_seconds * SAMPLE_RATE)

    def takes(self, value: str) -> bool:
        return is_audio_path(value)

    def decode(self, groups: list[Group], cache: Path, progress: Progress | None) -> tuple[list[Group], Any, int]:
        flat, offsets, ok = decode_sounds([g.a for g in groups], max(self.opts.max_seconds, self.opts.clip_seconds), cache, progress)
        clips = [flat[offsets[i] : offsets[i + 1]] for i in range(len(groups)) if ok[i]]
        return [g for g, k in zip(groups, ok) if k], clips, int((~ok).sum())

    def build(self, dim: int) -> tuple[Any, dict[str, object]]:
        from mmrag.space.logmel_tower import AudioTowerConfig, build_audio_tower

        cfg = AudioTowerConfig(clip_seconds=self.opts.clip_seconds, widths=tuple(self.opts.widths) or AudioTowerConfig.widths, out_dim=dim)
        return build_audio_tower(cfg), cfg.to_dict()

    def prepare(self, data: Any) -> Any:
        return data

    def batch(self, prepared: Any, idx: Any, gen: Any, device: str) -> Any:
        import torch

        from mmrag.space.logmel_tower import crop_at

        rows = []
        for i in idx.tolist():
            clip = prepared[i]
            span = max(1, len(clip) - self.clip + 1)
            rows.append(crop_at(clip, self.clip, int(torch.randint(0, span, (1,), generator=gen))))
        x = torch.from_numpy(np.stack(rows)).to(device)
        if self.opts.augment > 0:  # background noise at 10-40 dB SNR on half the clips
            n = len(rows)
            rms = x.pow(2).mean(dim=1, keepdim=True).sqrt()
            snr_db = 10 + 30 * torch.rand(n, 1, generator=gen).to(device)
            on = (torch.rand(n, 1, generator=gen) < 0.5 * self.opts.augment).to(device)
            noise = torch.randn(x.shape, generator=gen).to(device) * rms / (10 ** (snr_db / 20))
            x = x + noise * on
        return x

    def embed(self, model: Any, data: Any, device: str) -> np.ndarray:
        from mmrag.space.logmel_tower import embed_clips

        return embed_clips(model, data, self.clip, device)


class _WhisperSoundKit(_SoundKit):
    """Sounds through Whisper's frozen encoder: pooled states cached once per clip
    (the whole clip + random sub-crops); training runs only the small head."""

    def decode(self, groups: list[Group], cache: Path, progress: Progress | None) -> tuple[list[Group], Any, int]:
        from mmrag.train.whisper_tower import whisper_views

        kept, clips, skipped = super().decode(groups, cache, progress)
        return kept, whisper_views(clips, self.clip, cache, self.opts.seed, progress), skipped

    def build(self, dim: int) -> tuple[Any, dict[str, object]]:
        from mmrag.space.whisper_head import WhisperHead, WhisperTowerConfig

        cfg = WhisperTowerConfig(clip_seconds=self.opts.clip_seconds, out_dim=dim)
        return WhisperHead(cfg), cfg.to_dict()

    def prepare(self, data: Any) -> Any:
        import torch

        return torch.from_numpy(data)  # (N, 1 + views, 2 * state dim)

    def batch(self, prepared: Any, idx: Any, gen: Any, device: str) -> Any:
        import torch

        views = prepared[idx]  # (B, V, D)
        if self.opts.augment <= 0:
            return views[:, 0].to(device)
        pick = torch.randint(0, views.shape[1], (len(idx),), generator=gen)
        return views[torch.arange(len(idx)), pick].to(device)

    def embed(self, model: Any, data: Any, device: str) -> np.ndarray:
        import torch

        was = model.training
        model.eval()
        with torch.inference_mode():
            out = model(torch.from_numpy(np.ascontiguousarray(data[:, 0])).to(device)).float().cpu().numpy()
        model.train(was)
        return out

    def reference(self, model: Any, data: Any, device: str, n: int = 256) -> dict[str, np.ndarray]:
        """The tower's reference sample (``space/references.py``): its vectors of up to ``n`` training
        clips (a seeded random subset), so search can calibrate an index that holds only a few sounds."""
        pick = np.sort(np.random.default_rng(self.opts.seed).permutation(len(data))[:n])
        return {"audio": self.embed(model, data[pick], device)}


AUDIO_BACKBONES = ("whisper", "logmel")
DEFAULT_AUDIO_BACKBONE = "whisper"


def _kit(opts: BindOptions) -> _ImageKit | _SoundKit:
    if opts.modality == "image":
        return _ImageKit(opts)
    if opts.modality == "audio":
        backbone = opts.backbone or DEFAULT_AUDIO_BACKBONE
        if backbone not in AUDIO_BACKBONES:
            raise TrainingError(f"unknown audio backbone '{backbone}': use --backbone whisper or logmel")
        return _WhisperSoundKit(opts) if backbone == "whisper" else _SoundKit(opts)
    raise TrainingError(f"bind cannot train a tower for modality '{opts.modality}': use --modality image or audio")


def _eval_set(kit: _ImageKit | _SoundKit, groups: Sequence[Group], data: Any, text_emb: dict[str, np.ndarray], model: Any, device: str) -> dict[str, Metrics]:
    emb = kit.embed(model, data, device)
    caps = [g.captions[0] for g in groups]
    txt = np.stack([text_emb[c] for c in caps])
    return pair_metrics(emb, txt, caps)


def _load_groups(pairs_file: str, kit: _ImageKit | _SoundKit) -> list[Group]:
    groups = [g for g in group_pairs(read_pairs(pairs_file)) if kit.takes(g.a)]
    if len(groups) < 4:
        raise TrainingError(
            f"{pairs_file}: bind --modality {kit.opts.modality} needs at least 4 {kit.noun} in column 'a', found {len(groups)}"
        )
    return groups


def bind_image_tower(opts: BindOptions, text_encoder: Any, progress: Progress | None = None) -> TrainResult:
    """Train an image tower into ``text_encoder``'s frozen space (``opts.modality`` is ignored)."""
    from dataclasses import replace

    return bind_tower(replace(opts, modality="image"), text_encoder, progress)


def bind_tower(opts: BindOptions, text_encoder: Any, progress: Progress | None = None) -> TrainResult:
    """Train a tower for ``opts.modality`` into ``text_encoder``'s frozen space. See module doc."""
    import torch

    from mmrag.space.adapters import save_tower
    from mmrag.train.losses import ContrastiveHead

    if opts.backbone not in ("", "none") and opts.modality == "image":
        from mmrag.train.bind_backbone import bind_backbone

        return bind_backbone(opts, text_encoder, progress)  # type: ignore[no-any-return]
    kit = _kit(opts)

    t_start = time.perf_counter()
    device = pick_device(opts.device)
    torch.set_num_threads(opts.threads or max(1, os.cpu_count() or 1))
    torch.manual_seed(opts.seed)
    np.random.seed(opts.seed)
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    cache = Path(opts.cache_dir) if opts.cache_dir else out / "cache"

    groups = _load_groups(opts.pairs, kit)
    train_g, held_g = split_groups(groups, opts.holdout, opts.seed)
    train_g, train_data, skip_a = kit.decode(train_g, cache, progress)
    held_g, held_data, skip_b = kit.decode(held_g, cache, progress)
    if len(train_g) < 2:
        raise TrainingError(f"{opts.pairs}: fewer than 2 readable training {kit.noun}; check the paths in column 'a'")
    extra = []
    for f in opts.extra_eval:
        g, data, _ = kit.decode(_load_groups(f, kit), cache, progress)
        stem = Path(f).stem
        extra.append((stem if stem != "heldout" else Path(f).name, g, data))  # "heldout" names the trainer's own split
    all_caps = sorted({c for g in train_g + held_g for c in g.captions} | {g.captions[0] for _, gs, _ in extra for g in gs})
    vecs = embed_texts(text_encoder, all_caps, cache, progress)
    text_emb = dict(zip(all_caps, vecs))
    dim = int(vecs.shape[1])

    model, tower_cfg = kit.build(dim)
    model = model.to(device)
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
        before = {"heldout": _eval_set(kit, held_g, held_data, text_emb, model, device)} if held_g else {}
        for name, g, data in extra:
            before[name] = _eval_set(kit, g, data, text_emb, model, device)
        before_file.write_text(json.dumps(_metrics_to_json(before), indent=2))

    cap_tensors = [torch.from_numpy(np.stack([text_emb[c] for c in g.captions])) for g in train_g]
    inputs = kit.prepare(train_data)
    negatives = decode_negatives(kit, train_g, cache, progress)
    model.train()
    step = start_epoch * steps_per_epoch
    for epoch in range(start_epoch, opts.epochs):
        perm = torch.randperm(len(train_g), generator=gen)
        run = 0.0
        for b in range(steps_per_epoch):
            idx = perm[b * opts.batch_size : (b + 1) * opts.batch_size]
            if len(idx) < 2:
                continue
            x = kit.batch(inputs, idx, gen, device)
            pick = torch.randint(0, 1 << 30, (len(idx),), generator=gen)
            t = torch.stack([cap_tensors[i][int(p) % len(cap_tensors[i])] for i, p in zip(idx.tolist(), pick)]).to(device)
            ignore = (t @ t.T) > 0.95
            for g_ in optim.param_groups:
                g_["lr"] = lr_at(step)
            hard, hard_mask = hard_batch(kit, model, negatives, idx, gen, device)
            loss = head(model(x), t, ignore=ignore, hard=hard, hard_mask=hard_mask)
            optimizer_step(optim, loss, epoch)
            step += 1
            run += float(loss.detach())
            if progress:
                progress("train", step, total)
        losses.append(run / steps_per_epoch)
        tmp = out / "state.pt.tmp"
        torch.save({"model": model.state_dict(), "head": head.state_dict(), "optim": optim.state_dict(),
                    "gen": gen.get_state(), "losses": losses, "epoch": epoch + 1}, tmp)
        tmp.replace(state_file)
        snapshot = {"name": opts.name or out.name, "modality": opts.modality, "tower": tower_cfg, "text_encoder": getattr(text_encoder, "id", "unknown"),
                    "losses": [round(x, 4) for x in losses], "epoch": epoch + 1, "command": opts.command, "partial": True}
        save_tower(out, model, snapshot)  # a usable tower after every epoch (final one overwrites it)

    after = {"heldout": _eval_set(kit, held_g, held_data, text_emb, model, device)} if held_g else {}
    for name, g, data in extra:
        after[name] = _eval_set(kit, g, data, text_emb, model, device)
    seconds = time.perf_counter() - t_start
    meta = {
        "name": opts.name or out.name,
        "modality": opts.modality,
        "tower": tower_cfg,
        "text_encoder": getattr(text_encoder, "id", "unknown"),
        "loss": opts.loss,
        "logit_scale": float(head.logit_scale.detach().exp()),
        "losses": [round(x, 4) for x in losses],
        "before": _metrics_to_json(before),
        "after": _metrics_to_json(after),
        "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(opts).items() if k not in ("out", "cache_dir")},
        "n_train": len(train_g),
        "n_heldout": len(held_g),
        "hard_negatives": 0 if negatives is None else int(negatives[2].sum()),
        "skipped_unreadable": skip_a + skip_b,
        "train_seconds": round(seconds, 1),
        "command": opts.command,
    }
    save_tower(out, model.cpu(), meta)
    if isinstance(kit, _WhisperSoundKit):
        from mmrag.space.references import save_background

        save_background(out, kit.reference(model, train_data, "cpu"))
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


__all__ = ["BindOptions", "TrainResult", "bind_image_tower", "bind_tower", "pick_device", "tower_embed"]
