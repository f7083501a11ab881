"""Fit the zero-shot classifier's scales for the offline space, on held-out labelled pictures.

    apt-get download gcompris-qt-data && dpkg -x gcompris-qt-data_*.deb /tmp/gcompris-deb
    python scripts/fit_classify.py --gcompris /tmp/gcompris-deb --openmoji .cache/train/openmoji/package \
        --work /tmp/clsfit --out src/mmrag/weights/classify-minilm.json

Fit sets (``classify_data.py``): 162 GCompris photos (category among 5, name
among 10) and the OpenMoji emoji of hash half 0 (group among 8, name among
10; each once without and once with its tags as the picture's own words).
Every task weighs the same in the likelihood, so photos count as much as
drawings. Fitted: inverse temperatures for the split parts (``conse``,
``head``, the same times the picture's flatness, ``text``) and for the tower's one vector (``image``, ``text``).
None of the figures' test sets (Twemoji half 1, the scikit-image/-learn
photos, digits) is read here. Rerun whenever a tower of the space changes:
the model records the encoder ids it was fitted with and is ignored for others.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from classify_data import Encoded, encode_items, fixed, gcompris_photos, make_task, named, openmoji_items

import mmrag
from mmrag.classify import DEFAULT_TEMPLATES
from mmrag.classify_model import ClassifyModel, evaluate, fit_weights


def cached(path: Path, space, config, items) -> Encoded:  # type: ignore[no-untyped-def]
    if path.is_file():
        d = np.load(path)
        return Encoded({k[5:]: d[k] for k in d.files if k.startswith("part_")}, d["text"], d["has_text"])
    enc = encode_items(space, config, items)
    np.savez(path, text=enc.text, has_text=enc.has_text, **{f"part_{k}": v for k, v in enc.parts.items()})
    return enc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gcompris", type=Path, required=True, help="where dpkg -x put gcompris-qt-data")
    ap.add_argument("--openmoji", type=Path, required=True, help="npm openmoji: package folder")
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--space", default="minilm")
    ap.add_argument("--image-model", default=None, help="space.image_model (default: the space's default tower)")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    gc = gcompris_photos(args.gcompris, args.work)
    om = openmoji_items(args.openmoji, 0)
    print(f"fit sets: {len(gc)} GCompris photos, {len(om)} OpenMoji emoji (half 0)")
    over = {"space__name": args.space, "ingest__ocr": False}
    if args.image_model:
        over["space__image_model"] = args.image_model
    with mmrag.open(str(args.work / "index"), **over) as engine:
        space, config = engine.space, engine.config
        gce = cached(args.work / "gcompris.npz", space, config, gc)
        ome = cached(args.work / "openmoji.npz", space, config, om)
        cats = np.array([it.category != "object" for it in gc])
        gc_cat = [it for it in gc if it.category != "object"]
        tasks = {
            "gcompris photos, category of 5": make_task(space, gce, *fixed(gc_cat), DEFAULT_TEMPLATES, keep=cats),
            "gcompris photos, name among 10": make_task(space, gce, *named(gc), DEFAULT_TEMPLATES),
            "openmoji, group of 8": make_task(space, ome, *fixed(om), DEFAULT_TEMPLATES),
            "openmoji, name among 10": make_task(space, ome, *named(om), DEFAULT_TEMPLATES),
            "openmoji + tags, group of 8": make_task(space, ome, *fixed(om), DEFAULT_TEMPLATES, use_text=True),
            "openmoji + tags, name among 10": make_task(space, ome, *named(om), DEFAULT_TEMPLATES, use_text=True),
        }
        split = [p for p in ("conse", "head", "conse:flat", "head:flat") if p in gce.parts] + ["text"]
        weights = fit_weights(split, list(tasks.values()))
        fused = fit_weights(["image", "text"], list(tasks.values()))
        report = {name: {"split": evaluate(weights, t), "fused": evaluate(fused, t)} for name, t in tasks.items()}
        model = ClassifyModel(weights, fused, {k: v for k, v in space.spec.encoders.items() if k in ("text", "image")},
                              report={"fit": report, "templates": list(DEFAULT_TEMPLATES),
                                      "data": {"gcompris photos": len(gc), "openmoji half 0": len(om)},
                                      "command": " ".join(["python", *sys.argv]), "seconds": round(time.time() - t0, 1)})
    model.save(args.out)
    print(json.dumps({"weights": weights, "fused": fused, "fit": report}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
