"""Google Keep notes from Google Takeout (``Keep/*.json``, one note a file) as Markdown (pure).

Takeout writes each Keep note as a JSON object: ``title``, ``textContent`` (or ``listContent``: a checklist of
``{"text", "isChecked"}``), ``labels``, ``createdTimestampUsec``/``userEditedTimestampUsec``, ``isPinned``,
``isArchived``, ``isTrashed``, ``annotations`` (the web links Keep attached) and ``attachments`` (the note's
pictures and recordings, saved beside it under their own names). Indexed as text, a note was that JSON with its
quotes, keys and microsecond stamps. ``keep_markdown`` writes the note as Keep shows it: the title as a heading,
labels and dates as words, the text, checklist items as ``☑``/``☐`` lines, links by their titles and addresses,
and the names of its attachments (each is indexed on its own from the folder: a photo by its pixels).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

_KEYS = ("textContent", "listContent")
_STAMPS = ("createdTimestampUsec", "userEditedTimestampUsec")


def keep_note(text: str) -> dict[str, Any] | None:
    """The note when ``text`` is a Keep note's JSON (an object with its text or list and a Keep time stamp), else
    ``None`` (any other JSON, or none)."""
    head = text.lstrip("\ufeff \t\r\n")
    if not head.startswith("{") or not any(f'"{k}"' in head[:65536] for k in _STAMPS):
        return None
    try:
        note = json.loads(head)
    except ValueError:
        return None
    if not isinstance(note, dict) or not any(k in note for k in _KEYS) or not any(k in note for k in _STAMPS):
        return None
    return note


def says_nothing(note: dict[str, Any]) -> bool:
    """Whether a note has no title, text, checklist item, link or attachment (only its dates and state)."""
    items = [i for i in note.get("listContent") or [] if isinstance(i, dict) and str(i.get("text") or "").strip()]
    return not (str(note.get("title") or "").strip() or str(note.get("textContent") or "").strip() or items
                or note.get("annotations") or note.get("attachments"))


def _when(usec: Any) -> str:
    try:
        moment = dt.datetime.fromtimestamp(int(usec) / 1e6, tz=dt.UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return ""
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def keep_markdown(note: dict[str, Any]) -> tuple[str, str | None]:
    """A Keep note as Markdown, and its title (``None`` when it has none) (pure)."""
    title = " ".join(str(note.get("title") or "").split()) or None
    lines: list[str] = [f"# {title}", ""] if title else []
    labels = [str(label.get("name", "")).strip() for label in note.get("labels") or [] if isinstance(label, dict)]
    if any(labels):
        lines.append(f"Labels: {', '.join(x for x in labels if x)}")
    created, edited = _when(note.get("createdTimestampUsec")), _when(note.get("userEditedTimestampUsec"))
    if created or edited:
        lines.append(f"Created: {created}" + (f", edited: {edited}" if edited and edited != created else "")
                     if created else f"Edited: {edited}")
    state = [word for key, word in (("isPinned", "pinned"), ("isArchived", "archived"), ("isTrashed", "in the trash"))
             if note.get(key) is True]
    if state:
        lines.append(f"State: {', '.join(state)}")
    if lines:
        lines.append("")
    body = str(note.get("textContent") or "").strip()
    if body:
        lines.append(body)
    for item in note.get("listContent") or []:
        if isinstance(item, dict) and str(item.get("text") or "").strip():
            lines.append(f"{'☑' if item.get('isChecked') else '☐'} {str(item['text']).strip()}")
    for link in note.get("annotations") or []:
        if isinstance(link, dict) and (link.get("url") or link.get("title")):
            named = " — ".join(str(link.get(k) or "").strip() for k in ("title", "description") if link.get(k))
            lines.append(f"Link: {named + ' ' if named else ''}{str(link.get('url') or '').strip()}".rstrip())
    attached = [str(a.get("filePath") or "").strip() for a in note.get("attachments") or [] if isinstance(a, dict)]
    if any(attached):
        lines.append(f"Attached: {', '.join(a for a in attached if a)}")
    text = "\n".join(lines).strip()
    return (text + "\n" if text else ""), title


__all__ = ["keep_markdown", "keep_note", "says_nothing"]
