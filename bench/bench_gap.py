"""The modality gap on real data, for docs/modality-gap.md.

    python bench/bench_gap.py --twemoji DIR --openclipart SVG_DIR --work /tmp/gapbench [--n 300]

1. Twemoji (never trained on): each picture through the image tower vs its
   Unicode name through the text tower: matched vs random cosines, centroid
   distance, and retrieval both ways (text->image R@1 vs image->text R@1).
2. An index of Open Clip Art SVGs (their title/keywords are the text channel,
   their pixels the image channel): ``modality_gap`` as ``mmrag info --gap``
   reports it.
3. Per query channel, the raw cosine of the top hit and the background mean:
   why a raw-cosine threshold cannot work across channels.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from relevance_data import twemoji_items

import mmrag
from mmrag.gap import modality_gap, pair_gap, within
from mmrag.types import Channel


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--twemoji", type=Path, required=True)
    ap.add_argument("--openclipart", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--n", type=int, default=300)
    args = ap.parse_args()
    rng = random.Random(0)
    report: dict[str, object] = {}
    corpus = args.work / "corpus"
    if not corpus.exists():
        corpus.mkdir(parents=True)
        for svg in rng.sample(sorted(args.openclipart.rglob("*.svg")), args.n):
            shutil.copyfile(svg, corpus / f"{svg.parent.name}-{svg.name}")
    with mmrag.open(str(args.work / "index"), space__name="minilm", ingest__ocr=False) as engine:
        engine.add([corpus])  # unchanged files are skipped: a rerun resumes
        space = engine.space
        items = rng.sample(twemoji_items(args.twemoji), args.n)
        from mmrag.query import _load_image

        pics = [_load_image(p, engine.config)[0] for _, p in items]
        img = space.encode(Channel.IMAGE, pics)
        txt = space.encode(Channel.TEXT, [name for name, _ in items], query=True)
        g = pair_gap(img, txt, "image", "text").to_dict()
        sims = txt @ img.T
        g["text->image R@1"] = float(np.mean(sims.argmax(axis=1) == np.arange(len(items))))
        g["image->text R@1"] = float(np.mean(sims.argmax(axis=0) == np.arange(len(items))))
        g["within image"], g["within text"] = within(img), within(txt)
        g["chance R@1"] = 1 / len(items)
        report["twemoji (held out): picture vs its name"] = g
        report["openclipart index (mmrag info --gap)"] = modality_gap(engine.store, ["text", "image"])
        probes = {"text": [n for n, _ in items[:50]], "image": pics[:50]}
        raw: dict[str, dict[str, float]] = {}
        for qch, payloads in probes.items():
            q = space.encode(Channel(qch), payloads, query=True)
            for ch in ("text", "image"):
                sample = engine.store.sample_vectors(ch, 512, seed=0)
                s = q @ sample.T
                raw[f"{qch}->{ch}"] = {"top1 raw cosine (mean over queries)": float(np.mean(s.max(axis=1))),
                                       "background mean": float(np.mean(s)), "background std": float(np.mean(s.std(axis=1)))}
        report["raw cosines per channel pair (50 queries vs 512 indexed vectors)"] = raw
    print(json.dumps(report, indent=1, default=lambda x: round(float(x), 4)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
