"""retrieve/relevance.py and retrieve/diversity.py: the math, on hand-checked values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mmrag.composed import parse_weights
from mmrag.errors import QueryError
from mmrag.retrieve.diversity import Item, fold, mmr, spans_overlap
from mmrag.retrieve.relevance import (
    POOLED,
    RelevanceModel,
    expected_calibration_error,
    fit_logistic,
    fit_model,
    hit_features,
    pav,
    sigmoid,
)
from mmrag.types import Span


def test_hit_features_score_and_margin() -> None:
    f = hit_features([5.0, 3.0, 2.0, 1.0])
    assert f[:, 0].tolist() == [5.0, 3.0, 2.0, 1.0]
    assert f[0, 1] == pytest.approx(5 - 2.0)  # 5 minus mean(3, 2, 1)
    assert f[2, 1] == pytest.approx(1.0) and f[3, 1] == 0.0
    f6 = hit_features([9, 1, 1, 1, 1, 1, 0])
    assert f6[0, 1] == pytest.approx(8.0)  # the window is the next 5 hits only


def test_logistic_recovers_known_weights() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20000, 2)) * [2.0, 1.0]
    y = (rng.random(20000) < sigmoid(-1.0 + 1.5 * x[:, 0] + 0.5 * x[:, 1])).astype(float)
    w = fit_logistic(x, y)
    assert w == pytest.approx([-1.0, 1.5, 0.5], abs=0.1)


def test_pav_is_isotonic_and_pools_violators() -> None:
    z, p = pav(np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.0, 1.0, 0.0, 1.0]))
    assert p.tolist() == [0.0, 0.5, 0.5, 1.0]  # 2 and 3 pooled
    assert z.tolist() == [1.0, 2.0, 3.0, 4.0]
    rng = np.random.default_rng(1)
    zz = rng.normal(size=500)
    _, pp = pav(zz, (rng.random(500) < sigmoid(2 * zz)).astype(float))
    assert np.all(np.diff(pp) >= 0)


def test_ece_by_hand() -> None:
    p = np.array([0.95, 0.95, 0.15, 0.15])
    y = np.array([1, 0, 0, 0])
    assert expected_calibration_error(p, y) == pytest.approx(0.5 * 0.45 + 0.5 * 0.15)
    assert expected_calibration_error(np.array([0.5, 0.5]), np.array([1, 0])) == pytest.approx(0.0)


def test_model_round_trip_and_space_check(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(400, 2))
    y = (x[:, 0] > 0).astype(float)
    model = fit_model({"text->image": (x, y), "lexical": (x[:10], y[:10])}, method="isotonic",
                      encoders={"text": "t1", "image": "i1"})
    assert set(model.pairs) == {"text->image", POOLED}  # 10 examples are too few for a pair of its own
    path = tmp_path / "rel.json"
    model.save(path)
    back = RelevanceModel.load(path)
    probe = np.array([[2.0, 0.5], [-2.0, 0.0]])
    assert np.allclose(back.predict("text->image", probe), model.predict("text->image", probe), atol=1e-4)
    high, low = back.predict("text->image", probe)
    assert high > 0.9 and low < 0.1
    assert np.allclose(back.predict("lexical", probe), model.pairs[POOLED].predict(probe), atol=1e-4)  # falls back to pooled
    same = back.for_space({"text": "t1", "image": "i1"})
    assert same is not None and set(same.pairs) == {"text->image", POOLED}
    assert back.for_space({"text": "t1", "image": "NEW"}) is None  # a new image tower: refit
    assert back.for_space({"text": "other"}) is None


def _item(key: str, source: str, span: Span | None = None, **vecs: list[float]) -> Item:
    return Item(key, source, span or Span(), {ch: np.asarray(v, np.float32) / np.linalg.norm(v) for ch, v in vecs.items()})


def test_fold_duplicates_and_per_source_cap() -> None:
    items = [
        _item("a", "film.mp4", Span(t0=0, t1=2), image=[1, 0, 0]),
        _item("b", "film.mp4", Span(t0=4, t1=6), image=[1, 0.01, 0]),  # the same scene again
        _item("c", "film.mp4", Span(t0=2, t1=4), image=[0, 1, 0]),
        _item("d", "notes.md", Span(start=0, end=100), text=[0, 0, 1]),
        _item("e", "notes.md", Span(start=80, end=180), text=[0, 1, 1]),  # overlaps d's characters
        _item("g", "copy.md", Span(start=0, end=100), text=[0, 0, 1]),  # same text vector, another file: kept
        _item("f", "big.png", image=[1, 0, 0.02]),  # the first picture at another size
    ]
    kept = fold(items, 5)
    assert [(items[i].key, [items[j].key for j in dup]) for i, dup in kept] == [
        ("a", ["b", "f"]), ("c", []), ("d", ["e"]), ("g", [])
    ]
    capped = fold(items, 5, threshold=2.0, per_source=1)
    assert [items[i].key for i, _ in capped] == ["a", "d", "g", "f"]
    assert spans_overlap(Span(t0=0, t1=2), Span(t0=1, t1=3)) and not spans_overlap(Span(t0=0, t1=2), Span(t0=2, t1=4))
    assert not spans_overlap(Span(page=1, start=0, end=9), Span(page=2, start=0, end=9))
    order = mmr(items[:3], [3.0, 2.9, 1.0], 3, lam=0.5)
    assert order == [0, 2, 1]  # the near-copy b waits behind the different shot c


def test_parse_weights() -> None:
    assert parse_weights("text=0.3, image=0.7") == {"text": 0.3, "image": 0.7}
    assert parse_weights(None) is None and parse_weights(" ") is None
    with pytest.raises(QueryError, match="text=0.3"):
        parse_weights("smell=1")
    with pytest.raises(QueryError, match="number"):
        parse_weights("text=lots")


def test_the_shipped_model_that_fits_the_most_channel_pairs_is_chosen(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two shipped models share the text tower; each index gets the one fitted with all of its towers."""
    import json

    from mmrag.calibration import load_relevance
    from mmrag.space.adapters import backbone_tower_dir

    weights = backbone_tower_dir().parent
    for name in ("relevance-minilm.json", "relevance-minilm-flat.json"):
        encoders = json.loads((weights / name).read_text())["encoders"]
        model = load_relevance(str(tmp_path / "index"), encoders)
        assert model is not None and model.source.endswith(name)
        assert {"text->image", "text->text"} <= set(model.pairs)
    other = {"text": "st:all-MiniLM-L6-v2#text", "image": "tower:someone-else#image"}
    only_text = load_relevance(str(tmp_path / "index"), other)
    assert only_text is not None and set(only_text.pairs) == {"text->text"}  # no picture pair for an unknown tower
