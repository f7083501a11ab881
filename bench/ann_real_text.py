"""Recall@10 of the store's vector index on REAL text vectors: WordNet glosses embedded by MiniLM.

    python bench/ann_real_text.py --n 80000 [--wordnet .cache/train/wordnet/package/dict] [--work /tmp/realann]

Glosses of every part of speech (deduplicated, longer than 10 characters) in a
fixed random order; the first ``n - 300`` are indexed by ``mmrag.stores.ann.VectorIndex``
(the store's own index, exact below its threshold, faiss IVF above), the last
300 are the queries; recall@10 against an exact scan, at several settings, in
one run. The embeddings are cached in ``--work``. Not a test: prints a table.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def glosses(folder: Path) -> list[str]:
    out: list[str] = []
    for pos in ("noun", "verb", "adj", "adv"):
        for line in (folder / f"data.{pos}").read_text(errors="replace").splitlines():
            if line.startswith("  ") or "|" not in line:
                continue
            g = line.split("|", 1)[1].strip()
            if len(g) > 10:
                out.append(g)
    return list(dict.fromkeys(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=80000)
    ap.add_argument("--wordnet", type=Path, default=Path(".cache/train/wordnet/package/dict"))
    ap.add_argument("--work", type=Path, default=Path("/tmp/realann"))
    args = ap.parse_args()
    from mmrag.stores.ann import AnnParams, VectorIndex

    cache = args.work / f"vecs-{args.n}.npy"
    if cache.is_file():
        vecs = np.load(cache)
    else:
        from mmrag.config import load_config
        from mmrag.space.text import load_sentence_transformer, resolve_text_model

        texts = glosses(args.wordnet)
        order = np.random.default_rng(0).permutation(len(texts))[: args.n]
        enc = load_sentence_transformer(resolve_text_model(load_config({}, environ={})), "cpu", 128)
        t0 = time.time()
        vecs = np.asarray(enc.encode([texts[i] for i in order]), dtype=np.float32)
        print(f"embedded {len(vecs)} glosses in {time.time() - t0:.0f} s", flush=True)
        args.work.mkdir(parents=True, exist_ok=True)
        np.save(cache, vecs)
    n = len(vecs) - 300
    base, queries = vecs[:n], vecs[n:]
    exact = np.argsort(-(queries @ base.T), axis=1)[:, :10]
    keys = np.arange(n, dtype=np.uint64)
    print("| setting | recall@10 | p50 |\n|---|---|---|")
    for nprobe, min_scan in [(16, 4096), (8, 0), (32, 4096), (64, 4096)]:
        index = VectorIndex(vecs.shape[1], AnnParams(nprobe=nprobe, min_scan=min_scan))
        index.add(keys, base)
        recall, times = [], []
        for q, truth in zip(queries, exact):
            t0 = time.perf_counter()
            found, _ = index.query(q, 10)
            times.append(time.perf_counter() - t0)
            recall.append(len(set(found.tolist()) & set(truth.tolist())) / 10)
        print(f"| nprobe {nprobe}, min_scan {min_scan} ({index.mode}) | {np.mean(recall):.3f} | {np.median(times) * 1000:.2f} ms |")


if __name__ == "__main__":
    main()
