"""A calendar, an address book and a bibliography through the engine: the default offline space, a real LanceDB folder. An event is
found and answered with its time, filtered by its start, and a calendar exported again re-embeds only the event
that changed; a contact's phone number is answered from its card, a book from its reference."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import mmrag
from mmrag.config import load_config

DATA = Path(__file__).parents[1] / "data" / "calendar"


@pytest.fixture(scope="module")
def calendar(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("calendar")
    path = root / "household.ics"
    shutil.copy(DATA / "household.ics", path)
    index = root / "index"
    eng = mmrag.Engine.open(str(index), load_config({"index": str(index), "space.name": "minilm"}, environ={}))
    report = eng.add([path])
    assert report.added == (str(path),) and report.segments == 6 and not report.failed
    contacts = root / "contacts.vcf"
    shutil.copy(DATA.parent / "contacts" / "contacts.vcf", contacts)
    report = eng.add([contacts])  # three cards; the fourth has nothing to find it by and is reported
    assert report.segments == 3 and [reason for _, reason in report.failed] == [
        "a contact with no name, phone or e-mail address"]
    bibliography = root / "orchard.bib"
    shutil.copy(DATA.parent / "bibliography" / "orchard.bib", bibliography)
    report = eng.add([bibliography])  # three references; the entry cut off by the file's end is reported
    assert report.segments == 3 and len(report.failed) == 1 and "has no title or author" in report.failed[0][1]
    yield eng, path
    eng.close()


def test_an_event_is_found_and_answered_with_its_time(calendar) -> None:  # type: ignore[no-untyped-def]
    eng, path = calendar
    hit = eng.search("when do I go to the dentist?", k=1)[0]
    assert hit.source == str(path) and hit.text.startswith("Dentist: check-up and cleaning — Thu 3 Dec 2026, 14:00–15:00")
    assert "BEGIN:" not in hit.text and "DTSTART" not in hit.text
    answer = eng.ask("When is the dentist appointment?")
    assert "Thu 3 Dec 2026, 14:00–15:00" in answer.text and answer.citations[0].hit.source == str(path)


def test_events_are_filtered_by_when_they_start(calendar) -> None:  # type: ignore[no-untyped-def]
    eng, _ = calendar
    december = {h.text.split(" — ")[0] for h in eng.search("an event", k=10, where="starts >= '2026-12-01'")}
    assert december == {"Dentist: check-up and cleaning", "Harvest festival in the orchard", "Choir concert"}


def test_a_calendar_exported_again_reembeds_only_the_changed_event(calendar) -> None:  # type: ignore[no-untyped-def]
    eng, path = calendar
    path.write_bytes(path.read_bytes().replace(b"SUMMARY:Harvest festival in the orchard",
                                               b"SUMMARY:Apple harvest festival in the orchard"))
    report = eng.add([path])
    assert report.replaced == (str(path),) and report.segments == 1  # the other five rows keep their vectors
    assert eng.search("apple harvest festival", k=1)[0].text.startswith("Apple harvest festival in the orchard")


def test_a_contact_is_answered_from_its_card(calendar) -> None:  # type: ignore[no-untyped-def]
    eng, _ = calendar
    answer = eng.ask("What is Ana's phone number?")
    assert answer.text.startswith("phone: +49 170 1234567 (cell), +49 341 998877 (work) [1]")
    assert answer.citations[0].hit.text.startswith("Ana Silva")
    hit = eng.search("who lives next to the bakery?", k=1)[0]
    assert hit.text.startswith("Jürgen Müller") and "TEL;" not in hit.text and "=C3" not in hit.text


def test_reindex_reads_an_unchanged_calendar_again(calendar, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    from mmrag.ingest import calendar as reader

    eng, path = calendar
    assert eng.add([path]).unchanged == (str(path),)  # the same bytes: not read
    # a newer reader writes one event differently: --reindex reads the file again and re-embeds that row only
    monkeypatch.setattr(reader, "_categories", lambda component: "Family and outdoors" if component.get("CATEGORIES") else "")
    monkeypatch.setattr(eng, "config", dataclasses.replace(eng.config, ingest=dataclasses.replace(eng.config.ingest, reindex=True)))
    report = eng.add([path])
    assert report.replaced == (str(path),) and report.segments == 1
    assert "categories: Family and outdoors" in eng.search("harvest festival", k=1)[0].text


def test_a_reference_is_answered_with_who_and_when(calendar) -> None:  # type: ignore[no-untyped-def]
    eng, _ = calendar
    answer = eng.ask("Which book did Knuth write?")
    assert answer.text.startswith("The TeXbook (Knuth, 1984) — authors: Donald E. Knuth;")
    hit = eng.search("how much more fruit did the pruned pear trees bear?", k=1)[0]
    assert hit.text.startswith("Pruning Pear Trees Before the Sap Rises: A Ten-Year Study (Keeper et al., 2020)")
    assert "{" not in hit.text and "\\" not in hit.text and "18% more fruit" in hit.text
