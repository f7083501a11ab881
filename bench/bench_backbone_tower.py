"""The backbone image tower against the starter tower, side by side in one run.

1. Held-out recall@1/5/10, text->image and image->text, on a fixed random
   subset of each set (one plain caption per picture): the held-out split of
   the training pairs (Open Clip Art) and collections never trained on
   (Twemoji, OpenMoji). Rows: chance, OCR/metadata text only, the starter
   tower, ConSE, the bound head, the fixed mix (ConSE + head), the
   flatness-gated mix (the default ``lite0c``; ``--tower`` another), the
   previous default ``lite0b`` (its head reads the pooled features only,
   ``lite0c``'s the stage means too), and the fused default (the
   gated tower and the picture's text, each calibrated against the query's
   background and the best kept per picture, as search did before session 6),
   the same with a picture's words that are a label also judged against the
   text model's shipped labels (as search does now: ``fusion.calibrate_labels``),
   the fused fixed mix, and the fused starter for comparison.
2. Image -> similar image on real photos (skimage, scikit-learn): each photo
   cropped, mirrored, recompressed and all three at once must find its
   original at rank 1 among the originals plus the drawings and emoji of
   part 1 as distractors. Rows: the visual channel (PCA), the raw backbone
   features, the tower's text-space vectors, the starter tower.

    python bench/bench_backbone_tower.py --train-pairs .cache/train/pairs/oca_noto.jsonl \\
        --unseen .cache/train/pairs/twemoji.eval.jsonl --unseen .cache/train/pairs/openmoji.eval.jsonl

Not a test: prints markdown tables and writes JSON.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.conftest.package_file (photo part)
from bench_train import heldout_file

from mmrag.space.adapters import backbone_tower_dir, load_image_tower
from mmrag.space.backbone import softmax
from mmrag.space.backbone_tower import (
    FlatGate,
    combine,
    conse,
    flatnesses,
    gated_combine,
    head_features,
    head_vectors,
    project_visual,
)
from mmrag.train.backbone_cache import backbone_outputs_with_stages
from mmrag.train.benchmark import metadata_text, ocr_texts
from mmrag.train.data import group_pairs, read_pairs
from mmrag.train.evaluate import format_table, pair_metrics
from mmrag.train.features import decode_images, embed_texts, frozen_text_encoder
from mmrag.train.loop import tower_embed

PHOTOS = [
    ("skimage", f"data/{n}") for n in (
        "astronaut.png", "brick.png", "camera.png", "cell.png", "chelsea.png", "clock_motion.png", "coffee.png",
        "coins.png", "grass.png", "gravel.png", "horse.png", "hubble_deep_field.jpg", "ihc.png", "microaneurysms.png",
        "moon.png", "motorcycle_left.png", "motorcycle_right.png", "page.png", "retina.jpg", "rocket.jpg", "text.png",
    )
] + [("sklearn", "datasets/images/china.jpg"), ("sklearn", "datasets/images/flower.jpg")]


def subset(pairs: Path, limit: int, seed: int) -> list:
    groups = group_pairs(read_pairs(pairs))
    if limit and len(groups) > limit:
        idx = sorted(np.random.default_rng(seed).choice(len(groups), limit, replace=False).tolist())
        groups = [groups[i] for i in idx]
    return groups


def zscore(sims: np.ndarray) -> np.ndarray:
    """Calibrate each query's row against its own background (the gallery), as search does."""
    return (sims - sims.mean(axis=1, keepdims=True)) / np.maximum(sims.std(axis=1, keepdims=True), 0.02)


def label_zscore(txt: np.ndarray, doc: np.ndarray, words: list[str], labels: np.ndarray | None) -> np.ndarray:
    """Text -> the pictures' own words, as search calibrates them: a picture's words that are a label
    (``fusion.label_like``: 1-8 words) take the lower of their z against the gallery and against the
    text model's shipped labels (``fusion.calibrate_labels``); ``labels=None``: the gallery only."""
    from mmrag.retrieve.fusion import calibrate_labels, label_like

    sims = txt @ doc.T
    z = zscore(sims)
    if labels is None:
        return z
    bg = txt @ labels.T
    z_labels = (sims - bg.mean(axis=1, keepdims=True)) / np.maximum(bg.std(axis=1, keepdims=True), 0.02)
    return calibrate_labels(z, z_labels, np.asarray([label_like(w, "image") for w in words]))


def fused_metrics(img: np.ndarray, doc: np.ndarray, txt: np.ndarray, caps: list[str], weight: float = 1.0,
                  z_doc: np.ndarray | None = None, has_doc: np.ndarray | None = None) -> dict:
    """Recall of the fused (max of calibrated) picture+text channels, both directions (``z_doc``: the
    text->words scores already calibrated, see ``label_zscore``)."""
    from mmrag.train.evaluate import retrieval_metrics

    keys = np.asarray([c.strip().lower() for c in caps])
    rel = keys[:, None] == keys[None, :]
    zd = zscore(txt @ doc.T) if z_doc is None else z_doc
    zd_t = zscore(doc @ txt.T)
    if has_doc is not None:  # a picture with no words has no text row in an index: only its pixels count
        zd, zd_t = np.where(has_doc[None, :], zd, -np.inf), np.where(has_doc[:, None], zd_t, -np.inf)
    t2i = np.maximum(weight * zscore(txt @ img.T), zd)
    i2t = np.maximum(weight * zscore(img @ txt.T), zd_t)
    eye = np.eye(len(caps), dtype=np.float32)
    # retrieval_metrics takes embeddings; pass the score matrix through an identity gallery
    return {"b->a": retrieval_metrics(t2i, eye, rel), "a->b": retrieval_metrics(i2t, eye, rel)}


def variants(im: Image.Image, seed: int) -> dict[str, Image.Image]:
    rng = np.random.default_rng(seed)
    w, h = im.size

    def crop(x: Image.Image) -> Image.Image:
        f = rng.uniform(0.7, 0.85)
        cw, ch = int(w * f), int(h * f)
        x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        return x.crop((x0, y0, x0 + cw, y0 + ch))

    def jpeg(x: Image.Image) -> Image.Image:
        buf = io.BytesIO()
        x.convert("RGB").save(buf, format="JPEG", quality=25)
        return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")

    return {"crop": crop(im), "mirror": ImageOps.mirror(im), "recompress": jpeg(im), "all three": jpeg(ImageOps.mirror(crop(im)))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tower", type=Path, default=None, help="backbone tower folder (default: the shipped one)")
    ap.add_argument("--train-pairs", type=Path, required=True)
    ap.add_argument("--unseen", type=Path, action="append", default=[])
    ap.add_argument("--holdout", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=300, help="pictures per set (fixed random subset)")
    ap.add_argument("--cache", type=Path, default=Path(".cache/train/featcache"))
    ap.add_argument("--no-ocr", action="store_true", help="text-only baseline from metadata alone (skip RapidOCR)")
    ap.add_argument("--json", type=Path, default=Path(".cache/train/bench_backbone_tower.json"))
    args = ap.parse_args()
    t0 = time.perf_counter()
    text = frozen_text_encoder("minilm")
    from mmrag.space.references import load_text_reference

    labels = load_text_reference(getattr(text, "id", ""), "all-MiniLM-L6-v2").labels
    if labels is None:
        print("no shipped labels for this text model: the 'search today' row equals the fused default")
    tower = load_image_tower(args.tower or backbone_tower_dir(), 384)
    previous = load_image_tower(backbone_tower_dir("lite0b"), 384)  # lite0b, the default before lite0c
    starter = load_image_tower(None, 384)
    w, cfg = tower.weights, tower.cfg
    tname = str(tower.meta.get("name", "tower")).removesuffix("-minilm")
    sets = {"Open Clip Art held-out": heldout_file(args.train_pairs, args.holdout, args.seed, args.cache / "heldout-oca.jsonl", "openclipart")}
    sets |= {p.name.split(".")[0] + " (never trained on)": p for p in args.unseen}
    table, gallery, gallery_old, gallery_stages = {}, [], [], []
    for name, f in sets.items():
        groups = subset(f, args.limit, args.seed)
        ocr = [""] * len(groups) if args.no_ocr else ocr_texts([g.a for g in groups], args.cache, 256)  # cached per path list
        feats, logits, stages, ok = backbone_outputs_with_stages([g.a for g in groups], args.cache)
        arr, ok2 = decode_images([g.a for g in groups], starter.image_size, args.cache)
        keep = ok & ok2
        groups = [g for g, k in zip(groups, keep) if k]
        feats, logits, stages = feats[keep], logits[keep], stages[keep]
        gallery.append(feats)
        gallery_stages.append(stages)
        caps = [g.captions[0] for g in groups]
        txt = embed_texts(text, caps, args.cache)
        ocr = [o for o, k in zip(ocr, keep) if k]
        words = [f"{metadata_text(g.a)} {o}".strip() for g, o in zip(groups, ocr)]
        doc = embed_texts(text, words, args.cache)
        has_doc = np.asarray([bool(w.strip()) for w in words])
        c = conse(softmax(logits), w.class_emb, cfg.top_t)
        h = head_vectors(head_features(cfg.head_input, feats, stages), w.head_weight, w.head_bias) if w.head_weight is not None else c
        mixed = combine(c, h, cfg.mix)
        # flatness on a 64 px decode, as the tower measures it: the starter's decode when it is that size
        small = arr[keep] if starter.image_size == 64 else decode_images([g.a for g in groups], 64, args.cache)[0]
        flat = flatnesses([Image.fromarray(a) for a in small])
        gated = gated_combine(c, h, flat, FlatGate.from_dict(tower.meta["flat_gate"]))
        pw = previous.weights
        prev = gated_combine(conse(softmax(logits), pw.class_emb, previous.cfg.top_t),
                             head_vectors(head_features(previous.cfg.head_input, feats, stages), pw.head_weight, pw.head_bias),
                             flat, FlatGate.from_dict(previous.meta["flat_gate"]))
        old = tower_embed(starter.model, arr[keep], "cpu")
        old = old / np.linalg.norm(old, axis=1, keepdims=True)
        gallery_old.append(old)
        runs = {
            ("metadata text only" if args.no_ocr else "OCR/metadata text only"): pair_metrics(doc, txt, caps),
            "starter tower (old default)": pair_metrics(old, txt, caps),
            "ConSE (no training)": pair_metrics(c, txt, caps),
            "bound head": pair_metrics(h, txt, caps),
            f"tower: ConSE + head (fixed mix {cfg.mix}, {tname})": pair_metrics(mixed, txt, caps),
            f"tower: ConSE + head weighed by flatness ({tname})": pair_metrics(gated, txt, caps),
            "previous default tower (lite0b)": pair_metrics(prev, txt, caps),
            "fused starter + text (old default index)": fused_metrics(old, doc, txt, caps, 0.6, has_doc=has_doc),
            f"fused fixed mix + text ({tname} fixed)": fused_metrics(mixed, doc, txt, caps, has_doc=has_doc),
            "fused previous default + text (lite0b index)": fused_metrics(prev, doc, txt, caps, has_doc=has_doc),
            "fused default: gated tower + text": fused_metrics(gated, doc, txt, caps, has_doc=has_doc),
            "fused default, labels also judged against labels (search today)": fused_metrics(
                gated, doc, txt, caps, z_doc=label_zscore(txt, doc, words, labels), has_doc=has_doc),
            "previous default index (lite0b), searched as today": fused_metrics(
                prev, doc, txt, caps, z_doc=label_zscore(txt, doc, words, labels), has_doc=has_doc),
        }
        for run, res in runs.items():
            table[f"{name}: {run}"] = res
        print(f"{name}: {len(groups)} pictures ({time.perf_counter() - t0:.0f} s)", flush=True)
    print(format_table(table))

    # image -> similar image on photos
    from tests.conftest import package_file  # the same helper the tests use to find package data

    originals = [Image.open(package_file(p, inner)).convert("RGB") for p, inner in PHOTOS]
    names = [Path(inner).name for _, inner in PHOTOS]
    bb = tower.backbone
    orig = bb.run_pixels(__import__("mmrag.space.backbone", fromlist=["to_input"]).to_input(originals))
    distract, distract_old, distract_stages = np.concatenate(gallery), np.concatenate(gallery_old), np.concatenate(gallery_stages)
    kinds = ["crop", "mirror", "recompress", "all three"]
    queries = {k: [] for k in kinds}
    for i, im in enumerate(originals):
        for k, v in variants(im, i).items():
            queries[k].append(v)
    from mmrag.space.backbone import to_input

    def rank1(q: np.ndarray, g: np.ndarray) -> float:
        return float(((q @ g.T).argmax(axis=1) == np.arange(len(q))).mean())

    def vis(f: np.ndarray) -> np.ndarray:
        return project_visual(f, w.visual_mean, w.visual_components)

    def raw(f: np.ndarray) -> np.ndarray:
        return f / np.linalg.norm(f, axis=1, keepdims=True)

    def tow(o) -> np.ndarray:
        return tower.vectors(o.features, o.logits, stages=o.stages)

    d_logits = np.zeros((len(distract), 1000), np.float32)
    rows: dict[str, dict[str, float]] = {}
    n_gal = len(originals) + len(distract)
    for k in kinds:
        qo = bb.run_pixels(to_input(queries[k]))
        q_old = starter.encode(queries[k])
        g_old = starter.encode(originals)
        rows.setdefault("visual channel (PCA 384)", {})[k] = rank1(vis(qo.features), np.concatenate([vis(orig.features), vis(distract)]))
        rows.setdefault("raw backbone features (1280)", {})[k] = rank1(raw(qo.features), np.concatenate([raw(orig.features), raw(distract)]))
        rows.setdefault("tower vectors (text space)", {})[k] = rank1(tow(qo), np.concatenate([tow(orig), tower.vectors(distract, d_logits, stages=distract_stages)]))
        rows.setdefault("starter tower", {})[k] = rank1(q_old, np.concatenate([g_old, distract_old]))
    print(f"\nimage -> original at rank 1, {len(originals)} photos, gallery {n_gal} (originals + {len(distract)} drawings/emoji)\n")
    print("| channel | " + " | ".join(kinds) + " |\n|---|" + "---|" * len(kinds))
    for run, r in rows.items():
        print(f"| {run} | " + " | ".join(f"{r[k]:.3f}" for k in kinds) + " |")
    misses = (vis(bb.run_pixels(to_input(queries['all three'])).features) @ np.concatenate([vis(orig.features), vis(distract)]).T).argmax(axis=1)
    print("visual channel misses (all three):", [(names[i], names[j] if j < len(names) else "a drawing") for i, j in enumerate(misses) if j != i])
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"recall": {k: {d: m.to_dict() for d, m in v.items()} for k, v in table.items()},
                                     "image_to_image": rows, "photos": names}, indent=2))
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
