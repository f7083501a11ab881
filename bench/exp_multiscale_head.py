"""Experiment (issue 9): the bound image head on multi-scale backbone features, not only the last one.

The shipped head (``lite0b``) is a linear map of EfficientNet-Lite0's pooled 1280-d output. This
script asks whether earlier stages (mid-level shapes and strokes, which drawings are made of) help:
it exports the backbone once more to ONNX with the mean and max of each late stage's output as
extra outputs (stages 4-7: 80, 112, 192, 320 channels; and the max of the 1280-d map), computes
them for the training pictures and the sets never trained on, trains the same head (``train_head``,
the recipe of ``lite0b``: CLIP loss, 30 epochs, batch 256, lr 1e-3, seed as given) on several
feature sets, and prints text->image R@10 of the head alone and gated with ConSE as ``lite0b``
searches (its shipped flatness gate, not refitted). Row ``pooled`` is ``lite0b``'s own recipe.

    python bench/exp_multiscale_head.py --seed 0 --work /tmp/multiscale

Needs ``scripts/fetch_training_data.sh`` and the ``*.eval.jsonl`` pairs of
``bench/README.md`` ("lite0b"). Not a test; an experiment kept so that it reproduces. Found:
bench/README.md, "`lite0c`: the head reads the backbone's stage means too".
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from bench_backbone_tower import subset

from mmrag.errors import TrainingError
from mmrag.space.adapters import backbone_tower_dir
from mmrag.space.backbone import INPUT_SIZE, MEAN, STD, build_model, load_state, softmax, weights_path
from mmrag.space.backbone_tower import (
    BackboneTowerConfig,
    FlatGate,
    conse,
    flatnesses,
    gated_combine,
    head_vectors,
)
from mmrag.train.backbone_cache import backbone_outputs
from mmrag.train.bind_backbone import _groups, class_embeddings, train_head
from mmrag.train.data import load_image, split_groups
from mmrag.train.evaluate import pair_metrics
from mmrag.train.features import decode_images, embed_texts, frozen_text_encoder
from mmrag.train.options import BindOptions

STAGE_ENDS = (7, 10, 14, 15)  # the last block of stages 4, 5, 6 and 7 of EfficientNet-Lite0
LAYOUT = [("s4mean", 80), ("s4max", 80), ("s5mean", 112), ("s5max", 112), ("s6mean", 192), ("s6max", 192),
          ("s7mean", 320), ("s7max", 320), ("pooled", 1280), ("pooledmax", 1280)]
FEATURE_SETS = {
    "pooled (lite0b)": ["pooled"],
    "pooled + its max": ["pooled", "pooledmax"],
    "pooled + stages 6-7 means": ["pooled", "s6mean", "s7mean"],
    "pooled + stages 4-7 means": ["pooled", "s4mean", "s5mean", "s6mean", "s7mean"],
    "pooled + stages 5-6 mean and max": ["pooled", "s5mean", "s5max", "s6mean", "s6max"],
    "everything": [name for name, _ in LAYOUT],
}
UNSEEN = ["twemoji", "openmoji", "gcompris_drawings", "gcompris_photos"]


def export(path: Path) -> Any:
    """An onnxruntime session: pixels -> the LAYOUT columns, one row per picture."""
    import onnxruntime as ort
    import torch

    class MultiScale(torch.nn.Module):
        def __init__(self, m: Any) -> None:
            super().__init__()
            self.m = m

        def forward(self, x: Any) -> Any:
            m, outs = self.m, []
            x = m._swish(m._bn0(m._conv_stem(x)))
            for i, block in enumerate(m._blocks):
                x = block(x)
                if i in STAGE_ENDS:
                    outs += [x.mean(dim=(2, 3)), x.amax(dim=(2, 3))]
            h = m._swish(m._bn1(m._conv_head(x)))
            return torch.cat([*outs, h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], 1)

    if not path.exists():
        model = load_state(build_model(), weights_path()).eval()
        torch.onnx.export(MultiScale(model).eval(), (torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE),), str(path),
                          input_names=["pixels"], output_names=["f"], dynamic_axes={"pixels": {0: "n"}, "f": {0: "n"}},
                          dynamo=False)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def multiscale(paths: list[str], work: Path, session: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(features (n, 3968), ok (n,))``, cached in ``work`` per list of paths."""
    key = hashlib.sha1("\n".join(paths).encode("utf-8", "surrogatepass")).hexdigest()[:12]
    cached = work / f"features-{key}.npy"
    if cached.exists():
        z = np.load(cached)
        return z[:, :-1], z[:, -1] > 0
    feats = np.zeros((len(paths), sum(d for _, d in LAYOUT)), np.float32)
    ok = np.zeros(len(paths), bool)

    def decode(p: str) -> np.ndarray | None:
        try:
            return load_image(p, INPUT_SIZE)
        except TrainingError:
            return None

    with ThreadPoolExecutor(2) as pool:
        for s in range(0, len(paths), 64):
            good = [(s + j, a) for j, a in enumerate(pool.map(decode, paths[s : s + 64])) if a is not None]
            if good:
                x = (np.stack([a for _, a in good]).astype(np.float32) - MEAN) / STD
                out = session.run(None, {"pixels": np.ascontiguousarray(x.transpose(0, 3, 1, 2))})[0]
                for (i, _), row in zip(good, out):
                    feats[i], ok[i] = row, True
            print(f"  backbone {min(s + 64, len(paths))}/{len(paths)}", file=sys.stderr, flush=True)
    np.save(cached, np.concatenate([feats, ok[:, None].astype(np.float32)], 1))
    return feats, ok


def columns(feats: np.ndarray, names: list[str]) -> np.ndarray:
    start, spans = 0, {}
    for name, dim in LAYOUT:
        spans[name] = (start, start + dim)
        start += dim
    return np.concatenate([feats[:, spans[n][0] : spans[n][1]] for n in names], 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", default=str(ROOT / ".cache/train/pairs/oca_noto.jsonl"))
    ap.add_argument("--eval-dir", default=str(ROOT / ".cache/train/pairs"))
    ap.add_argument("--cache", default=str(ROOT / ".cache/train/featcache"))
    ap.add_argument("--work", default="/tmp/multiscale")
    ap.add_argument("--seed", type=int, default=0, help="the head's training seed (the held-out split is always seed 0)")
    ap.add_argument("--out", default=None, help="also write the table as JSON here")
    ap.add_argument("--features", default=",".join(FEATURE_SETS),
                    help="comma-separated rows of FEATURE_SETS to train (default: all six)")
    args = ap.parse_args()
    wanted = {label: FEATURE_SETS[label] for label in args.features.split(",")}
    work, cache = Path(args.work), Path(args.cache)
    work.mkdir(parents=True, exist_ok=True)
    session = export(work / "lite0-multiscale.onnx")
    text = frozen_text_encoder("minilm")
    cfg = BackboneTowerConfig(out_dim=384)
    class_emb = class_embeddings(text, cfg.template, cache)
    gate = FlatGate.from_dict(json.loads((backbone_tower_dir("lite0b") / "tower.json").read_text())["flat_gate"])

    train, held = split_groups(_groups(args.pairs), 0.1, 0)
    ms, ok = multiscale([g.a for g in train], work, session)
    _, _, ok_cached = backbone_outputs([g.a for g in train], cache)
    ok &= ok_cached
    train, ms = [g for g, k in zip(train, ok) if k], ms[ok]
    captions = sorted({c for g in train for c in g.captions})
    emb = dict(zip(captions, embed_texts(text, captions, cache)))
    caps = [np.stack([emb[c] for c in g.captions]) for g in train]

    sets = {}
    for name, groups in [("held-out", held)] + [(n, subset(Path(args.eval_dir) / f"{n}.eval.jsonl", 300, 0)) for n in UNSEEN]:
        paths = [g.a for g in groups]
        feats, ok = multiscale(paths, work, session)
        _, logits, ok_cached = backbone_outputs(paths, cache)
        small, ok_small = decode_images(paths, 64, cache)
        keep = ok & ok_cached & ok_small
        kept = [g for g, k in zip(groups, keep) if k]
        first = [g.captions[0] for g in kept]
        from PIL import Image

        sets[name] = (feats[keep], conse(softmax(logits[keep]), class_emb, cfg.top_t),
                      flatnesses([Image.fromarray(a) for a in small[keep]]), np.asarray(embed_texts(text, first, cache)), first)

    opts = BindOptions(pairs="", out="", backbone="efficientnet-lite0", epochs=30, batch_size=256, lr=1e-3, loss="clip",
                       seed=args.seed, holdout=0.1)
    table: dict[str, dict[str, list[float]]] = {}
    print(f"text->image R@10, head alone / gated with ConSE (seed {args.seed})")
    print("| features | dims | " + " | ".join(sets) + " |")
    print("|---|---|" + "---|" * len(sets))
    print("| ConSE alone | – | " + " | ".join(
        f"{pair_metrics(c, t, first)['b->a'].recall[10]:.3f}" for _, c, _, t, first in sets.values()) + " |")
    for label, names in wanted.items():
        w, b, _ = train_head(columns(ms, names), caps, opts)
        row = {}
        for name, (feats, c, flat, t, first) in sets.items():
            h = head_vectors(columns(feats, names), w, b)
            row[name] = [pair_metrics(h, t, first)["b->a"].recall[10], pair_metrics(gated_combine(c, h, flat, gate), t, first)["b->a"].recall[10]]
        table[label] = row
        print(f"| {label} | {w.shape[1]} | " + " | ".join(f"{a:.3f} / {g:.3f}" for a, g in row.values()) + " |", flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps({"seed": args.seed, "recall10_head_gated": table}, indent=1) + "\n")


if __name__ == "__main__":
    main()
