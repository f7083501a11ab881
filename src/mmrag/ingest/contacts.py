"""Address books (vCard ``.vcf``: phone contacts, Google Contacts, Thunderbird, Outlook, Apple exports) as rows.

Indexed as text, an address book was ``TEL;TYPE=CELL:`` / ``ADR;TYPE=HOME:;;Hauptstrasse 5;Leipzig`` lines cut
into chunks across people. Each card is now a record (``ingest/record_readers.py`` reads the file through
``cards``): the person's name as its title, then organisation and job title, phones and e-mail addresses with
their kinds (``+49 170 1234567 (cell)``), the postal address as it is written on an envelope, birthday, web
address and note, so "what is Ana's phone number?" is answered from her card and cited. Its ``UID`` (else its
name with its first phone and e-mail address) is the row's identity, so an address book exported again re-embeds
only the cards that changed.
vCard 2.1 (phones' exports: bare ``TEL;CELL:`` types, quoted-printable names), 3.0 and 4.0 are read by
``vobject`` (Apache-2.0, py-vobject; icalendar's parser refuses 2.1's bare parameters).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

VCF_EXTS = (".vcf", ".vcard")
COLUMNS = ("name", "organization", "job title", "phone", "email", "address", "birthday", "url", "note", "uid")
# the mapping an address book gets unless a sidecar or --map says otherwise
CONTACTS_MAPPING = {"id": "uid", "title": "name",
                    "text": ["name", "organization", "job title", "phone", "email", "address", "birthday", "url", "note"],
                    "fields": ["organization", "job title", "phone", "email", "address", "birthday", "url", "note"]}
_KINDS = {"cell": "cell", "mobile": "cell", "home": "home", "work": "work", "fax": "fax", "pager": "pager",
          "main": "main", "iphone": "cell", "other": "other"}


def is_address_book(head: bytes) -> bool:
    """Whether a file's first bytes open a vCard (``BEGIN:VCARD``, a BOM or blank lines aside)."""
    return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:11].upper() == b"BEGIN:VCARD"


def _kind(line: Any) -> str:
    """A phone's or address's kind from its ``TYPE=`` (3.0, 4.0) or bare (2.1: ``TEL;CELL:``) parameters."""
    names = [*(getattr(line, "params", {}) or {}).get("TYPE", []), *(getattr(line, "singletonparams", []) or [])]
    kinds = [_KINDS[n.strip().lower()] for name in names for n in str(name).split(",") if n.strip().lower() in _KINDS]
    return f" ({kinds[0]})" if kinds else ""


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(t for t in (_text(v) for v in value) if t)
    return str(value or "").replace("\r\n", "\n").strip()


def _address(value: Any) -> str:
    town = " ".join(p for p in (_text(getattr(value, "code", "")), _text(getattr(value, "city", ""))) if p)
    parts = (getattr(value, "box", ""), getattr(value, "extended", ""), getattr(value, "street", ""), town,
             getattr(value, "region", ""), getattr(value, "country", ""))
    return ", ".join(t for t in (_text(p) for p in parts) if t)


def _name(lines: dict[str, list[Any]]) -> str:
    """``FN`` (the name as shown), else ``N`` (family;given;additional;prefix;suffix) in reading order."""
    for line in lines.get("fn", []):
        if _text(line.value):
            return _text(line.value)
    for line in lines.get("n", []):
        value = line.value
        parts = [getattr(value, k, "") for k in ("prefix", "given", "additional", "family", "suffix")]
        name = " ".join(t for t in (_text(p) for p in parts) if t)
        if name:
            return name
    return ""


def card_values(card: Any) -> dict[str, Any]:
    """One card's row (pure over vobject's parsed component)."""
    lines: dict[str, list[Any]] = {}
    for line in card.lines():
        lines.setdefault(line.name.lower(), []).append(line)

    def joined(key: str, sep: str = ", ") -> str:
        return sep.join(t for t in (_text(line.value) for line in lines.get(key, [])) if t)

    name = _name(lines)
    phones = [f"{_text(line.value).removeprefix('tel:')}{_kind(line)}" for line in lines.get("tel", [])]
    emails = [_text(line.value).removeprefix("mailto:") for line in lines.get("email", [])]
    addresses = [f"{_address(line.value)}{_kind(line)}" for line in lines.get("adr", []) if _address(line.value)]
    uid = joined("uid")
    return {
        "name": name,
        "organization": joined("org"),
        "job title": ", ".join(t for t in (joined("title"), joined("role")) if t),
        "phone": ", ".join(p for p in phones if p.strip() and not p.startswith(" (")),
        "email": ", ".join(e for e in emails if e),
        "address": "; ".join(addresses),
        "birthday": joined("bday"),
        "url": joined("url"),
        "note": joined("note", "\n"),
        # phones' exports often have no UID: the name with the first number or address says which card it is (two
        # people of one name stay two rows)
        "uid": uid or "|".join(p for p in (name, phones[0] if phones else "", emails[0] if emails else "") if p),
    }


def cards(text: str) -> Iterator[tuple[dict[str, Any] | None, str]]:
    """Each card of an address book, in file order: ``(values, "")``, or ``(None, reason)`` for one that cannot be
    read. A line vobject cannot parse is skipped (the card keeps the rest); where the file itself breaks off
    (a card that never ends, a charset that does not exist), the cards read so far are kept and one more
    ``(None, reason)`` says where it stopped. Raises ``ValueError`` when not one card could be read."""
    import logging

    import vobject

    logging.getLogger("vobject.base").setLevel(logging.CRITICAL)  # each skipped line: not the user's concern
    rows: list[tuple[dict[str, Any] | None, str]] = []
    found = vobject.readComponents(text, ignoreUnreadable=True)
    while True:
        try:
            card = next(found)
        except StopIteration:
            break
        except Exception as exc:  # noqa: BLE001 - vobject raises ParseError, LookupError, ... on damaged input
            if not rows:
                raise ValueError(f"{type(exc).__name__}: {exc}") from None
            stop = f"the address book breaks off after contact {len(rows)} ({type(exc).__name__}: {exc})"
            rows.append((None, f"{stop}; the contacts before it are indexed"))
            break
        if card.name.upper() != "VCARD":
            continue
        try:
            values = card_values(card)
        except Exception as exc:  # noqa: BLE001 - one broken card is reported by its number
            rows.append((None, f"a contact mmrag cannot read ({type(exc).__name__}: {exc})"))
            continue
        rows.append((values, "") if values["name"] or values["phone"] or values["email"]
                    else (None, "a contact with no name, phone or e-mail address"))
    yield from rows


__all__ = ["COLUMNS", "CONTACTS_MAPPING", "VCF_EXTS", "card_values", "cards", "is_address_book"]
