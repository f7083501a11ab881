"""``bind --backbone``: bind a frozen ImageNet backbone into a frozen text space.

LiT's recipe on a CPU budget: the backbone never changes, so every picture
goes through it once (``backbone_cache``), and training touches only a
linear head on the pooled features, or on those and the stage means
(``--head-input pooled+stages``, as ``lite0e`` and ``lite0c``) (seconds per epoch). Steps:

1. backbone outputs for the training pictures and the held-out split, cached;
2. the ConSE class-name embeddings ("a picture of a tabby.") by the frozen
   text tower;
3. the head: ``W f + b`` trained with the chosen contrastive loss (CLIP by
   default) against one caption per picture per step (drawn from its
   captions), same-caption pairs masked out of the negatives, AdamW with a
   cosine schedule;
4. ``mix`` (head vs ConSE) picked on the held-out split: the value with the
   best mean of text->image and image->text R@10;
5. the visual channel's projection: the training pictures' features,
   centred, top ``d`` principal components;
6. held-out recall (and any ``--eval-pairs`` sets) for ConSE, the head and
   the mix, written into ``tower.json`` with the command;
7. ``background.npz``: the tower's vectors of up to 256 training pictures, the
   reference sample search tops up a channel of only a few pictures with
   (a fine-tune copies its base tower's instead).

``--init TOWER`` fine-tunes instead of starting afresh (the feedback loop:
a few dozen exported pairs): the head starts from that tower's ``W, b``
(use a small ``--lr``: the fine-tune sees only the judged pictures), and the
tower's ConSE class vectors, ``mix`` and visual projection are kept (a handful of pictures can
neither pick a mix nor span a PCA). Hard negatives of a pairs file
(``hard_negatives``: pictures wrong for the caption) are run through the
backbone too and join each caption's softmax denominator (``losses.py``).
"""

from __future__ import annotations

import math
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmrag.errors import TrainingError
from mmrag.space.references import BACKGROUND_FILE
from mmrag.space.references import save_background as write_background
from mmrag.train.data import Group, group_pairs, is_image_path, read_pairs, split_groups
from mmrag.train.evaluate import Metrics, pair_metrics
from mmrag.train.features import embed_texts
from mmrag.train.steps import optimizer_step

if TYPE_CHECKING:
    from mmrag.space.backbone_tower import BackboneTowerConfig, BackboneTowerWeights

Progress = Callable[[str, int, int], None]
MIX_GRID = tuple(round(x * 0.1, 1) for x in range(11))


def _groups(pairs: str) -> list[Group]:
    groups = [g for g in group_pairs(read_pairs(pairs)) if is_image_path(g.a)]
    if len(groups) < 4:
        raise TrainingError(f"{pairs}: bind needs at least 4 pictures in column 'a', found {len(groups)}")
    return groups


def _outputs(groups: list[Group], cache: Path, progress: Progress | None) -> tuple[list[Group], np.ndarray, np.ndarray, np.ndarray]:
    """The readable groups and their pooled features, logits and stage means."""
    from mmrag.train.backbone_cache import backbone_outputs_with_stages

    feats, logits, stages, ok = backbone_outputs_with_stages([g.a for g in groups], cache, progress)
    return [g for g, k in zip(groups, ok) if k], feats[ok], logits[ok], stages[ok]


def class_embeddings(text_encoder: Any, template: str, cache: Path) -> np.ndarray:
    from mmrag.space.backbone import class_names

    texts = [template.format(name) for name in class_names()]
    return np.asarray(embed_texts(text_encoder, texts, cache), dtype=np.float32)


def train_head(
    feats: np.ndarray,
    captions: Sequence[np.ndarray],
    opts: Any,
    progress: Progress | None = None,
    *,
    init: tuple[np.ndarray, np.ndarray] | None = None,
    hard: tuple[np.ndarray, Sequence[Sequence[int]]] | None = None,
) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Train ``W f + b`` by contrast; returns ``(W, b, loss per epoch)``.

    ``init``: a head ``(W, b)`` on raw features to start from. ``hard``:
    ``(features of hard-negative pictures, per training item the rows of its
    negatives)``."""
    import torch

    from mmrag.train.losses import ContrastiveHead

    torch.manual_seed(opts.seed)
    dim = int(captions[0].shape[1])
    x_all = torch.from_numpy(np.asarray(feats, np.float32))
    mu, sd = x_all.mean(0, keepdim=True), x_all.std(0, keepdim=True) + 1e-3
    proj = torch.nn.Linear(x_all.shape[1], dim)
    if init is not None:  # the same map in standardised coordinates: W (sd x' + mu) + b
        with torch.no_grad():
            w_raw, b_raw = torch.from_numpy(np.asarray(init[0], np.float32)), torch.from_numpy(np.asarray(init[1], np.float32))
            proj.weight.copy_(w_raw * sd)
            proj.bias.copy_(b_raw + (w_raw * mu).sum(1))
    neg_x = neg_index = neg_mask = None
    if hard is not None and len(hard[0]) and any(len(r) for r in hard[1]):
        from mmrag.train.hard_negatives import hard_slots

        neg_x = (torch.from_numpy(np.asarray(hard[0], np.float32)) - mu) / sd
        idx_np, mask_np = hard_slots(hard[1])
        neg_index, neg_mask = torch.from_numpy(idx_np), torch.from_numpy(mask_np)
    head = ContrastiveHead(opts.loss)
    optim = torch.optim.AdamW([{"params": [proj.weight], "weight_decay": opts.weight_decay},
                               {"params": [proj.bias, *head.parameters()], "weight_decay": 0.0}], lr=opts.lr)
    caps = [torch.from_numpy(np.asarray(c, np.float32)) for c in captions]
    n = len(caps)
    steps = max(1, math.ceil(n / opts.batch_size))
    total = steps * opts.epochs
    warm = min(steps, max(1, total // 10))
    gen = torch.Generator().manual_seed(opts.seed)
    losses: list[float] = []
    step = 0
    for epoch in range(opts.epochs):
        perm = torch.randperm(n, generator=gen)
        run = 0.0
        for b in range(steps):
            idx = perm[b * opts.batch_size : (b + 1) * opts.batch_size]
            if len(idx) < 2:
                continue
            lr = opts.lr * (step + 1) / warm if step < warm else opts.lr * 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))
            for g in optim.param_groups:
                g["lr"] = lr
            x = (x_all[idx] - mu) / sd
            if opts.augment > 0:  # feature dropout: the head cannot lean on a few features
                x = x * (torch.rand(x.shape, generator=gen) > 0.2 * opts.augment) / (1 - 0.2 * opts.augment)
            pick = torch.randint(0, 1 << 30, (len(idx),), generator=gen)
            t = torch.stack([caps[i][int(p) % len(caps[i])] for i, p in zip(idx.tolist(), pick)])
            hard_emb = hard_mask = None
            if neg_x is not None and neg_index is not None and neg_mask is not None:
                rows, hard_mask = neg_index[idx], neg_mask[idx]
                hard_emb = torch.nn.functional.normalize(proj(neg_x[rows.reshape(-1)]), dim=-1).reshape(*rows.shape, dim)
            loss = head(torch.nn.functional.normalize(proj(x), dim=-1), t, ignore=(t @ t.T) > 0.95, hard=hard_emb, hard_mask=hard_mask)
            optimizer_step(optim, loss, epoch)  # with loop.py's divergence check
            step += 1
            run += float(loss.detach())
            if progress:
                progress("train", step, total)
        losses.append(run / steps)
    # fold the standardisation into the linear map: W (f - mu) / sd + b
    w = (proj.weight.detach() / sd).numpy()
    bias = (proj.bias.detach() - (proj.weight.detach() * (mu / sd)).sum(1)).numpy()
    return w.astype(np.float32), bias.astype(np.float32), losses


def fit_visual(feats: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, components (dim, F))``: principal components of the centred features."""
    x = np.asarray(feats, np.float64)
    mean = x.mean(axis=0)
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    comps = np.zeros((dim, x.shape[1]), np.float32)  # fewer pictures than dims: the rest stay zero
    comps[: min(dim, len(vt))] = vt[:dim]
    return mean.astype(np.float32), comps


def _runs(enc: Any, feats: np.ndarray, logits: np.ndarray, stages: np.ndarray) -> dict[str, np.ndarray]:
    from mmrag.space.backbone import softmax
    from mmrag.space.backbone_tower import combine, conse, head_features, head_vectors

    w = enc.weights
    c = conse(softmax(logits), w.class_emb, enc.cfg.top_t)
    h = head_vectors(head_features(enc.cfg.head_input, feats, stages), w.head_weight, w.head_bias)
    return {"conse": c, "head": h, "mixed": combine(c, h, enc.cfg.mix)}


def save_background(out: Path, enc: Any, feats: np.ndarray, logits: np.ndarray, seed: int, n: int = 256,
                    stages: np.ndarray | None = None) -> Path:
    """The tower's reference sample (``space/references.py``): its ``image`` and ``visual`` vectors of up
    to ``n`` training pictures (a seeded random subset; the fixed ``mix``, also for a gated tower), so
    search can calibrate a channel that holds only a few pictures."""
    from mmrag.space.backbone_tower import project_visual

    pick = np.sort(np.random.default_rng(seed).permutation(len(feats))[:n])
    w = enc.weights
    vecs = {"image": enc.vectors(feats[pick], logits[pick], stages=stages[pick] if stages is not None else None),
            "visual": project_visual(feats[pick], w.visual_mean, w.visual_components)}
    return write_background(out, vecs)


def _score(emb: np.ndarray, txt: np.ndarray, caps: list[str]) -> dict[str, Metrics]:
    return pair_metrics(emb, txt, caps)


def _init_folder(ref: str) -> Path:
    from mmrag.space.adapters import BACKBONE_TOWERS, backbone_tower_dir

    return backbone_tower_dir(ref) if ref in BACKBONE_TOWERS else Path(ref).expanduser()


def _init_tower(ref: str) -> tuple[BackboneTowerConfig, BackboneTowerWeights, dict[str, Any]]:
    """The tower ``--init`` names: ``lite0b`` (the shipped default), ``lite0e``, ``lite0c``, ``lite0`` or a ``backbone-head`` tower folder."""
    import json

    from mmrag.space.backbone import ARCH
    from mmrag.space.backbone_tower import BackboneTowerConfig, load_weights

    folder = _init_folder(ref)
    meta_file = folder / "tower.json"
    if not meta_file.is_file():
        raise TrainingError(f"--init {ref}: no tower.json in {folder}; pass lite0b, lite0e, lite0c, lite0 or a folder written by mmrag train --backbone {ARCH}")
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    if (meta.get("tower") or {}).get("arch") != "backbone-head":
        raise TrainingError(f"--init {ref}: {folder} is not a backbone-head tower (arch {(meta.get('tower') or {}).get('arch')!r}); "
                            f"pass lite0b, lite0e, lite0c, lite0 or a folder written by mmrag train --backbone {ARCH}")
    return BackboneTowerConfig.from_dict(meta["tower"]), load_weights(folder), meta


def _hard_negatives(groups: list[Group], cache: Path, progress: Progress | None,
                    head_input: str = "pooled") -> tuple[np.ndarray, list[list[int]]] | None:
    """What the head reads of the groups' hard-negative pictures and, per group, its rows (unreadable ones dropped)."""
    from mmrag.space.backbone_tower import head_features
    from mmrag.train.backbone_cache import backbone_outputs_with_stages

    paths = list(dict.fromkeys(n for g in groups for n in g.negatives if is_image_path(n)))
    if not paths:
        return None
    feats, _, stages, ok = backbone_outputs_with_stages(paths, cache, progress)
    row = {p: i for i, p in enumerate(p for p, k in zip(paths, ok) if k)}
    return head_features(head_input, feats[ok], stages[ok]), [[row[n] for n in g.negatives if n in row] for g in groups]


def bind_backbone(opts: Any, text_encoder: Any, progress: Progress | None = None) -> Any:
    """Train and save a ``backbone-head`` tower (``opts``: ``loop.BindOptions``)."""
    from mmrag.space.backbone import ARCH, load_backbone
    from mmrag.space.backbone_tower import (
        HEAD_INPUTS,
        BackboneImageEncoder,
        BackboneTowerConfig,
        BackboneTowerWeights,
        head_features,
        save_backbone_tower,
    )
    from mmrag.train.options import TrainResult

    if opts.backbone != ARCH:
        raise TrainingError(f"--backbone {opts.backbone} is not available: use --backbone {ARCH}")
    if opts.head_input not in HEAD_INPUTS:
        raise TrainingError(f"--head-input {opts.head_input}: use one of {', '.join(HEAD_INPUTS)}")
    base = _init_tower(opts.init) if opts.init else None
    head_input = base[0].head_input if base is not None else opts.head_input  # a fine-tune keeps its base head's input
    t0 = time.perf_counter()
    import torch

    torch.set_num_threads(opts.threads or max(1, os.cpu_count() or 1))
    out = Path(opts.out)
    cache = Path(opts.cache_dir) if opts.cache_dir else out / "cache"
    train_g, held_g = split_groups(_groups(opts.pairs), opts.holdout, opts.seed)
    if opts.max_pictures and len(train_g) > opts.max_pictures:  # a fixed random subset (the same for a seed)
        order = np.random.default_rng(opts.seed).permutation(len(train_g))[: opts.max_pictures]
        train_g = [train_g[i] for i in sorted(order.tolist())]
    if opts.max_pictures and len(held_g) > opts.max_pictures // 8:
        order = np.random.default_rng(opts.seed).permutation(len(held_g))[: max(2, opts.max_pictures // 8)]
        held_g = [held_g[i] for i in sorted(order.tolist())]
    asked = len(train_g) + len(held_g)
    train_g, tf, tl, ts = _outputs(train_g, cache, progress)
    held_g, hf, hl, hs = _outputs(held_g, cache, progress)
    skipped = asked - len(train_g) - len(held_g)  # unreadable pictures (reasons in the cache's .bad files)
    extra = [(Path(f).stem, *_outputs(_groups(f), cache, progress)) for f in opts.extra_eval]
    if len(train_g) < 2:
        raise TrainingError(f"{opts.pairs}: fewer than 2 readable training pictures; check the paths in column 'a'")
    all_caps = sorted({c for g in train_g + held_g for c in g.captions} | {g.captions[0] for _, gs, *_ in extra for g in gs})
    text_emb = dict(zip(all_caps, embed_texts(text_encoder, all_caps, cache, progress)))
    cfg = BackboneTowerConfig(out_dim=int(next(iter(text_emb.values())).shape[0]), head_input=head_input)
    hard = _hard_negatives(train_g, cache, progress, head_input)
    train_in = head_features(head_input, tf, ts)
    caps = [np.stack([text_emb[c] for c in g.captions]) for g in train_g]
    if base is not None:
        base_cfg, base_w, _ = base
        if base_w.head_weight is None or base_w.head_bias is None or base_cfg.out_dim != cfg.out_dim:
            raise TrainingError(f"--init {opts.init}: that tower has no {cfg.out_dim}-d head to fine-tune; pass a tower trained with --backbone {ARCH}")
        w, b, losses = train_head(train_in, caps, opts, progress, init=(base_w.head_weight, base_w.head_bias), hard=hard)
        weights = BackboneTowerWeights(base_w.class_emb, w, b, base_w.visual_mean, base_w.visual_components)
        cfg = base_cfg
    else:
        class_emb = class_embeddings(text_encoder, cfg.template, cache)
        w, b, losses = train_head(train_in, caps, opts, progress, hard=hard)
        mean, comps = fit_visual(tf, cfg.out_dim)
        weights = BackboneTowerWeights(class_emb, w, b, mean, comps)
    bb = load_backbone()

    def evaluate(enc: BackboneImageEncoder, groups: list[Group], f: np.ndarray, lg: np.ndarray,
                 st: np.ndarray) -> dict[str, dict[str, Metrics]]:
        caps = [g.captions[0] for g in groups]
        txt = np.stack([text_emb[c] for c in caps])
        return {run: _score(e, txt, caps) for run, e in _runs(enc, f, lg, st).items()}

    mix, best = cfg.mix, -1.0
    if held_g and base is None:  # a fine-tune keeps its base tower's mix
        for m in MIX_GRID:
            enc = BackboneImageEncoder("probe", BackboneTowerConfig(out_dim=cfg.out_dim, mix=m, head_input=head_input), weights, bb, "", {})
            res = evaluate(enc, held_g, hf, hl, hs)["mixed"]
            score = (res["b->a"].recall[10] + res["a->b"].recall[10]) / 2
            if score > best + 1e-9:
                mix, best = m, score
    cfg = BackboneTowerConfig.from_dict(cfg.to_dict() | {"mix": mix})
    enc = BackboneImageEncoder("final", cfg, weights, bb, "", {})
    after: dict[str, dict[str, Metrics]] = {}
    if held_g:
        for run, res in evaluate(enc, held_g, hf, hl, hs).items():
            after[f"heldout {run}"] = res
    for name, g, f, lg, st in extra:
        for run, res in evaluate(enc, g, f, lg, st).items():
            after[f"{name} {run}"] = res
    seconds = time.perf_counter() - t0
    meta = {
        "name": opts.name or out.name,
        "modality": "image",
        "tower": cfg.to_dict(),
        "backbone": bb.id,
        "text_encoder": getattr(text_encoder, "id", "unknown"),
        "loss": opts.loss,
        "losses": [round(x, 4) for x in losses],
        "after": {run: {d: m.to_dict() for d, m in dirs.items()} for run, dirs in after.items()},
        "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(opts).items() if k not in ("out", "cache_dir")},
        "n_train": len(train_g),
        "n_heldout": len(held_g),
        "hard_negatives": int(sum(len(r) for r in hard[1])) if hard else 0,
        "init": (base[2].get("name") or opts.init) if base is not None else "",
        "skipped_unreadable": skipped,
        "train_seconds": round(seconds, 1),
        "command": opts.command,
    }
    if base is not None and "flat_gate" in base[2]:  # a head fine-tuned from a gated tower keeps its gate
        meta["flat_gate"] = base[2]["flat_gate"]
    save_backbone_tower(out, weights, meta)
    inherited = _init_folder(opts.init) / BACKGROUND_FILE if base is not None else None
    if inherited is not None and inherited.is_file():
        # a fine-tune sees a few dozen judged pictures, most of them in the user's index: its base tower's
        # reference (typical pictures; the head moved little) is the better background
        shutil.copyfile(inherited, out / BACKGROUND_FILE)
    else:
        save_background(out, enc, tf, tl, opts.seed, stages=ts)
    return TrainResult(out, {}, after, losses, seconds, len(train_g), len(held_g), skipped)


__all__ = ["bind_backbone", "class_embeddings", "fit_visual", "save_background", "train_head"]
