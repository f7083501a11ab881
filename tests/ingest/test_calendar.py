"""Calendars (.ics) as rows of events: when written for people, fields to filter by, each event its own row."""

from __future__ import annotations

import datetime as dt
import shutil
import zoneinfo
from pathlib import Path

import pytest

from mmrag.errors import IngestError
from mmrag.ingest.calendar import events, repeats, when
from mmrag.ingest.record_readers import RecordReader, record_format
from mmrag.ingest.sources import sniff_reason

DATA = Path(__file__).parents[1] / "data" / "calendar"
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def test_times_are_written_as_people_write_them() -> None:
    at = dt.datetime(2026, 12, 3, 14, 0, tzinfo=BERLIN)
    assert when(at, at + dt.timedelta(hours=1)) == "Thu 3 Dec 2026, 14:00–15:00 (Europe/Berlin)"
    assert when(at, at + dt.timedelta(days=1)) == "Thu 3 Dec 2026, 14:00 – Fri 4 Dec 2026, 14:00 (Europe/Berlin)"
    assert when(dt.date(2026, 12, 12), dt.date(2026, 12, 13)) == "Sat 12 Dec 2026, all day"  # DTEND is exclusive
    assert when(dt.date(2026, 12, 5), dt.date(2026, 12, 8)) == "Sat 5 Dec 2026 – Mon 7 Dec 2026"
    assert when(None, None) == ""
    assert repeats({"FREQ": ["WEEKLY"], "INTERVAL": [2], "BYDAY": ["MO", "WE"]}) == "every 2 weeks on Monday, Wednesday"
    assert repeats({"FREQ": ["YEARLY"], "COUNT": [10]}) == "every year, 10 times"


def test_each_event_and_to_do_is_a_row() -> None:
    rows = [values for values, error in events((DATA / "household.ics").read_bytes()) if not error]
    assert [r["title"].split(" — ")[0] for r in rows] == [
        "Dentist: check-up and cleaning", "Team stand-up", "Team stand-up (moved to 11:00)", "Harvest festival in the orchard",
        "Choir concert", "File the tax return"]
    dentist, standup, moved, festival, choir, tax = rows
    assert dentist["when"] == "Thu 3 Dec 2026, 14:00–15:00 (Europe/Berlin)"
    assert dentist["title"] == "Dentist: check-up and cleaning — Thu 3 Dec 2026, 14:00–15:00 (Europe/Berlin)"
    assert dentist["location"] == "Praxis Dr. Weber, Hauptstrasse 5, Leipzig"  # escaped commas read
    assert dentist["description"] == "Bring the insurance card. The cleaning takes about forty minutes."  # a folded line
    assert dentist["starts"] == "2026-12-03T14:00:00+01:00" and dentist["uid"] == "dentist-2026@mmrag.test"
    assert standup["repeats"] == "every 2 weeks on Monday, Wednesday, until 2027-03-01"
    assert standup["organizer"] == "Ana Silva <ana@example.org>"
    assert standup["attendees"] == "Ben Okafor <ben@example.org>, chloe@example.org"
    assert moved["uid"] == "standup@mmrag.test#2026-11-16T09:30:00+01:00"  # the moved occurrence: a row of its own
    assert festival["when"] == "Sat 5 Dec 2026 – Mon 7 Dec 2026" and festival["categories"] == "Family, Outdoors"
    assert choir["status"] == "cancelled" and dentist["status"] == ""  # the usual state says nothing
    assert tax["kind"] == "to-do" and tax["title"] == "File the tax return — due Thu 31 Dec 2026"


def test_real_exports_read_and_a_broken_event_keeps_its_words() -> None:
    (thunderbird, _), = events((DATA / "alarm_thunderbird_future.ics").read_bytes())
    assert thunderbird["title"].startswith("event with alarms — ") and thunderbird["when"] == "Wed 23 Oct 2024, 15:00–16:00 (Europe/London)"
    (google, _), = events((DATA / "alarm_google_future.ics").read_bytes())
    assert google["when"] == "Fri 4 Oct 2024, 18:15–19:00 (UTC)" and google["uid"].endswith("@google.com")
    (broken, error), = events((DATA / "broken_dtstart.ics").read_bytes())
    assert error == "" and broken["when"] == "" and broken["starts"] == ""  # a bad DTSTART: the event stays, undated


def test_a_calendar_is_sniffed_and_read_as_records(tmp_path: Path) -> None:
    assert sniff_reason(DATA / "household.ics") == ("records", "")
    saved_as_text = tmp_path / "calendar.txt"  # a calendar saved under another name is still one
    shutil.copy(DATA / "household.ics", saved_as_text)
    assert sniff_reason(saved_as_text) == ("records", "")
    assert record_format(saved_as_text, saved_as_text.read_bytes()[:64]) == "ics"
    rows = list(RecordReader(DATA / "household.ics", "ics").records())
    assert [r.row for r in rows] == [1, 2, 3, 4, 5, 6] and rows[0].values["title"].startswith("Dentist: check-up and cleaning — Thu 3 Dec 2026")
    with pytest.raises(IngestError, match="not a readable iCalendar file .*export it again"):
        list(RecordReader(DATA / "issue_104_broken_calendar.ics", "ics").records())


def test_an_event_without_a_uid_is_named_by_what_and_when() -> None:
    data = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:Piano lesson\r\nDTSTART:20261204T170000Z\r\n"
            b"END:VEVENT\r\nEND:VCALENDAR\r\n")
    ((values, error),) = events(data)
    assert error == "" and values["uid"] == "Piano lesson@2026-12-04T17:00:00+00:00"
