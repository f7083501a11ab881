"""Feedback: judgements re-rank paraphrases of the judged queries; exported pairs train as they are."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from mmrag.cli import app
from mmrag.feedback import FeedbackLog, Judgement, feedback_prior
from mmrag.retrieve.search import Query
from mmrag.train.data import read_pairs

# (query the user judged, a paraphrase asked later, the right drawing): 50 drawings under neutral names
JUDGED = [
    ("a sheep", "a woolly sheep", "twemoji-1f411.png"),
    ("a cat", "a kitten", "twemoji-1f408.png"),
    ("a dog", "a puppy", "twemoji-1f415.png"),
    ("a car", "an automobile", "twemoji-1f697.png"),
    ("a bicycle", "a bike to ride", "twemoji-1f6b2.png"),
    ("a horse", "a pony", "twemoji-1f40e.png"),
    ("a cow", "a dairy cow", "twemoji-1f404.png"),
    ("a penguin", "a penguin bird", "openclipart-01.png"),
    ("a trumpet", "a brass trumpet", "openclipart-15.png"),
    ("binoculars", "field glasses binoculars", "openclipart-17.png"),
]


def _rank(hits, name: str) -> int:  # type: ignore[no-untyped-def]
    names = [Path(h.source).name for h in hits]
    return names.index(name) + 1 if name in names else len(names) + 1


def test_prior_math() -> None:
    log = FeedbackLog(None)
    v = np.zeros(4, np.float32)
    v[0] = 1.0
    log.record([Judgement("q", "seg-a", "a.png", 1, tuple(v)), Judgement("q", "seg-b", "b.png", -1, tuple(v))])
    same = Query(vectors={"text": v})
    prior = feedback_prior(log, same)
    assert prior == {"seg-a": 3.0, "seg-b": -3.0}
    half = np.array([0.65, np.sqrt(1 - 0.65**2), 0, 0], np.float32)  # cosine 0.65: half-way between 0.5 and 0.8
    assert abs(feedback_prior(log, Query(vectors={"text": half}))["seg-a"] - 1.5) < 1e-4
    far = np.array([0.3, np.sqrt(1 - 0.09), 0, 0], np.float32)
    assert feedback_prior(log, Query(vectors={"text": far})) is None


def test_feedback_raises_the_right_hit_for_paraphrases_and_exports_trainable_pairs(drawings_engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    engine = drawings_engine
    folder = Path(engine.sources()[0].source).parent
    log = engine.feedback_log()
    log.clear()
    try:
        before = [_rank(engine.search(p, k=20, diversify=False, feedback=False), name) for _, p, name in JUDGED]
        for q, _, name in JUDGED:
            wrong = [h for h in engine.search(q, k=3, diversify=False, feedback=False) if Path(h.source).name != name][:1]
            assert engine.feedback(q, right=[folder / name], wrong=wrong) == 2
        assert len(log) == 20
        after = [_rank(engine.search(p, k=20, diversify=False), name) for _, p, name in JUDGED]
        assert all(a <= b for a, b in zip(after, before)), (before, after)
        assert sum(after) < sum(before)
        assert after.count(1) >= 8 > before.count(1), (before, after)  # paraphrases now find the judged drawing first

        # a new engine reads the same judgements from disk
        reread = FeedbackLog(log.path)
        assert len(reread) == 20 and reread.items[0].query == JUDGED[0][0]

        out = tmp_path / "feedback-pairs.jsonl"
        result = CliRunner().invoke(app, ["feedback", "--export", str(out), "--index", str(engine.config.index)])
        assert result.exit_code == 0, result.output
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert {Path(r["a"]).name for r in rows} == {name for _, _, name in JUDGED}
        assert all(r["hard_negatives"] for r in rows)
        assert {(p.a, p.b) for p in read_pairs(out)} == {(r["a"], r["b"]) for r in rows}
        ckpt = tmp_path / "tower"
        result = CliRunner().invoke(app, [
            "train", str(out), "--out", str(ckpt), "--mode", "bind", "--space", "minilm", "--epochs", "1",
            "--batch-size", "4", "--image-size", "32", "--widths", "8,16,32,64", "--holdout", "0.25", "--threads", "1",
        ])
        assert result.exit_code == 0, result.output
        assert (ckpt / "tower.json").is_file()
    finally:
        log.clear()
