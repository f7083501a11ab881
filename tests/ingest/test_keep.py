"""Google Keep notes from Takeout read as Keep shows them, not as their JSON."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmrag.config import IngestConfig
from mmrag.errors import IngestError
from mmrag.ingest.keep import keep_markdown, keep_note
from mmrag.ingest.sources import sniff_reason
from mmrag.ingest.text import TextLoader

DATA = Path(__file__).parents[1] / "data" / "keep"
CFG = IngestConfig(ocr=False)


def test_a_checklist_and_a_text_note_read_as_keep_shows_them() -> None:
    shopping = keep_note((DATA / "Shopping.json").read_text())
    assert shopping is not None
    expected = ("# Shopping\n\nLabels: home, weekly\nCreated: 2025-12-01 13:00 UTC, edited: 2025-12-02 13:00 UTC\n"
                "State: pinned\n\n☑ Salmon cat food\n☐ Quince jelly jars\n")
    assert keep_markdown(shopping) == (expected, "Shopping")
    ferry = keep_note((DATA / "Ferry times.json").read_text())
    assert ferry is not None
    text, title = keep_markdown(ferry)
    assert title == "Ferry times" and "State: archived" in text
    assert "The first ferry to the island leaves at 6:40 from pier 2" in text
    assert "Link: Island ferries — Timetable and fares https://example.org/ferries" in text
    assert text.endswith("Attached: 1b2f7c3a9e0d.jpg\n") and "textContentHtml" not in text


def test_other_json_is_not_a_keep_note() -> None:
    assert keep_note('{"title": "x", "textContent": "y"}') is None  # no Keep time stamp
    assert keep_note('{"createdTimestampUsec": 1, "textContent": ') is None  # cut JSON
    assert keep_note('[{"createdTimestampUsec": 1, "textContent": "y"}]') is None  # an array is a table


def test_the_text_loader_reads_a_keep_note(tmp_path: Path) -> None:
    assert sniff_reason(DATA / "Shopping.json") == ("text", "")
    segments = list(TextLoader().load(DATA / "Ferry times.json", CFG))
    assert {s.meta["format"] for s in segments} == {"keep"} and segments[0].meta["title"] == "Ferry times"
    assert '"' not in segments[0].text and "Usec" not in segments[0].text
    empty = tmp_path / "empty.json"
    empty.write_text('{"textContent": "", "createdTimestampUsec": 1764594000000000, "isArchived": false}')
    with pytest.raises(IngestError, match="an empty Google Keep note"):
        list(TextLoader().load(empty, CFG))


def test_a_damaged_keep_note_is_text_or_refused(tmp_path: Path) -> None:
    data = (DATA / "Ferry times.json").read_text()
    for cut in range(1, len(data), 37):  # a note cut anywhere is no Keep note any more: indexed as the text it is
        damaged = tmp_path / f"cut{cut}.json"
        damaged.write_text(data[:cut])
        assert keep_note(data[:cut]) is None or cut == len(data)
        try:
            segments = list(TextLoader().load(damaged, CFG))
        except IngestError as exc:
            assert "no text to index" in str(exc)
        else:
            assert {s.meta["format"] for s in segments} == {"text"}
