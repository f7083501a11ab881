"""Calendars (iCalendar ``.ics``: Google Calendar, Thunderbird, Outlook, Apple exports) as rows of events.

Indexed as text, a calendar was ``BEGIN:VEVENT`` / ``DTSTART;TZID=Europe/Berlin:20261203T140000`` lines cut into
chunks across events, so "when is the dentist?" found a chunk of property lines and no date a person reads.
Each event (and to-do) is now a record (``ingest/record_readers.py`` reads the file through ``events``): its
title (``SUMMARY``) with when it happens, written for people (``Dentist — Thu 3 Dec 2026, 14:00–15:00
(Europe/Berlin)``, ``Sat 5 Dec 2026, all day``, ``due Thu 31 Dec 2026``), where, what it says, who organises and attends, how it repeats (``every week on
Monday, until 2027-03-01``), and ``starts``/``ends`` as ISO values, fields for ``--where "starts >= '2026-12-01'"``.
Its ``uid`` (with the occurrence it overrides, for a moved instance of a repeating event) is the row's identity,
so a calendar exported again re-embeds only the events that changed. Parsed by ``icalendar`` (BSD-2, the
Plone/collective library); a repeating event is one row, not expanded into its occurrences.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

ICS_EXTS = (".ics", ".ical", ".icalendar", ".ifb")
COLUMNS = ("title", "when", "location", "description", "organizer", "attendees", "repeats", "categories", "status",
           "kind", "starts", "ends", "uid")  # not start/end: a hit's own span columns have those names
# the record mapping a calendar gets unless a sidecar or --map says otherwise: the words a person asks by are
# embedded (the title carries the time); kind, starts, ends are fields too (filters: --where "starts >=
# '2026-12-01'"); the uid is the row's identity and no field
CALENDAR_MAPPING = {"id": "uid", "title": "title",
                    "text": ["title", "location", "description", "organizer", "attendees", "repeats", "categories", "status"],
                    "fields": ["location", "description", "organizer", "attendees", "repeats", "categories", "status", "kind",
                               "starts", "ends"]}
_DAYS = {"MO": "Monday", "TU": "Tuesday", "WE": "Wednesday", "TH": "Thursday", "FR": "Friday", "SA": "Saturday",
         "SU": "Sunday"}
_FREQ = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year", "HOURLY": "hour", "MINUTELY": "minute"}


def is_calendar(head: bytes) -> bool:
    """Whether a file's first bytes open an iCalendar object (``BEGIN:VCALENDAR``, a BOM or blank lines aside)."""
    return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:15].upper() == b"BEGIN:VCALENDAR"


def _day(value: dt.date) -> str:
    return f"{value:%a} {value.day} {value:%b %Y}"


def _clock(value: dt.datetime) -> str:
    return f"{value:%H:%M}"


def when(start: dt.date | None, end: dt.date | None) -> str:
    """An event's time as people write it (pure): ``Thu 3 Dec 2026, 14:00–15:00 (Europe/Berlin)``, ``Sat 5 Dec 2026,
    all day``, ``Sat 5 Dec 2026 – Mon 7 Dec 2026`` (an all-day ``end`` is exclusive, as iCalendar says)."""
    if start is None:
        return ""
    if not isinstance(start, dt.datetime):  # all day
        last = end - dt.timedelta(days=1) if isinstance(end, dt.date) and not isinstance(end, dt.datetime) else None
        if last is None or last <= start:
            return f"{_day(start)}, all day"
        return f"{_day(start)} – {_day(last)}"
    zone = start.tzinfo
    name = str(getattr(zone, "key", "") or (zone.tzname(start) if zone else "") or "")
    where = f" ({name})" if name else ""
    if not isinstance(end, dt.datetime):
        return f"{_day(start)}, {_clock(start)}{where}"
    end = end.astimezone(zone) if zone and end.tzinfo else end
    if end.date() == start.date():
        return f"{_day(start)}, {_clock(start)}–{_clock(end)}{where}"
    return f"{_day(start)}, {_clock(start)} – {_day(end)}, {_clock(end)}{where}"


def repeats(rule: Any) -> str:
    """A recurrence rule (``icalendar.vRecur``, a mapping of lists) in words (pure): ``every 2 weeks on Monday,
    Wednesday, until 2027-03-01``, ``every year, 10 times``."""
    if not rule:
        return ""
    freq = str((rule.get("FREQ") or [""])[0]).upper()
    unit = _FREQ.get(freq, freq.lower() or "time")
    every = int((rule.get("INTERVAL") or [1])[0] or 1)
    text = f"every {unit}" if every == 1 else f"every {every} {unit}s"
    days = [_DAYS.get(str(d)[-2:].upper(), str(d)) for d in rule.get("BYDAY") or []]
    if days:
        text += " on " + ", ".join(days)
    if rule.get("BYMONTHDAY"):
        text += " on day " + ", ".join(str(d) for d in rule["BYMONTHDAY"])
    if rule.get("UNTIL"):
        until = rule["UNTIL"][0]
        text += f", until {until.date() if isinstance(until, dt.datetime) else until}"
    if rule.get("COUNT"):
        text += f", {rule['COUNT'][0]} times"
    return text


def _person(value: Any) -> str:
    name = str(getattr(value, "params", {}).get("CN", "") or "").strip()
    address = str(value).removeprefix("mailto:").removeprefix("MAILTO:").strip()
    return f"{name} <{address}>" if name and address else name or address


def _categories(component: Any) -> str:
    """``CATEGORIES`` (one property or several, each a list) as ``Family, Outdoors``."""
    found = component.get("CATEGORIES")
    props = found if isinstance(found, list) else [found] if found is not None else []
    return ", ".join(str(c).strip() for p in props for c in (getattr(p, "cats", None) or [p]) if str(c).strip())


def _moment(component: Any, key: str) -> dt.date | None:
    """A date property's value; ``None`` when absent or broken (the event keeps its other words)."""
    try:
        value = getattr(component.get(key), "dt", None)
    except Exception:  # noqa: BLE001 - icalendar raises its own BrokenCalendarProperty for a bad value
        return None
    return value if isinstance(value, dt.date) else None


def _safe_repeats(component: Any) -> str:
    try:
        rule = component.get("RRULE")
        return repeats(rule[0] if isinstance(rule, list) else rule)
    except Exception:  # noqa: BLE001 - a broken rule: the event is kept without it
        return ""


def _duration(component: Any) -> dt.timedelta | None:
    try:
        value = getattr(component.get("DURATION"), "dt", None)
    except Exception:  # noqa: BLE001 - a broken duration: the event is kept without an end
        return None
    return value if isinstance(value, dt.timedelta) else None


def event_values(component: Any) -> dict[str, Any]:
    """One ``VEVENT``/``VTODO``'s row (pure over the parsed component)."""
    start = _moment(component, "DTSTART")
    end = _moment(component, "DTEND") or _moment(component, "DUE")
    if end is None and start is not None and (length := _duration(component)) is not None:
        end = start + length
    attendees = component.get("ATTENDEE") or []
    attendees = attendees if isinstance(attendees, list) else [attendees]
    uid = str(component.get("UID") or "").strip()
    moved = _moment(component, "RECURRENCE-ID")
    status = str(component.get("STATUS") or "").strip().lower()
    due = _moment(component, "DUE") if component.name == "VTODO" and start is None else None
    summary = str(component.get("SUMMARY") or "").strip()
    timing = f"due {when(due, None).removesuffix(', all day')}" if due is not None else when(start, end)
    values: dict[str, Any] = {
        # the title carries the time: a hit's label and an answer's first sentence say when, which is what is asked
        "title": " — ".join(p for p in (summary, timing) if p),
        "when": timing,
        "location": str(component.get("LOCATION") or "").strip(),
        "description": str(component.get("DESCRIPTION") or "").strip(),
        "organizer": _person(component.get("ORGANIZER")) if component.get("ORGANIZER") else "",
        "attendees": ", ".join(p for p in (_person(a) for a in attendees) if p),
        "repeats": _safe_repeats(component),
        "categories": _categories(component),
        "status": "" if status == "confirmed" else status,  # the usual state says nothing; "cancelled" does
        "kind": "to-do" if component.name == "VTODO" else "event",
        "starts": start.isoformat() if start else "",
        "ends": end.isoformat() if isinstance(end, dt.date) else "",
        # RFC 5545 requires a UID; a hand-made file may lack one: then what and when the event is says which it is
        "uid": (f"{uid}#{moved.isoformat()}" if moved else uid) if uid else f"{summary}@{start.isoformat() if start else ''}",
    }
    return values


def events(data: bytes) -> Iterator[tuple[dict[str, Any] | None, str]]:
    """Each event and to-do of a calendar file, in file order: ``(values, "")``, or ``(None, reason)`` for one
    that cannot be read. Raises ``ValueError`` when the file is not an iCalendar object at all."""
    import warnings

    import icalendar

    rows: list[tuple[dict[str, Any] | None, str]] = []
    with warnings.catch_warnings():  # vendor time zone names guessed ("/mozilla.org/.../America/New_York"): fine here
        warnings.simplefilter("ignore")
        for calendar in icalendar.Calendar.from_ical(data, multiple=True):
            for component in calendar.walk():
                if component.name not in ("VEVENT", "VTODO"):
                    continue
                try:
                    rows.append((event_values(component), ""))
                except Exception as exc:  # noqa: BLE001 - one broken event is reported by its number
                    rows.append((None, f"an event mmrag cannot read ({type(exc).__name__}: {exc})"))
    yield from rows

__all__ = ["CALENDAR_MAPPING", "COLUMNS", "ICS_EXTS", "event_values", "events", "is_calendar", "repeats", "when"]
