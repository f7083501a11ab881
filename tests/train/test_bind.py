"""Trainer smoke test on 32 synthetic pairs, checkpoint round trip, resume, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmrag.errors import ModelNotFound, SpaceMismatch, TrainingError
from mmrag.space.adapters import load_image_tower
from mmrag.train.loop import BindOptions, bind_image_tower

TEXT_ID = "test:bag-of-words#text"
FAST = {"batch_size": 24, "lr": 5e-3, "image_size": 32, "widths": (8, 16, 32, 64), "holdout": 0.25, "augment": 0.3, "threads": 1}


def _train(pairs: Path, out: Path, bow_text, epochs: int = 30, **kw):
    opts = BindOptions(pairs=str(pairs), out=str(out), epochs=epochs, **{**FAST, **kw})
    return bind_image_tower(opts, bow_text)


@pytest.fixture(scope="module")
def trained(synthetic_pairs: Path, bow_text, tmp_path_factory: pytest.TempPathFactory):
    return _train(synthetic_pairs, tmp_path_factory.mktemp("tower") / "shapes", bow_text)


def test_heldout_recall_rises_well_above_chance(trained) -> None:
    t2i_before, t2i = trained.before["heldout"]["b->a"], trained.after["heldout"]["b->a"]
    i2t = trained.after["heldout"]["a->b"]
    assert trained.n_heldout == 8 and trained.n_train == 24
    assert t2i.recall[1] >= 2 * t2i.chance[1]
    assert t2i.mrr > t2i_before.mrr + 0.2
    assert i2t.recall[1] >= 2 * i2t.chance[1]
    assert trained.losses[-1] < trained.losses[0]


def test_checkpoint_loads_as_space_encoder(trained, synthetic_pairs: Path) -> None:
    enc = load_image_tower(trained.out, 384, text_encoder=TEXT_ID)
    meta = json.loads((trained.out / "tower.json").read_text())
    assert enc.dim == 384 and enc.id.startswith("tower:shapes@") and enc.id.endswith("#image")
    assert meta["sha256"][:12] in enc.id and meta["text_encoder"] == "test:bag-of-words#text"
    imgs = [Image.open(synthetic_pairs.parent / "red_circle_0.png"), Image.open(synthetic_pairs.parent / "blue_square_0.png").convert("RGBA")]
    v = enc.encode(imgs)
    assert v.shape == (2, 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert np.allclose(enc.encode(imgs[:1]), v[:1], atol=1e-5)  # batch-independent (eval mode)
    assert enc.encode([]).shape == (0, 384)


def test_checkpoint_errors(trained, tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match="mmrag train") as typo:
        load_image_tower(tmp_path / "nowhere", 384)
    # a mistyped tower name (--image-model lite0d) is a folder that is not there: the message lists the shipped ones
    assert "a shipped one: lite0b (the default), lite0e, lite0c, lite0-flat, lite0, shipped, or off" in str(typo.value)
    with pytest.raises(SpaceMismatch, match="384"):
        load_image_tower(trained.out, 512, text_encoder=TEXT_ID)
    with pytest.raises(SpaceMismatch, match="bound to"):
        load_image_tower(trained.out, 384)  # default check: the minilm text tower
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "tower.json").write_text((trained.out / "tower.json").read_text())
    data = bytearray((trained.out / "tower.safetensors").read_bytes())
    data[-100:] = b"\0" * 100
    (bad / "tower.safetensors").write_bytes(bytes(data))
    with pytest.raises(TrainingError, match="corrupt"):
        load_image_tower(bad, 384, text_encoder=TEXT_ID)
    (bad / "tower.json").write_text("{not json")
    with pytest.raises(TrainingError, match="not a valid tower"):
        load_image_tower(bad, 384, text_encoder=TEXT_ID)


def test_deterministic_and_resumable(synthetic_pairs: Path, bow_text, tmp_path: Path) -> None:
    a = _train(synthetic_pairs, tmp_path / "a", bow_text, epochs=4)
    b = _train(synthetic_pairs, tmp_path / "b", bow_text, epochs=4)
    ha = json.loads((a.out / "tower.json").read_text())["sha256"]
    assert ha == json.loads((b.out / "tower.json").read_text())["sha256"]
    assert a.losses == b.losses
    # stop after 2 epochs, resume to 4: same losses as the uninterrupted run
    _train(synthetic_pairs, tmp_path / "c", bow_text, epochs=2)
    c = _train(synthetic_pairs, tmp_path / "c", bow_text, epochs=4, resume=True)
    assert len(c.losses) == 4
    assert np.allclose(c.losses[:2], a.losses[:2])


def test_bad_pairs_file_is_a_training_error(tmp_path: Path, bow_text) -> None:
    f = tmp_path / "pairs.jsonl"
    f.write_text('{"a": "x.png", "b": "an x"}\n')
    with pytest.raises(TrainingError, match="at least 4 pictures"):
        _train(f, tmp_path / "o", bow_text, epochs=1)
    rows = [{"a": f"missing{i}.png", "b": f"thing {i}"} for i in range(6)]
    f.write_text("\n".join(json.dumps(r) for r in rows))
    with pytest.raises(TrainingError, match="readable"):
        _train(f, tmp_path / "o", bow_text, epochs=1)


def test_evaluate_text_pairs_any_space(tmp_path: Path, bow_text) -> None:
    from mmrag.train.benchmark import evaluate_pairs

    rows = [{"a": f"notes about {w} and more {w}", "b": w} for w in ("apples", "engines", "rivers", "violins")]
    f = tmp_path / "text.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in rows))
    res = evaluate_pairs(f, text_encoder=bow_text, cache=tmp_path / "c")
    assert res["text"]["b->a"].recall[1] == 1.0 and res["text"]["a->b"].mrr == 1.0
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(json.dumps({"a": "x.png", "b": "x"}) + "\n" + json.dumps({"a": "some text", "b": "y"}) + "\n")
    with pytest.raises(TrainingError, match="mixes"):
        evaluate_pairs(mixed, text_encoder=bow_text, cache=tmp_path / "c")
