"""Relevance: the probability that a hit is a right answer, fitted from labelled queries.

The calibrated score (``fusion.calibrate``) ranks well but is no threshold: a
query with no answer in the index still has a best match several standard
deviations above its background. ``relevance`` maps each hit's features to a
probability in [0, 1] with a small model fitted per *channel pair* (the list
that found the hit: ``text->text``, ``text->image``, ``image->image``,
``lexical`` ...) on held-out queries whose right answers are known, half of
them with no answer in the index.

Features of a hit at rank ``i`` of the fused list ``s`` (calibrated scores):

- ``score``  = ``s[i]``;
- ``margin`` = ``s[i] - mean(s[i+1 : i+1+MARGIN_WINDOW])``: how far it stands
  out of the hits that follow it (a right answer tends to stand out; the best
  of many near-equal noise matches does not).

Methods (both fitted with numpy, applied with numpy; parameters are a small JSON):

- ``logistic``: ``p = sigmoid(w0 + w1*score + w2*margin)`` (Newton/IRLS, L2 1e-3);
- ``isotonic``: pool-adjacent-violators on the logistic's linear predictor,
  stored as knots for ``np.interp`` (monotone, no shape assumption).

Nothing here is tuned by hand: ``mmrag calibrate`` (``fit_pairs``) refits
from a queries file, and ``scripts/fit_relevance.py`` rebuilds the default
shipped for the offline space.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

MARGIN_WINDOW = 5
FORMAT = 1
POOLED = "*"  # the model fitted on every pair together: used for pairs too rare to fit alone
MIN_PAIR_EXAMPLES = 40  # fewer labelled hits (or <5 of a class) for a pair: use the pooled model


def hit_features(scores: Sequence[float] | np.ndarray) -> np.ndarray:
    """``(n, 2)`` features ``[score, margin]`` for a fused list, best first (pure)."""
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    out = np.zeros((s.size, 2), dtype=np.float64)
    out[:, 0] = s
    for i in range(s.size):
        nxt = s[i + 1 : i + 1 + MARGIN_WINDOW]
        out[i, 1] = s[i] - float(nxt.mean()) if nxt.size else 0.0
    return out


def _design(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64).reshape(-1, 2)
    return np.hstack([np.ones((x.shape[0], 1)), x])


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))


def fit_logistic(x: np.ndarray, y: np.ndarray, *, l2: float = 1e-3, iters: int = 50) -> np.ndarray:
    """Weights ``[w0, w_score, w_margin]`` by Newton's method (IRLS) with a small L2 penalty (pure)."""
    a = _design(x)
    t = np.asarray(y, dtype=np.float64).reshape(-1)
    w = np.zeros(a.shape[1])
    reg = l2 * np.eye(a.shape[1])
    reg[0, 0] = 0.0
    for _ in range(iters):
        p = sigmoid(a @ w)
        grad = a.T @ (p - t) + reg @ w
        hess = (a * (p * (1 - p))[:, None]).T @ a + reg + 1e-9 * np.eye(a.shape[1])
        step = np.linalg.solve(hess, grad)
        w = w - step
        if float(np.abs(step).max()) < 1e-8:
            break
    return w


def pav(z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Isotonic (non-decreasing) regression of ``y`` on ``z`` by pool-adjacent-violators.

    Returns knots ``(z_k, p_k)`` for ``np.interp`` (pure)."""
    order = np.argsort(z, kind="stable")
    zs, ys = np.asarray(z, dtype=np.float64)[order], np.asarray(y, dtype=np.float64)[order]
    blocks: list[list[float]] = []  # [sum_y, count, z_min, z_max]
    for zi, yi in zip(zs, ys):
        blocks.append([yi, 1.0, zi, zi])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] >= blocks[-1][0] / blocks[-1][1]:
            s, c, lo, hi = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += c
            blocks[-1][3] = hi
    knots_z: list[float] = []
    knots_p: list[float] = []
    for s, c, lo, hi in blocks:
        for zz in (lo, hi) if hi > lo else (lo,):
            knots_z.append(zz)
            knots_p.append(s / c)
    return np.asarray(knots_z), np.asarray(knots_p)


@dataclass(frozen=True)
class PairModel:
    """One channel pair's fitted mapping."""

    weights: tuple[float, float, float]
    knots_z: tuple[float, ...] = ()  # isotonic knots on the linear predictor (empty: logistic)
    knots_p: tuple[float, ...] = ()
    n: int = 0
    positives: int = 0

    def predict(self, x: np.ndarray) -> np.ndarray:
        z = _design(x) @ np.asarray(self.weights)
        if self.knots_z:
            return np.clip(np.interp(z, self.knots_z, self.knots_p), 0.0, 1.0)
        return sigmoid(z)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"weights": [round(w, 6) for w in self.weights], "n": self.n, "positives": self.positives}
        if self.knots_z:
            d["knots_z"] = [round(v, 5) for v in self.knots_z]
            d["knots_p"] = [round(v, 5) for v in self.knots_p]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PairModel:
        w = [float(v) for v in d["weights"]]
        return cls(
            weights=(w[0], w[1], w[2]),
            knots_z=tuple(float(v) for v in d.get("knots_z", ())),
            knots_p=tuple(float(v) for v in d.get("knots_p", ())),
            n=int(d.get("n", 0)),
            positives=int(d.get("positives", 0)),
        )


def fit_pair(x: np.ndarray, y: np.ndarray, method: str = "logistic") -> PairModel:
    """Fit one pair's model (``logistic`` or ``isotonic``) on features ``x`` and 0/1 labels ``y``."""
    y = np.asarray(y, dtype=np.float64)
    w = fit_logistic(x, y)
    model = PairModel(weights=(float(w[0]), float(w[1]), float(w[2])), n=int(y.size), positives=int(y.sum()))
    if method == "isotonic":
        kz, kp = pav(_design(x) @ w, y)
        model = PairModel(model.weights, tuple(kz.tolist()), tuple(kp.tolist()), model.n, model.positives)
    elif method != "logistic":
        raise ValueError(f"unknown relevance method {method!r}: use logistic or isotonic")
    return model


@dataclass(frozen=True)
class RelevanceModel:
    """Per-pair models plus a pooled one; keyed to the encoders it was fitted with."""

    pairs: Mapping[str, PairModel]
    method: str = "logistic"
    encoders: Mapping[str, str] = field(default_factory=dict)  # channel -> encoder id at fit time
    source: str = ""  # where it was loaded from (for messages)
    report: Mapping[str, Any] = field(default_factory=dict)

    def model_for(self, pair: str) -> PairModel | None:
        return self.pairs.get(pair) or self.pairs.get(POOLED)

    def predict(self, pair: str, x: np.ndarray) -> np.ndarray | None:
        m = self.model_for(pair)
        return None if m is None else m.predict(x)

    def for_space(self, encoders: Mapping[str, str]) -> RelevanceModel | None:
        """Only the pairs fitted with this space's encoders (a pair ``a->b`` needs towers a and b
        unchanged; the pooled model needs all of them); ``None`` if nothing is left."""
        if not self.encoders:
            return self
        same = {ch for ch, enc in self.encoders.items() if encoders.get(ch) == enc}
        keep: dict[str, PairModel] = {}
        for pair, m in self.pairs.items():
            if pair == POOLED:
                if same == set(self.encoders) and set(encoders) <= same:
                    keep[pair] = m
                continue
            ends = pair.split("->") if "->" in pair else ["text"]
            if all(e in same for e in ends):
                keep[pair] = m
        if not keep:
            return None
        return RelevanceModel(keep, self.method, self.encoders, self.source, self.report)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "method": self.method,
            "encoders": dict(self.encoders),
            "features": ["score", "margin"],
            "margin_window": MARGIN_WINDOW,
            "pairs": {k: v.to_dict() for k, v in sorted(self.pairs.items())},
            "report": dict(self.report),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], source: str = "") -> RelevanceModel:
        if int(d.get("format", 0)) != FORMAT:
            raise ValueError(f"relevance file format {d.get('format')!r} is not {FORMAT}")
        return cls(
            pairs={str(k): PairModel.from_dict(v) for k, v in dict(d["pairs"]).items()},
            method=str(d.get("method", "logistic")),
            encoders={str(k): str(v) for k, v in dict(d.get("encoders", {})).items()},
            source=source,
            report=dict(d.get("report", {})),
        )

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1), encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> RelevanceModel:
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")), source=str(path))


def fit_model(
    examples: Mapping[str, tuple[np.ndarray, np.ndarray]], *, method: str = "logistic", encoders: Mapping[str, str] | None = None
) -> RelevanceModel:
    """Fit every pair with enough examples, plus the pooled model over all of them."""
    pairs: dict[str, PairModel] = {}
    xs, ys = [], []
    for pair, (x, y) in examples.items():
        xs.append(x)
        ys.append(y)
        pos = int(np.sum(y))
        if len(y) >= MIN_PAIR_EXAMPLES and 5 <= pos <= len(y) - 5:
            pairs[pair] = fit_pair(x, y, method)
    if xs:
        x_all, y_all = np.vstack(xs), np.concatenate(ys)
        if 0 < y_all.sum() < y_all.size:
            pairs[POOLED] = fit_pair(x_all, y_all, method)
    return RelevanceModel(pairs=pairs, method=method, encoders=dict(encoders or {}))


def expected_calibration_error(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """ECE: mean |accuracy - confidence| over equal-width probability bins, weighted by bin size (pure)."""
    p, y = np.asarray(p, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if p.size == 0:
        return 0.0
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() / p.size * abs(float(y[m].mean()) - float(p[m].mean()))
    return total


__all__ = [
    "MARGIN_WINDOW",
    "POOLED",
    "PairModel",
    "RelevanceModel",
    "expected_calibration_error",
    "fit_logistic",
    "fit_model",
    "fit_pair",
    "hit_features",
    "pav",
    "sigmoid",
]
