"""Zero-shot classification on held-out labelled pictures: the old classifier vs the fitted one, same run.

    python bench/bench_classify.py --twemoji .cache/train/twemoji/package \
        --noto-json .cache/train/noto/package/emoji.json --work /tmp/clsbench

- **old**: what ``mmrag classify`` did before: one cosine between the image
  tower's vector (ConSE and the drawings head mixed 0.1 / 0.9) and the label
  prompts, softmax at CLIP's constant scale 100;
- **old vector, fitted scale**: the same cosine at the scale fitted by
  ``scripts/fit_classify.py`` (the ``fused`` model: calibration alone);
- **new**: the parts (ConSE, head) and, where the picture has any, its own
  words, at the fitted scales (``mmrag.classify`` today; pictures only unless
  the row says "+ own text").

Sets, none of them used by the fit (``scripts/classify_data.py``): Twemoji of
hash half 1 (the fit used OpenMoji half 0: no code point in common) by Noto
group (8) and by Unicode name among 10; the 19 real photos of scikit-image and
scikit-learn, labels written by hand (18 labels); the issue's case (chelsea,
coffee, rocket.jpg with "cat, coffee, rocket, horse"); sklearn's 8x8 digits.
Last, the issue's case end to end: a real index of the four photos under
neutral names, ``classify_index`` before (stored vectors, the old scale) and now.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from classify_data import Encoded, Item, encode_items, fixed, make_task, named, real_photos, twemoji_items

import mmrag
from mmrag.classify import DEFAULT_TEMPLATES, classify_index, label_vectors, softmax_scores
from mmrag.classify_model import UNFITTED, Task, evaluate, load_classify_model


def rows_for(task: Task, model, chance: float, with_text: bool) -> dict[str, dict[str, float]]:  # type: ignore[no-untyped-def]
    old = Task({"image": task.cos["image"]}, task.y)
    out = {"old": evaluate(UNFITTED.fused, old), "old vector, fitted scale": evaluate({"image": model.fused["image"]}, old),
           "new": evaluate({k: v for k, v in model.weights.items() if k != "text"}, task)}
    if with_text:
        out["new + own text"] = evaluate(model.weights, task)
    for r in out.values():
        r["chance"] = round(chance, 4)
    out["ratio new / old accuracy"] = {"x": round(out["new"]["accuracy"] / max(out["old"]["accuracy"], 1e-9), 2)}
    return out


def digits(space) -> tuple[Encoded, list[Item]]:  # type: ignore[no-untyped-def]
    from PIL import Image
    from sklearn.datasets import load_digits

    from mmrag.classify import image_parts

    d = load_digits()
    words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    imgs = [Image.fromarray((255 - x * 255 / 16).astype(np.uint8)).resize((64, 64), Image.NEAREST).convert("RGB") for x in d.images]
    parts: dict[str, list[np.ndarray]] = {}
    for s in range(0, len(imgs), 128):
        got = image_parts(space, imgs[s:s + 128])
        for k, v in got.items():
            parts.setdefault(k, []).append(v)
    n = len(imgs)
    return Encoded({k: np.concatenate(v) for k, v in parts.items()}, np.zeros((n, space.dim), np.float32), np.zeros(n, bool)), \
        [Item("", words[t], words[t]) for t in d.target]


def issue_case_index(work: Path, photos: list[Item]) -> dict[str, object]:
    """The issue's report, reproduced: an index of chelsea, coffee, rocket, astronaut under neutral names."""
    corpus = work / "issue-photos"
    corpus.mkdir(parents=True, exist_ok=True)
    truth = {}
    for i, it in enumerate(p for p in photos if Path(p.path).name in ("chelsea.png", "coffee.png", "rocket.jpg", "astronaut.png")):
        dst = corpus / f"{i:04d}{Path(it.path).suffix}"
        shutil.copyfile(it.path, dst)
        truth[dst.name] = it.category
    labels = ["cat", "coffee", "rocket", "horse"]
    out: dict[str, object] = {}
    with mmrag.open(str(work / "issue-index"), space__name="minilm", ingest__ocr=False) as engine:
        engine.add([corpus])
        hits = engine.search("a picture", k=10, modality="image", diversify=False, feedback=False)
        seg = {h.segment_id: Path(h.source).name for h in hits}
        vecs = engine.store.vectors([f"{s}:image" for s in seg])
        old = softmax_scores(np.vstack([vecs[f"{s}:image"] for s in seg]), label_vectors(engine.space, labels), 0.01)
        new = {p.item: p for p in classify_index(engine, labels, write=False)}
        for (s, name), p_old in zip(seg.items(), old):
            out[f"{name} ({truth[name]})"] = {"old": {lab: round(float(v), 3) for lab, v in zip(labels, p_old)},
                                              "new": {lab: round(v, 3) for lab, v in new[s].scores.items()}}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--twemoji", type=Path, required=True)
    ap.add_argument("--noto-json", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=None, help="write the report as JSON here too")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    report: dict[str, object] = {}
    with mmrag.open(str(args.work / "index"), space__name="minilm", ingest__ocr=False) as engine:
        space, config = engine.space, engine.config
        model = load_classify_model(space.spec.encoders)
        report["model"] = {"source": Path(model.source).name, "weights": dict(model.weights), "fused": dict(model.fused)}
        tw = twemoji_items(args.twemoji, args.noto_json, 1)
        twe = encode_items(space, config, tw)
        ph = real_photos()
        phe = encode_items(space, config, ph)
        named_tw = np.array([bool(it.name) for it in tw])
        tw_named = [it for it in tw if it.name]
        report["twemoji half 1, group of 8"] = rows_for(make_task(space, twe, *fixed(tw), DEFAULT_TEMPLATES), model, 1 / 8, False)
        report["twemoji half 1, name among 10"] = rows_for(make_task(space, twe, *named(tw_named), DEFAULT_TEMPLATES, keep=named_tw), model, 0.1, False)
        report["19 real photos, 18 labels"] = rows_for(make_task(space, phe, *fixed(ph), DEFAULT_TEMPLATES), model, 1 / 18, False)
        # own text = what ingest would read: the file name's words (e.g. "rocket" for rocket.jpg)
        from mmrag.classify import text_part
        from mmrag.ingest.image import filename_words

        named_ph = Encoded(phe.parts, *text_part(space, [filename_words(Path(it.path).name) for it in ph]))
        report["19 real photos, 18 labels, + own text (file names)"] = rows_for(make_task(space, named_ph, *fixed(ph), DEFAULT_TEMPLATES, use_text=True), model, 1 / 18, True)
        sel = np.array([Path(it.path).name in ("chelsea.png", "coffee.png", "rocket.jpg") for it in ph])
        labels4 = ["cat", "coffee", "rocket", "horse"]
        case = [it for it, s in zip(ph, sel) if s]
        report["issue case: chelsea, coffee, rocket / cat, coffee, rocket, horse"] = rows_for(
            make_task(space, phe, [labels4] * len(case), [labels4.index(it.category) for it in case], DEFAULT_TEMPLATES, keep=sel), model, 0.25, False)
        de, di = digits(space)
        report["sklearn digits, number words"] = rows_for(
            make_task(space, de, *fixed(di), ("a drawing of the number {}.", "the digit {}.", "{}")), model, 0.1, False)
    report["issue case end to end (index, neutral names)"] = issue_case_index(args.work, ph)
    report["seconds"] = round(time.time() - t0, 1)
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
