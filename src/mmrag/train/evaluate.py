"""Retrieval metrics (pure numpy): recall@k, MRR, nDCG@10, both directions.

Relevance is by caption: in a held-out set of pictures with one caption each,
the text query "a cat" is answered by *every* picture captioned "a cat", and a
picture query by every caption equal to its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

KS = (1, 5, 10)


@dataclass(frozen=True)
class Metrics:
    n: int
    recall: dict[int, float]
    mrr: float
    ndcg10: float
    chance: dict[int, float]

    def to_dict(self) -> dict[str, float]:
        d = {f"R@{k}": round(v, 4) for k, v in self.recall.items()}
        d.update({"MRR": round(self.mrr, 4), "nDCG@10": round(self.ndcg10, 4), "n": self.n})
        d.update({f"chance R@{k}": round(v, 4) for k, v in self.chance.items()})
        return d


def retrieval_metrics(query: np.ndarray, gallery: np.ndarray, relevant: np.ndarray, ks: Sequence[int] = KS) -> Metrics:
    """``relevant[i, j]`` says gallery item j answers query i (every query needs ≥ 1)."""
    sims = np.asarray(query, dtype=np.float32) @ np.asarray(gallery, dtype=np.float32).T
    rel = np.asarray(relevant, dtype=bool)
    if sims.shape != rel.shape:
        raise ValueError(f"relevance shape {rel.shape} does not match scores {sims.shape}")
    if not rel.any(axis=1).all():
        raise ValueError("every query needs at least one relevant gallery item")
    order = np.argsort(-sims, axis=1, kind="stable")
    ranked_rel = np.take_along_axis(rel, order, axis=1)
    first = ranked_rel.argmax(axis=1)  # rank (0-based) of the first relevant item
    n_gal = rel.shape[1]
    recall = {k: float((first < k).mean()) for k in ks}
    mrr = float((1.0 / (first + 1)).mean())
    depth = min(10, n_gal)
    discounts = 1.0 / np.log2(np.arange(2, depth + 2))
    dcg = (ranked_rel[:, :depth] * discounts).sum(axis=1)
    n_rel = rel.sum(axis=1)
    ideal = np.array([discounts[: min(int(r), depth)].sum() for r in n_rel])
    ndcg = float((dcg / ideal).mean())
    # chance: probability a random ranking puts >= 1 relevant item in the top k
    chance = {k: float(np.mean([_p_hit(n_gal, int(r), k) for r in n_rel])) for k in ks}
    return Metrics(n=int(rel.shape[0]), recall=recall, mrr=mrr, ndcg10=ndcg, chance=chance)


def _p_hit(n: int, r: int, k: int) -> float:
    k = min(k, n)
    p_miss = 1.0
    for i in range(k):
        p_miss *= (n - r - i) / (n - i) if n - r - i > 0 else 0.0
    return 1.0 - p_miss


def pair_metrics(a_emb: np.ndarray, b_emb: np.ndarray, b_keys: Sequence[str]) -> dict[str, Metrics]:
    """Metrics for a held-out set of pairs (row i of ``a_emb`` matches row i of
    ``b_emb``); pairs with equal ``b_keys`` count as relevant to each other."""
    keys = np.asarray([k.strip().lower() for k in b_keys])
    rel = keys[:, None] == keys[None, :]
    return {
        "b->a": retrieval_metrics(b_emb, a_emb, rel),
        "a->b": retrieval_metrics(a_emb, b_emb, rel),
    }


def format_table(results: dict[str, dict[str, Metrics]], labels: dict[str, str] | None = None) -> str:
    """A markdown table: one row per (run, direction)."""
    labels = labels or {"b->a": "text→image", "a->b": "image→text"}
    lines = ["| run | direction | n | R@1 | R@5 | R@10 | MRR | nDCG@10 | chance R@1/5/10 |", "|---|---|---|---|---|---|---|---|---|"]
    for run, dirs in results.items():
        for d, m in dirs.items():
            ch = "/".join(f"{m.chance[k]:.3f}" for k in KS)
            lines.append(
                f"| {run} | {labels.get(d, d)} | {m.n} | {m.recall[1]:.3f} | {m.recall[5]:.3f} | {m.recall[10]:.3f} "
                f"| {m.mrr:.3f} | {m.ndcg10:.3f} | {ch} |"
            )
    return "\n".join(lines)


__all__ = ["KS", "Metrics", "format_table", "pair_metrics", "retrieval_metrics"]
