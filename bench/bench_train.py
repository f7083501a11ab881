"""Held-out recall of an image tower against the text-only (OCR + metadata) baseline.

Measured in one run, with chance, on:
- the held-out split of the training pairs (same seed/holdout as training),
- collections the tower never saw (OpenMoji, Twemoji), a fixed random subset each.

    python bench/bench_train.py --train-pairs .cache/train/pairs/oca_noto.jsonl \
        --unseen .cache/train/pairs/openmoji.eval.jsonl --unseen .cache/train/pairs/twemoji.eval.jsonl

Builds the pairs with ``python -m mmrag.train.collections .cache/train .cache/train/pairs``
after ``scripts/fetch_training_data.sh``. Not a test: prints a markdown table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from mmrag.train.benchmark import evaluate_pairs
from mmrag.train.data import group_pairs, read_pairs, split_groups
from mmrag.train.evaluate import format_table
from mmrag.train.features import frozen_text_encoder


def heldout_file(train_pairs: Path, holdout: float, seed: int, out: Path, collection: str | None) -> Path:
    """The held-out split of the training file, one plain caption per picture."""
    rows = [json.loads(line) for line in train_pairs.read_text(encoding="utf-8").splitlines() if line.strip()]
    coll = {str((train_pairs.parent / r["a"]).resolve()): r.get("collection", "") for r in rows}
    _, held = split_groups(group_pairs(read_pairs(train_pairs)), holdout, seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for g in held:
            if collection is None or coll.get(g.a) == collection:
                fh.write(json.dumps({"a": g.a, "b": g.captions[0]}) + "\n")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tower", default=None, help="tower folder (default: the shipped one)")
    ap.add_argument("--train-pairs", type=Path, required=True)
    ap.add_argument("--holdout", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--unseen", type=Path, action="append", default=[])
    ap.add_argument("--limit", type=int, default=600, help="pictures per set (fixed random subset)")
    ap.add_argument("--cache", type=Path, default=Path(".cache/train/featcache"))
    ap.add_argument("--json", type=Path, default=Path(".cache/train/bench_train.json"))
    args = ap.parse_args()

    t0 = time.perf_counter()
    text = frozen_text_encoder("minilm")
    sets = {"heldout-openclipart": heldout_file(args.train_pairs, args.holdout, args.seed, args.cache / "heldout-oca.jsonl", "openclipart")}
    sets |= {p.name.split(".")[0] + " (unseen)": p for p in args.unseen}
    table, raw = {}, {}
    for name, f in sets.items():
        res = evaluate_pairs(f, image_model=args.tower, baseline=True, cache=args.cache, text_encoder=text, limit=args.limit, seed=args.seed)
        for run, dirs in res.items():
            table[f"{name}: {run}"] = dirs
            raw[f"{name}: {run}"] = {d: m.to_dict() for d, m in dirs.items()}
        print(f"{name}: done ({time.perf_counter() - t0:.0f} s)", flush=True)
    print(format_table(table))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(raw, indent=2))


if __name__ == "__main__":
    main()
