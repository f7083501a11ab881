"""Feedback: judgements re-rank paraphrases of the judged queries; exported pairs train as they are."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from mmrag.cli import app
from mmrag.feedback import FeedbackLog, Judgement, feedback_prior, feedback_steer, rocchio
from mmrag.retrieve.search import Query
from mmrag.space.adapters import backbone_tower_dir
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


def test_rocchio_moves_the_query_towards_positives_and_away_from_negatives() -> None:
    q = np.array([1.0, 0.0, 0.0], np.float32)
    pos = np.array([[0.0, 1.0, 0.0]], np.float32)
    neg = np.array([[0.0, 0.0, 1.0]], np.float32)
    moved = rocchio(q, pos, np.ones(1), neg, np.ones(1))
    expected = np.array([1.0, 0.75, -0.15]) / np.linalg.norm([1.0, 0.75, -0.15])
    assert np.allclose(moved, expected, atol=1e-6) and abs(np.linalg.norm(moved) - 1) < 1e-6
    assert moved @ pos[0] > q @ pos[0] and moved @ neg[0] < q @ neg[0]
    half = rocchio(q, pos, np.array([0.5]), np.zeros((0, 3)), np.zeros(0))  # a half-similar past query pulls half as far
    assert np.allclose(half, np.array([1.0, 0.375, 0.0]) / np.linalg.norm([1.0, 0.375, 0.0]), atol=1e-6)
    two = rocchio(q, np.array([[0, 1, 0], [0, 0, 1]], np.float32), np.ones(2), np.zeros((0, 3)), np.zeros(0))
    assert np.allclose(two, np.array([1.0, 0.375, 0.375]) / np.linalg.norm([1.0, 0.375, 0.375]), atol=1e-6)  # the mean of two
    assert np.allclose(rocchio(q, np.zeros((0, 3)), np.zeros(0), np.zeros((0, 3)), np.zeros(0)), q)


def test_feedback_steer_per_channel_from_stored_vectors() -> None:
    log = FeedbackLog(None)
    v = np.array([1.0, 0.0, 0.0, 0.0], np.float32)
    log.record([Judgement("q", "seg-a", "a.png", 1, tuple(v)), Judgement("q", "seg-b", "b.png", -1, tuple(v))])
    stored = {"seg-a:image": np.array([0, 1, 0, 0], np.float32), "seg-b:image": np.array([0, 0, 1, 0], np.float32),
              "seg-a:text": np.array([0, 0, 0, 1], np.float32)}
    asked: list[str] = []

    def fetch(ids: list[str]) -> dict[str, np.ndarray]:
        asked.extend(ids)
        return {i: stored[i] for i in ids if i in stored}

    steer = feedback_steer(log, Query(vectors={"text": v}), fetch, ["text", "image"])
    assert steer is not None and set(steer) == {("text", "image"), ("text", "text")}
    assert np.allclose(steer[("text", "image")], np.array([1, 0.75, -0.15, 0]) / np.linalg.norm([1, 0.75, -0.15, 0]), atol=1e-6)
    assert steer[("text", "text")][3] > 0 and steer[("text", "text")][2] == 0  # seg-b has no text vector: nothing to push from
    far = np.array([0.3, np.sqrt(1 - 0.09), 0, 0], np.float32)
    assert feedback_steer(log, Query(vectors={"text": far}), fetch, ["image"]) is None  # an unrelated query is left alone


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
        for mode in ("prior", "rocchio", "both"):
            after = [_rank(engine.search(p, k=20, diversify=False, feedback=mode), name) for _, p, name in JUDGED]
            assert all(a <= b for a, b in zip(after, before)), (mode, before, after)
            assert sum(after) < sum(before)
            assert after.count(1) >= 8 > before.count(1), (mode, before, after)  # paraphrases now find the judged drawing first

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
        assert json.loads((ckpt / "tower.json").read_text())["hard_negatives"] > 0  # the CNN trainer used them too

        # the feedback recipe: fine-tune the shipped default (lite0b) head on the export, hard negatives in the loss
        tuned = tmp_path / "tuned"
        result = CliRunner().invoke(app, [
            "train", str(out), "--out", str(tuned), "--backbone", "efficientnet-lite0", "--init", "lite0b", "--holdout", "0",
            "--epochs", "3", "--lr", "3e-4", "--threads", "1", "--cache-dir", str(tmp_path / "featcache"),
        ])
        assert result.exit_code == 0, result.output
        meta = json.loads((tuned / "tower.json").read_text())
        shipped = json.loads((backbone_tower_dir() / "tower.json").read_text())
        assert meta["hard_negatives"] == sum(len(set(r["hard_negatives"])) for r in rows) > 0
        from mmrag.space.backbone_tower import BackboneTowerConfig

        same = BackboneTowerConfig.from_dict(meta["tower"]) == BackboneTowerConfig.from_dict(shipped["tower"])
        assert meta["init"] == shipped["name"] and same  # its mix, ConSE and head input kept
        assert meta["n_train"] == len(rows)
        # the reference sample for small channels is the base tower's, not the few judged pictures
        assert (tuned / "background.npz").read_bytes() == (backbone_tower_dir() / "background.npz").read_bytes()
    finally:
        log.clear()


def test_rocchio_reads_judged_vectors_once_until_the_index_changes(drawings_engine) -> None:  # type: ignore[no-untyped-def]
    engine = drawings_engine
    folder = Path(engine.sources()[0].source).parent
    store = engine.store
    calls: list[list[str]] = []
    real = store.vectors

    def counted(ids):  # type: ignore[no-untyped-def]
        calls.append(list(ids))
        return real(ids)

    engine.feedback_log().clear()
    try:
        engine.feedback("a sheep", right=[folder / "twemoji-1f411.png"])
        engine._samples.invalidate()
        store.vectors = counted
        first = engine.search("a woolly sheep", k=5, diversify=False, feedback="rocchio")
        again = engine.search("a woolly sheep", k=5, diversify=False, feedback="rocchio")
        assert len(calls) == 1 and [h.segment_id for h in first] == [h.segment_id for h in again]
        assert Path(first[0].source).name == "twemoji-1f411.png"
        engine._samples.invalidate()  # what add / remove / refresh do
        engine.search("a woolly sheep", k=5, diversify=False, feedback="rocchio")
        assert len(calls) == 2
    finally:
        store.vectors = real
        engine.feedback_log().clear()
