"""Query cache, near-duplicate folding, zero-shot classification and the feedback loop, measured.

    python bench/bench_trust.py --twemoji DIR --noto-json DIR/emoji.json --work /tmp/trustbench [--n 200]

Sections (each prints ratios against its baseline measured in the same run):

- cache: seconds per query with the cache off vs a repeated query with it on
  (text queries; image queries, which also skip OCR);
- duplicates: cosine between a photo and itself at half size vs between
  different photos (what ``search.duplicate_threshold`` must separate), with
  the starter tower;
- classify: zero-shot accuracy vs chance on sklearn's 1,797 digits (labels
  "zero".."nine") and on Twemoji pictures (never trained on) into their
  emoji-datasource categories;
- feedback: an index of ``n`` Twemoji pictures under neutral names; a user
  searches each name and marks the right picture (when it is in the top 50)
  and the top wrong one; then recall@10 of *rephrased* queries
  ("a picture of a NAME") before and after, for judged pictures and for
  pictures nobody judged (does feedback hurt them?).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from relevance_data import twemoji_items

import mmrag
from mmrag.classify import classify_images, label_vectors, softmax_scores
from mmrag.types import Channel


def timed(fn, *a, **kw):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    fn(*a, **kw)
    return time.perf_counter() - t


def bench_cache(engine, names: list[str], images: list[Path]) -> dict[str, float]:  # type: ignore[no-untyped-def]
    from mmrag.querycache import QueryCache

    out: dict[str, float] = {}
    engine._query_cache = None
    engine.config = engine.config.with_overrides({"search.query_cache": False})
    cold_t = np.mean([timed(engine.search, n, k=10, feedback=False) for n in names])
    cold_i = np.mean([timed(engine.search, image=p, k=10, feedback=False) for p in images])
    engine.config = engine.config.with_overrides({"search.query_cache": True})
    engine._query_cache = QueryCache(None, engine.space.spec)  # memory only: a clean cache
    for n in names:
        engine.search(n, k=10, feedback=False)
    for p in images:
        engine.search(image=p, k=10, feedback=False)
    warm_t = np.mean([timed(engine.search, n, k=10, feedback=False) for n in names])
    warm_i = np.mean([timed(engine.search, image=p, k=10, feedback=False) for p in images])
    out.update({"text query s (no cache)": cold_t, "text query s (cached)": warm_t, "text speed-up": cold_t / warm_t,
                "image query s (no cache)": cold_i, "image query s (cached)": warm_i, "image speed-up": cold_i / warm_i})
    return out


def bench_duplicates(engine) -> dict[str, float]:  # type: ignore[no-untyped-def]
    import importlib.util

    from PIL import Image

    root = Path(importlib.util.find_spec("skimage").origin).parent / "data"
    names = ["chelsea.png", "coffee.png", "rocket.jpg", "astronaut.png", "camera.png", "horse.png", "motorcycle_left.png"]
    pics = [Image.open(root / n).convert("RGB") for n in names if (root / n).exists()]
    half = [p.resize((p.width // 2, p.height // 2)) for p in pics]
    a = engine.space.encode(Channel.IMAGE, pics)
    b = engine.space.encode(Channel.IMAGE, half)
    same = np.sum(a * b, axis=1)
    s = a @ a.T
    diff = s[~np.eye(len(pics), dtype=bool)]
    return {"same photo, half size: min cosine": float(same.min()), "different photos: max cosine": float(diff.max()),
            "different photos: mean cosine": float(diff.mean()), "photos": len(pics)}


def bench_classify(engine, twemoji: list[tuple[str, Path]], noto_json: Path | None, work: Path) -> dict[str, object]:  # type: ignore[no-untyped-def]
    from PIL import Image
    from sklearn.datasets import load_digits

    out: dict[str, object] = {}
    d = load_digits()
    imgs = [Image.fromarray((255 - x * 255 / 16).astype(np.uint8)).resize((64, 64), Image.NEAREST).convert("RGB") for x in d.images]
    words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    vecs = engine.space.encode(Channel.IMAGE, imgs)
    for name, labels, templates in (
        ("digits, number words", words, ("a drawing of the number {}.", "the digit {}.", "{}")),
        ("digits, numerals", [str(i) for i in range(10)], ("a drawing of the number {}.", "the digit {}.", "{}")),
    ):
        p = softmax_scores(vecs, label_vectors(engine.space, labels, templates))
        out[name] = {"accuracy": float(np.mean(p.argmax(axis=1) == d.target)), "chance": 0.1, "n": len(imgs)}
    if noto_json is not None and noto_json.is_file():
        cats = {e["unified"].lower(): e["category"] for e in json.loads(noto_json.read_text()) if e.get("category") not in ("Component", "Flags")}
        rows = [(p, cats[p.stem]) for _, p in twemoji if p.stem in cats]
        labels = sorted({c for _, c in rows})
        preds = classify_images(engine.space, engine.config, [p for p, _ in rows], [c.replace("&", "and").lower() for c in labels],
                                templates=("an emoji of {}.", "{}"))
        truth = [c.replace("&", "and").lower() for _, c in rows]
        acc = float(np.mean([p.label == t for p, t in zip(preds, truth)]))
        counts = {c: truth.count(c) for c in set(truth)}
        out["twemoji categories"] = {"accuracy": acc, "chance (uniform)": 1 / len(labels),
                                     "majority class": max(counts.values()) / len(truth), "n": len(rows), "labels": sorted(counts)}
    return out


def recall_at(engine, queries: list[tuple[str, str]], k: int = 10, feedback: bool = True) -> float:  # type: ignore[no-untyped-def]
    got = 0
    for q, name in queries:
        hits = engine.search(q, k=k, diversify=False, feedback=feedback)
        got += any(Path(h.source).name == name for h in hits)
    return got / max(1, len(queries))


def bench_feedback(engine) -> dict[str, float]:  # type: ignore[no-untyped-def]
    folder = Path(engine.sources()[0].source).parent
    names = json.loads((folder.parent / "names.json").read_text())
    items = sorted(names.items())
    rng = random.Random(0)
    rng.shuffle(items)
    judged, unjudged = items[: len(items) // 2], items[len(items) // 2 :]
    rephrase = lambda n: f"a picture of a {n}"
    log = engine.feedback_log()
    log.clear()
    before_j = recall_at(engine, [(rephrase(n), f) for f, n in judged], feedback=False)
    before_u = recall_at(engine, [(rephrase(n), f) for f, n in unjudged], feedback=False)
    marked = 0
    for f, n in judged:
        hits = engine.search(n, k=50, diversify=False, feedback=False)
        right = [h for h in hits if Path(h.source).name == f]
        wrong = [h for h in hits[:1] if Path(h.source).name != f]
        if right:
            marked += 1
        engine.feedback(n, right=right[:1], wrong=wrong)
    after_j = recall_at(engine, [(rephrase(n), f) for f, n in judged])
    after_u = recall_at(engine, [(rephrase(n), f) for f, n in unjudged])
    log.clear()
    return {"judged queries": len(judged), "right picture in top 50 (could be marked)": marked,
            "R@10 judged, before": before_j, "R@10 judged, after feedback": after_j,
            "R@10 unjudged, before": before_u, "R@10 unjudged, after feedback": after_u}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--twemoji", type=Path, required=True)
    ap.add_argument("--noto-json", type=Path)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--only", default="cache,duplicates,classify,feedback")
    args = ap.parse_args()
    rng = random.Random(0)
    tw = twemoji_items(args.twemoji)
    picked = rng.sample(tw, args.n)
    corpus = args.work / "corpus" / "pictures"
    if not corpus.exists():
        corpus.mkdir(parents=True)
        names = {}
        for i, (name, svg) in enumerate(picked):
            shutil.copyfile(svg, corpus / f"{i:04d}.svg")
            names[f"{i:04d}.svg"] = name
        (corpus.parent / "names.json").write_text(json.dumps(names))
    report: dict[str, object] = {}
    with mmrag.open(str(args.work / "index"), space__name="minilm", ingest__ocr=False) as engine:
        engine.add([corpus])  # unchanged files are skipped: a rerun resumes
        only = set(args.only.split(","))
        if "cache" in only:
            report["cache"] = bench_cache(engine, [n for n, _ in picked[:40]], [p for _, p in picked[:20]])
        if "duplicates" in only:
            report["duplicates"] = bench_duplicates(engine)
        if "classify" in only:
            report["classify"] = bench_classify(engine, tw, args.noto_json, args.work)
        if "feedback" in only:
            report["feedback"] = bench_feedback(engine)
    print(json.dumps(report, indent=1, default=lambda x: round(float(x), 4)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
