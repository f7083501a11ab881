"""Hard negatives for the bind trainers: which items each caption must *not* match.

A pairs file's ``hard_negatives`` (``mmrag feedback --export`` writes a
query's wrong hits there) reach the trainers as ``Group.negatives``. Here
they become a padded ``(N, K)`` index into one table of negative items plus
a mask of the real slots (``hard_slots``, pure), and, per training step, the
tower's embeddings of the batch's negatives (``hard_batch``), which the
losses put into each caption's text→item denominator (``losses.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mmrag.train.data import Group


def hard_slots(negatives: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """``(index (N, K), mask (N, K))``: each item's hard-negative rows padded to the longest list (pure)."""
    k = max((len(n) for n in negatives), default=0)
    index = np.zeros((len(negatives), k), np.int64)
    mask = np.zeros((len(negatives), k), bool)
    for i, row in enumerate(negatives):
        index[i, : len(row)] = row
        mask[i, : len(row)] = True
    return index, mask


def decode_negatives(kit: Any, groups: Sequence[Group], cache: Path, progress: Any = None) -> tuple[Any, np.ndarray, np.ndarray] | None:
    """The kit's prepared inputs for every readable hard negative of ``groups`` and their ``hard_slots``
    (``None`` when no group lists one the kit takes). ``kit``: a ``loop`` modality kit."""
    paths = list(dict.fromkeys(n for g in groups for n in g.negatives if kit.takes(n)))
    if not paths:
        return None
    kept, data, _ = kit.decode([Group(p, ("",)) for p in paths], cache, progress)
    row = {g.a: i for i, g in enumerate(kept)}
    if not row:
        return None
    index, mask = hard_slots([[row[n] for n in g.negatives if n in row] for g in groups])
    return kit.prepare(data), index, mask


def hard_batch(kit: Any, model: Any, negatives: tuple[Any, np.ndarray, np.ndarray] | None, idx: Any, gen: Any,
               device: str) -> tuple[Any, Any]:
    """``(embeddings (B, K, D), mask (B, K))`` of the hard negatives of batch rows ``idx``
    (augmented like the positives), or ``(None, None)`` when the batch has none."""
    import torch

    if negatives is None:
        return None, None
    prepared, index, mask = negatives
    rows, real = index[idx.numpy()], mask[idx.numpy()]
    if not real.any():
        return None, None
    wanted = np.unique(rows[real])
    emb = model(kit.batch(prepared, torch.from_numpy(wanted), gen, device))
    where = {int(r): i for i, r in enumerate(wanted)}
    pick = torch.tensor([[where.get(int(r), 0) for r in line] for line in rows], device=emb.device)
    return emb[pick], torch.from_numpy(real).to(emb.device)


__all__ = ["decode_negatives", "hard_batch", "hard_slots"]
