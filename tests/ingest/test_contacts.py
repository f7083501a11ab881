"""Address books (.vcf) as rows of contacts: vCard 2.1, 3.0 and 4.0, typed phones, addresses as written."""

from __future__ import annotations

import shutil
from pathlib import Path

from mmrag.ingest.contacts import cards
from mmrag.ingest.record_readers import RecordReader, record_format
from mmrag.ingest.sources import sniff_reason

DATA = Path(__file__).parents[1] / "data" / "contacts"


def test_each_card_is_a_row_in_every_vcard_version() -> None:
    found = list(cards((DATA / "contacts.vcf").read_text(encoding="utf-8")))
    (ana, _), (ben, _), (juergen, _), (empty, reason) = found
    assert ana == {
        "name": "Ana Silva", "organization": "Orchard Co-op, Pruning team", "job title": "Head gardener",
        "phone": "+49 170 1234567 (cell), +49 341 998877 (work)", "email": "ana@example.org",
        "address": "Hauptstrasse 5, 04109 Leipzig, Germany (home)", "birthday": "1988-04-12", "url": "",
        "note": "Knows which pear trees need pruning, and when.",  # \, read as a comma
        "uid": "Ana Silva|+49 170 1234567 (cell)|ana@example.org"}  # no UID: the name, first phone and address
    assert ben["name"] == "Ben Okafor" and ben["phone"] == "+44-20-7946-0958 (home)"  # 4.0: a tel: URI
    assert juergen["name"] == "Jürgen Müller"  # 2.1: quoted-printable UTF-8
    assert juergen["phone"] == "+49 151 2223334 (cell), 0341 5556667 (home)"  # 2.1: bare TEL;CELL types
    assert juergen["note"] == "Lives next to the bakery.\nLikes quinces."
    assert empty is None and reason == "a contact with no name, phone or e-mail address"


def test_an_address_book_is_sniffed_and_read_as_records(tmp_path: Path) -> None:
    assert sniff_reason(DATA / "contacts.vcf") == ("records", "")
    exported = tmp_path / "export.txt"  # an address book under another name is still one
    shutil.copy(DATA / "contacts.vcf", exported)
    assert sniff_reason(exported) == ("records", "") and record_format(exported, exported.read_bytes()[:64]) == "vcf"
    rows = list(RecordReader(DATA / "contacts.vcf", "vcf").records())
    assert [(r.row, r.values.get("name"), r.error) for r in rows] == [
        (1, "Ana Silva", ""), (2, "Ben Okafor", ""), (3, "Jürgen Müller", ""),
        (4, None, "a contact with no name, phone or e-mail address")]


def test_a_utf16_address_book_is_read(tmp_path: Path) -> None:
    outlook = tmp_path / "outlook.vcf"  # Outlook saves vCards as UTF-16 with a BOM
    outlook.write_bytes((DATA / "contacts.vcf").read_text(encoding="utf-8").encode("utf-16"))
    assert sniff_reason(outlook) == ("records", "") and record_format(outlook, outlook.read_bytes()[:64]) == "vcf"
    rows = list(RecordReader(outlook, "vcf").records())
    assert [r.values.get("name") for r in rows[:3]] == ["Ana Silva", "Ben Okafor", "Jürgen Müller"]
