"""Fitting ``relevance`` from labelled queries, measuring it, and finding the model for an index.

A queries file is JSON lines, one query each::

    {"query": "a red apple", "answers": ["apple-01.png"]}
    {"image": "q/cat.jpg", "answers": ["tabby.png", "notes/cats.md"]}
    {"query": "the capital of Peru", "answers": []}        # no answer in the index
    {"query": "a cat", "answers": ["0042.svg"], "where": "source LIKE '%/pictures/%'"}

``answers`` are sources (full paths or file names). Queries with no answer
are what teaches abstention: about half of a good calibration set should
have none. ``fit_relevance`` searches every query, labels each of its top
hits right or wrong, fits per channel pair (``retrieve/relevance.py``), and
reports, on a held-out half, the expected calibration error and how well
"top hit below the threshold" predicts "this query has no answer".

Where the model comes from (``load_relevance``): the index's own
``mmrag-relevance.json`` (written by ``mmrag calibrate``), else a default
shipped in ``mmrag/weights/relevance-*.json`` for the same encoders (only
the pairs whose towers are unchanged are used), else none.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mmrag.errors import MmragError
from mmrag.retrieve.relevance import (
    MARGIN_WINDOW,
    RelevanceModel,
    expected_calibration_error,
    fit_model,
    hit_features,
)
from mmrag.sidecars import sidecar_path

FILE_NAME = "mmrag-relevance.json"
WEIGHTS = Path(__file__).parent / "weights"


@dataclass(frozen=True)
class LabelledQuery:
    text: str | None
    image: str | None
    answers: tuple[str, ...]
    where: str | None = None  # search only part of the index (one collection of a shared fit index)


@dataclass(frozen=True)
class Judged:
    """One searched query: its hits' pairs, features and right/wrong labels, best first."""

    query: LabelledQuery
    pairs: tuple[str, ...]
    features: np.ndarray  # (n, 2)
    labels: np.ndarray  # (n,) 0/1


def read_queries(path: str | Path) -> list[LabelledQuery]:
    src = Path(path)
    if not src.is_file():
        raise MmragError(f"queries file {src} does not exist: pass JSON lines like {{\"query\": \"...\", \"answers\": [\"file.png\"]}}")
    out: list[LabelledQuery] = []
    for n, line in enumerate(src.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            answers = d.get("answers", [])
            if isinstance(answers, str):
                answers = [answers]
            image = d.get("image")
            if image and not Path(image).is_absolute():
                image = str((src.parent / image).resolve())
            q = LabelledQuery(d.get("query") or None, image or None, tuple(str(a) for a in answers), d.get("where") or None)
        except (ValueError, AttributeError) as exc:
            raise MmragError(f"{src}:{n}: not a JSON object with 'query' and 'answers' ({exc}). Fix that line.") from None
        if not q.text and not q.image:
            raise MmragError(f"{src}:{n}: a query needs 'query' (text) or 'image'.")
        out.append(q)
    if not out:
        raise MmragError(f"{src} holds no queries.")
    return out


def is_answer(source: str, answers: Sequence[str]) -> bool:
    name = Path(source).name
    return any(source == a or name == a or name == Path(a).name for a in answers)


def judge(engine: Any, queries: Sequence[LabelledQuery], *, depth: int = 10) -> list[Judged]:
    """Search every query (no feedback, no folding) and label its top ``depth`` hits."""
    out: list[Judged] = []
    for q in queries:
        hits = engine.search(
            q.text, image=q.image, k=depth + MARGIN_WINDOW, where=q.where, diversify=False, feedback=False, min_relevance=0.0
        )
        feats = hit_features([h.score for h in hits])[:depth]
        top = hits[:depth]
        out.append(Judged(
            q, tuple(h.found_by or "lexical" for h in top), feats,
            np.asarray([1.0 if is_answer(h.source, q.answers) else 0.0 for h in top]),
        ))
    return out


def examples(judged: Sequence[Judged]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    by: dict[str, tuple[list[np.ndarray], list[float]]] = {}
    for j in judged:
        for pair, x, y in zip(j.pairs, j.features, j.labels):
            xs, ys = by.setdefault(pair, ([], []))
            xs.append(x)
            ys.append(float(y))
    return {p: (np.vstack(xs), np.asarray(ys)) for p, (xs, ys) in by.items()}


def evaluate(model: RelevanceModel, judged: Sequence[Judged], threshold: float) -> dict[str, float]:
    """ECE and Brier of ``relevance`` over all judged hits, and abstention quality at ``threshold``:
    a query abstains when its best hit's relevance is below it."""
    probs: list[float] = []
    labels: list[float] = []
    abstain_tp = abstain_fp = unanswerable = answered = answered_right = abstain_top_wrong = 0
    for j in judged:
        p = np.asarray([float(model.predict(pair, x[None, :])[0]) for pair, x in zip(j.pairs, j.features)])  # type: ignore[index]
        probs.extend(p.tolist())
        labels.extend(j.labels.tolist())
        no_answer = not j.query.answers
        unanswerable += no_answer
        if p.size == 0 or p.max() < threshold:
            abstain_tp += no_answer
            abstain_fp += not no_answer
            abstain_top_wrong += not (j.labels.size and j.labels[0])
        else:
            answered += 1
            answered_right += bool(j.labels[int(np.argmax(p))])
    pa, ya = np.asarray(probs), np.asarray(labels)
    abstained = abstain_tp + abstain_fp
    pc = np.clip(pa, 1e-4, 1 - 1e-4)
    return {
        "log_loss": round(float(-np.mean(ya * np.log(pc) + (1 - ya) * np.log(1 - pc))) if pa.size else 0.0, 4),
        "threshold": threshold,
        "queries": len(judged),
        "unanswerable": unanswerable,
        "ece": round(expected_calibration_error(pa, ya), 4),
        "brier": round(float(np.mean((pa - ya) ** 2)) if pa.size else 0.0, 4),
        "abstain_precision": round(abstain_tp / abstained, 4) if abstained else 1.0,
        "abstain_recall": round(abstain_tp / unanswerable, 4) if unanswerable else 1.0,
        "answered": answered,
        "answered_top1_right": round(answered_right / answered, 4) if answered else 0.0,
        # abstaining is also right when the answer is indexed but the top hit is wrong anyway
        "abstained_top1_wrong": round(abstain_top_wrong / abstained, 4) if abstained else 1.0,
    }


def split(queries: Sequence[LabelledQuery], holdout: float, seed: int = 0) -> tuple[list[LabelledQuery], list[LabelledQuery]]:
    order = list(range(len(queries)))
    random.Random(seed).shuffle(order)
    cut = round(len(order) * (1 - holdout))
    return [queries[i] for i in order[:cut]], [queries[i] for i in order[cut:]]


def fit_relevance(
    engine: Any, queries: Sequence[LabelledQuery], *, method: str = "auto", holdout: float = 0.5, threshold: float = 0.5,
    depth: int = 10, seed: int = 0,
) -> tuple[RelevanceModel, dict[str, Any]]:
    """Fit on a split, measure on the rest (both methods when ``auto``: the lower held-out log loss
    wins), then refit the chosen one on all."""
    spec = engine.info().space
    encoders = dict(spec.encoders) if spec else {}
    judged = judge(engine, queries, depth=depth)
    by_query = {id(j.query): j for j in judged}
    fit_q, test_q = split(queries, holdout, seed) if holdout > 0 else (list(queries), list(queries))
    fit_j, test_j = [by_query[id(q)] for q in fit_q], [by_query[id(q)] for q in test_q]
    methods = ["logistic", "isotonic"] if method == "auto" else [method]
    report: dict[str, Any] = {"depth": depth, "holdout": holdout, "fit_queries": len(fit_j), "test_queries": len(test_j)}
    for m in methods:
        report[m] = evaluate(fit_model(examples(fit_j), method=m, encoders=encoders), test_j, threshold)
    # log loss (a proper scoring rule) decides: ECE alone rewards a model that says 0 to every rare positive
    chosen = min(methods, key=lambda m: (report[m]["log_loss"], m))
    report["chosen"] = chosen
    half = fit_model(examples(fit_j), method=chosen, encoders=encoders)
    report["best_f1_threshold"], report["at_best_f1"] = best_threshold(half, test_j)
    report["threshold"] = keep_right_threshold(half, test_j)  # what ask uses
    report["at_threshold"] = evaluate(half, test_j, report["threshold"])
    model = fit_model(examples(judged), method=chosen, encoders=encoders)
    return RelevanceModel(model.pairs, model.method, model.encoders, "", report), report


def best_threshold(model: RelevanceModel, judged: Sequence[Judged]) -> tuple[float, dict[str, float]]:
    """The abstention threshold with the best F1 of "abstained" vs "had no answer" on held-out queries
    (``ask`` uses it unless ``search.ask_min_relevance`` is set)."""
    best: tuple[float, float, dict[str, float]] = (-1.0, 0.5, {})
    for t in np.round(np.arange(0.02, 0.91, 0.02), 2):
        r = evaluate(model, judged, float(t))
        p, rec = r["abstain_precision"], r["abstain_recall"]
        f1 = 2 * p * rec / (p + rec) if p + rec else 0.0
        if f1 > best[0] + 1e-9:
            best = (f1, float(t), r | {"abstain_f1": round(f1, 4)})
    return best[1], best[2]


def keep_right_threshold(model: RelevanceModel, judged: Sequence[Judged], keep: float = 0.9) -> float:
    """The highest threshold at which ``keep`` of the held-out queries whose top hit is right still
    answer: ``ask`` declines only what is unlikely, never most right answers (pure given the model)."""
    tops = [float(model.predict(j.pairs[0], j.features[:1])[0]) for j in judged if j.labels.size and j.labels[0]]  # type: ignore[index]
    if not tops:
        return 0.5
    return round(float(np.quantile(np.asarray(tops), 1.0 - keep)), 4)


def load_relevance(location: str, encoders: Mapping[str, str]) -> RelevanceModel | None:
    """The index's own model, else the shipped default that fits the most channel pairs of these
    encoders (one fitted with every tower unchanged beats one that only shares the text tower), else ``None``."""
    own = sidecar_path(location, FILE_NAME)
    found: list[RelevanceModel] = []
    for path in ([own] if own is not None and own.is_file() else []) + sorted(WEIGHTS.glob("relevance-*.json")):
        try:
            model = RelevanceModel.load(path).for_space(encoders)
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if model is not None and path == own:
            return model
        if model is not None:
            found.append(model)
    return max(found, key=lambda m: len(m.pairs), default=None)


__all__ = ["FILE_NAME", "LabelledQuery", "evaluate", "fit_relevance", "judge", "load_relevance", "read_queries"]
