"""A bound audio tower on sounds it never trained on: recall against chance, and
sound → similar sound precision against a classic hand-made feature.

Sets (from ``scripts/make_sound_pairs.py OUT``):
- held-out clips of trained sounds (the same seed/holdout split as training),
- ``unseen.jsonl``: instruments the tower never heard (names only through MiniLM).

Measured in one run:
- sound→text and text→sound recall@1/5/10, MRR, nDCG@10, with chance;
- sound→sound nearest-neighbour accuracy (P@1: is the closest other clip the
  same instrument?) and mean average precision, for the tower and for a mean
  log-mel + delta vector (an MFCC-style baseline) on the same clips, with chance;
- the tower's speed as a real-time factor (seconds of audio per second).

    python scripts/make_sound_pairs.py .cache/train/sounds
    mmrag train .cache/train/sounds/pairs.jsonl --modality audio --out .cache/train/audio-tower \
        --eval-pairs .cache/train/sounds/unseen.jsonl
    python bench/bench_audio_tower.py --sounds .cache/train/sounds --tower .cache/train/audio-tower \
        --tower .cache/train/audio-tower-logmel        # several towers: side by side

Not a test: prints markdown tables and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from mmrag.space.adapters import load_audio_tower
from mmrag.train.data import Group, group_pairs, read_pairs, split_groups
from mmrag.train.evaluate import format_table, pair_metrics
from mmrag.train.features import MiniLMText, decode_sounds


def neighbour_scores(vecs: np.ndarray, names: list[str]) -> tuple[float, float, float, float]:
    """Sound → other sounds of the same name, over clips that have one: (P@1, mAP, chance P@1, chance mAP)."""
    sims = vecs @ vecs.T
    np.fill_diagonal(sims, -np.inf)
    keys = np.asarray(names)
    rel = keys[:, None] == keys[None, :]
    np.fill_diagonal(rel, False)
    has = rel.sum(axis=1) > 0
    order = np.argsort(-sims, axis=1)[:, :-1]  # drop self (ranked last)
    hits = np.take_along_axis(rel, order, axis=1)[has]
    p1 = float(hits[:, 0].mean())
    cum = np.cumsum(hits, axis=1)
    ranks = np.arange(1, hits.shape[1] + 1)
    ap = (cum / ranks * hits).sum(axis=1) / hits.sum(axis=1)
    base = rel.sum(axis=1)[has] / (len(keys) - 1)  # a random ranking: P@1 and AP are about the relevant share
    return p1, float(ap.mean()), float(base.mean()), float(base.mean())


def mel_baseline(clips: list[np.ndarray]) -> np.ndarray:
    """Mean and std of the log-mel bands plus mean |delta|: a 192-d hand-made timbre vector per clip."""
    import torch

    from mmrag.space.logmel_tower import LogMel

    mel = LogMel(64)
    out = []
    with torch.inference_mode():
        for c in clips:
            m = mel(torch.from_numpy(np.asarray(c, np.float32))[None])[0, 0].numpy()  # (64, frames)
            d = np.abs(np.diff(m, axis=1)).mean(axis=1) if m.shape[1] > 1 else np.zeros(64)
            out.append(np.concatenate([m.mean(axis=1), m.std(axis=1), d]))
    x = np.asarray(out, np.float32)
    x = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-6)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def load_set(groups: list[Group], cache: Path) -> tuple[list[Group], list[np.ndarray]]:
    flat, offsets, ok = decode_sounds([g.a for g in groups], 30.0, cache)
    clips = [flat[offsets[i] : offsets[i + 1]].astype(np.float32) for i in range(len(groups)) if ok[i]]
    return [g for g, k in zip(groups, ok) if k], clips


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sounds", type=Path, default=Path(".cache/train/sounds"))
    ap.add_argument("--tower", type=Path, action="append", default=None,
                    help="a tower folder; repeat to compare towers side by side (default .cache/train/audio-tower)")
    ap.add_argument("--eval", action="append", default=[], metavar="NAME=PAIRS.jsonl",
                    help="another evaluation set of {a: clip, b: caption} pairs (repeat), e.g. "
                         "gcompris=.cache/train/real-sounds/heldout.jsonl from scripts/make_real_sound_pairs.py")
    ap.add_argument("--holdout", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", type=Path, default=Path(".cache/train/featcache"))
    ap.add_argument("--json", type=Path, default=Path(".cache/train/bench_audio_tower.json"))
    args = ap.parse_args()

    text = MiniLMText()
    towers = {}
    for folder in args.tower or [Path(".cache/train/audio-tower")]:
        enc = load_audio_tower(folder, text.dim, text_encoder=text.id)
        arch = str(enc.meta.get("tower", {}).get("arch", "audioconv"))
        towers[f"{folder.name} ({'Whisper encoder + head' if arch == 'whisper' else 'log-mel CNN'})"] = enc
    sets = {}
    if (args.sounds / "pairs.jsonl").is_file():
        _, sets["held-out clips"] = split_groups(group_pairs(read_pairs(args.sounds / "pairs.jsonl")), args.holdout, args.seed)
    if (args.sounds / "unseen.jsonl").is_file():
        sets["unseen sounds"] = group_pairs(read_pairs(args.sounds / "unseen.jsonl"))
    for spec in args.eval:
        name, _, file = spec.partition("=")
        if not file:
            ap.error(f"--eval {spec!r}: give NAME=PAIRS.jsonl")
        sets[name] = group_pairs(read_pairs(file))
    if not sets:
        ap.error(f"nothing to measure: no {args.sounds}/pairs.jsonl and no --eval set")
    table, neighbours, raw, speed = {}, [], {}, {}
    for name, groups in sets.items():
        groups, clips = load_set(groups, args.cache)
        names = [g.captions[0] for g in groups]
        caps = text.encode(names, query=True)
        m1, mmap, chance, _ = neighbour_scores(mel_baseline(clips), names)
        neighbours.append((name, "log-mel + delta baseline (no training)", len(clips), len(set(names)), m1, mmap, chance))
        raw[name] = {"log-mel baseline": {"P@1": m1, "mAP": mmap, "chance": chance}}
        for label, tower in towers.items():
            t0 = time.perf_counter()
            vecs = tower.encode([(c, 16_000) for c in clips])
            secs = time.perf_counter() - t0
            a, e = speed.get(label, (0.0, 0.0))
            speed[label] = (a + sum(len(c) for c in clips) / 16_000, e + secs)
            table[f"{name}: {label}"] = pair_metrics(vecs, caps, names)
            t1, tmap, _, _ = neighbour_scores(vecs, names)
            neighbours.append((name, label, len(clips), len(set(names)), t1, tmap, chance))
            raw[name][label] = {d: m.to_dict() for d, m in table[f"{name}: {label}"].items()} | {
                "sound→sound": {"P@1": t1, "mAP": tmap, "chance": chance}}

    print(format_table(table, {"b->a": "text→sound", "a->b": "sound→text"}))
    print()
    print("| set | embedding | clips | sounds | sound→sound P@1 | mAP | chance |")
    print("|---|---|---|---|---|---|---|")
    for name, label, n, s_, p1, mp, ch in neighbours:
        print(f"| {name} | {label} | {n} | {s_} | {p1:.3f} | {mp:.3f} | {ch:.3f} |")
    print()
    for label, (a, e) in speed.items():
        print(f"{label}: {a:.0f} s of audio embedded in {e:.1f} s = {a / max(e, 1e-9):.0f}x real time")
        raw.setdefault("speed", {})[label] = {"audio_seconds": a, "embed_seconds": e}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(raw, indent=2))


if __name__ == "__main__":
    main()
