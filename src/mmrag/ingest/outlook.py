"""Outlook messages (``.msg``): read from the compound file into a standard e-mail message.

A ``.msg`` is an OLE2 compound file ([MS-OXMSG]); olefile (BSD-2, the ``office`` extra) opens it. Each
property of the message is a stream named by its id and type (``__substg1.0_0037001F``: the subject, UTF-16)
or a 16-byte entry in the ``__properties_version1.0`` stream (fixed-size values: the dates); each attachment
is a storage of its own (``__attach_version1.0_#00000000``) with its file name and bytes. What is read:

- subject, sender (name and address; the SMTP address when the sender is an Exchange user), the ``To`` and
  ``Cc`` display lines, the date (sent, else delivered, else created);
- the body: plain text (``PR_BODY``) and, when present, the HTML body (``PR_HTML``, in the message's code page);
- attachments: each file's name and bytes; an attached message (``.msg`` inside a ``.msg``) is read the same
  way and attached as ``message/rfc822``.

The result is an ``email.message.EmailMessage``, so a ``.msg`` becomes segments exactly as an ``.eml`` does
(``mail.message_parts``): its words, its attached documents' words under ``## Attachment budget.pdf``, its
pictures through the image tower, cited as ``note.msg message 1 “Budget meeting moved”``.

Written here, not taken from a library: extract-msg is GPL-3.0 (this project is Apache-2.0) and pins old
olefile and Pillow releases; msg-parser (BSD) has had no release since 2019. The part of the format needed
is the property naming above. Messages saved only as RTF (no plain or HTML body) keep their subject, people,
date and attachments; their RTF body is not read.
"""

from __future__ import annotations

import datetime as dt
import email.errors
import email.header
import email.policy
import email.utils
import mimetypes
import struct
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from mmrag.config import IngestConfig
from mmrag.ingest.mail import message_parts
from mmrag.ingest.office import codepage_codec, deck_segments, open_compound, read_compound
from mmrag.types import Segment

PT_STRING8, PT_UNICODE, PT_BINARY, PT_SYSTIME = 0x001E, 0x001F, 0x0102, 0x0040
PR_SUBJECT, PR_BODY, PR_HTML = 0x0037, 0x1000, 0x1013
PR_SENDER_NAME, PR_SENDER_EMAIL, PR_SENDER_SMTP = 0x0C1A, 0x0C1F, 0x5D01
PR_SENT_REPRESENTING_NAME, PR_SENT_REPRESENTING_EMAIL = 0x0042, 0x0065
PR_DISPLAY_TO, PR_DISPLAY_CC = 0x0E04, 0x0E03
PR_CLIENT_SUBMIT_TIME, PR_MESSAGE_DELIVERY_TIME, PR_CREATION_TIME = 0x0039, 0x0E06, 0x3007
PR_MESSAGE_CODEPAGE, PR_INTERNET_CPID, PR_MESSAGE_LOCALE_ID = 0x3FFD, 0x3FDE, 0x3FF1
PR_ATTACH_DATA, PR_ATTACH_FILENAME, PR_ATTACH_LONG_FILENAME, PR_DISPLAY_NAME = 0x3701, 0x3704, 0x3707, 0x3001
PR_ATTACH_MIME_TAG = 0x370E
PR_TRANSPORT_HEADERS = 0x007D
MAX_ATTACHMENTS = 64  # read per message
MAX_DEPTH = 3  # messages attached inside messages, this deep
_EPOCH = dt.datetime(1601, 1, 1, tzinfo=dt.UTC)


class MsgFormatError(ValueError):
    """Not an Outlook message this reader can follow; the message says why."""


class _Folder:
    """One storage of the compound file (the message, an attachment, an attached message): its properties."""

    def __init__(self, ole: Any, prefix: str, header: int) -> None:
        self.ole, self.prefix = ole, prefix
        self.fixed = self._fixed(header)
        # 8-bit strings are in the message's code page (else its locale's Windows code page); the HTML body in its
        # internet code page (often UTF-8)
        page = self.fixed.get(PR_MESSAGE_CODEPAGE)
        self.codec = codepage_codec(int(page)) if page else None
        self.locale_codec = codepage_codec(locale_codepage(self.fixed.get(PR_MESSAGE_LOCALE_ID, 0)))
        self.html_codec = codepage_codec(int(self.fixed.get(PR_INTERNET_CPID) or page or 1252))

    def _stream(self, name: str) -> bytes | None:
        path = self.prefix + name
        return self.ole.openstream(path).read() if self.ole.exists(path) else None

    def _fixed(self, header: int) -> dict[int, int]:
        """Fixed-size properties (numbers, dates) from ``__properties_version1.0``: its 16-byte entries."""
        raw = self._stream("__properties_version1.0") or b""
        out: dict[int, int] = {}
        for at in range(header, len(raw) - 15, 16):
            ptype, pid = struct.unpack_from("<HH", raw, at)
            if ptype in (0x0003, 0x0002):  # PT_LONG, PT_SHORT
                out[pid] = int(struct.unpack_from("<i", raw, at + 8)[0])
            elif ptype == PT_SYSTIME:
                out[pid] = int(struct.unpack_from("<Q", raw, at + 8)[0])
        return out

    def text(self, pid: int) -> str:
        """A string property, UTF-16 or 8-bit in the message's code page; "" when absent."""
        raw = self._stream(f"__substg1.0_{pid:04X}{PT_UNICODE:04X}")
        if raw is not None:
            return raw.decode("utf-16-le", "replace").split("\x00")[0]
        raw = self._stream(f"__substg1.0_{pid:04X}{PT_STRING8:04X}")
        if raw is None:
            return ""
        if self.codec is None:  # no code page stated: UTF-8 if it reads as such, else the locale's
            try:
                return raw.decode("utf-8").split("\x00")[0]
            except UnicodeDecodeError:
                return raw.decode(self.locale_codec, "replace").split("\x00")[0]
        return raw.decode(self.codec, "replace").split("\x00")[0]

    def binary(self, pid: int) -> bytes | None:
        return self._stream(f"__substg1.0_{pid:04X}{PT_BINARY:04X}")

    def date(self) -> dt.datetime | None:
        for pid in (PR_CLIENT_SUBMIT_TIME, PR_MESSAGE_DELIVERY_TIME, PR_CREATION_TIME):
            ticks = self.fixed.get(pid)
            if ticks:
                try:
                    return _EPOCH + dt.timedelta(microseconds=ticks // 10)
                except OverflowError:
                    continue
        return None

    def storages(self, kind: str) -> list[str]:
        """The sub-storages of this folder named ``__attach_version1.0_#...`` (or recipients), in order."""
        depth = self.prefix.count("/")
        found = {"/".join(entry[: depth + 1]) for entry in self.ole.listdir(streams=True, storages=True)
                 if len(entry) > depth and "/".join(entry[:depth]) + ("/" if depth else "") == self.prefix
                 and entry[depth].startswith(kind)}
        return sorted(found)


_LOCALE_PAGES = {  # Windows ANSI code page by the language of a locale id (its low 10 bits); others: 1252
    0x19: 1251, 0x22: 1251, 0x02: 1251, 0x1A: 1250, 0x23: 1251, 0x2F: 1251, 0x3F: 1251, 0x40: 1251, 0x44: 1251, 0x50: 1251,
    0x05: 1250, 0x0E: 1250, 0x15: 1250, 0x18: 1250, 0x1B: 1250, 0x24: 1250, 0x1C: 1250,
    0x08: 1253, 0x1F: 1254, 0x2C: 1254, 0x0D: 1255, 0x01: 1256, 0x29: 1256, 0x20: 1256,
    0x25: 1257, 0x26: 1257, 0x27: 1257, 0x2A: 1258, 0x1E: 874, 0x11: 932, 0x12: 949,
}


def locale_codepage(lcid: int) -> int:
    """The Windows code page of a locale id (1049, Russian: 1251; 2052, Chinese PRC: 936; 1028, Taiwan: 950) (pure)."""
    if lcid & 0x3FF == 0x04:  # Chinese: simplified in the PRC and Singapore, traditional elsewhere
        return 936 if lcid in (0x0804, 0x1004) else 950
    if lcid == 0x081A:  # Serbian in Latin script
        return 1250
    return _LOCALE_PAGES.get(lcid & 0x3FF, 1252)


def _transport_headers(text: str) -> dict[str, str]:
    """``From``, ``To``, ``Cc`` and ``Date`` of the internet headers a received message keeps (pure; {} if none)."""
    if not text.strip():
        return {}
    import email.parser

    try:
        parsed = email.parser.HeaderParser(policy=email.policy.compat32).parsestr(text[:200_000])
    except Exception:  # noqa: BLE001 - damaged headers: the message's own properties are used
        return {}
    out = {}
    for key in ("From", "To", "Cc", "Date"):
        value = parsed.get(key)
        if value:
            try:  # encoded words (=?utf-8?q?...?=) decoded
                value = str(email.header.make_header(email.header.decode_header(str(value))))
            except (email.errors.MessageError, LookupError, UnicodeError):  # an unknown or damaged charset: as written
                value = str(value)
            out[key] = " ".join(value.split())
    return out


def _one_line(text: str) -> str:
    return " ".join(text.split())[:500]


def build_message(ole: Any, prefix: str = "", depth: int = 0) -> EmailMessage:
    """The message stored under ``prefix`` ("" for the file's own) as a standard e-mail message."""
    folder = _Folder(ole, prefix, 32 if depth == 0 else 24)
    message = EmailMessage(policy=email.policy.default)
    subject = _one_line(folder.text(PR_SUBJECT))
    if subject:
        message["Subject"] = subject
    name = _one_line(folder.text(PR_SENDER_NAME) or folder.text(PR_SENT_REPRESENTING_NAME))
    address = next((a for a in (_one_line(folder.text(pid)) for pid in (PR_SENDER_SMTP, PR_SENDER_EMAIL, PR_SENT_REPRESENTING_EMAIL))
                    if "@" in a and not a.upper().startswith("/O=")), "")  # not an Exchange directory name (/O=...)
    headers = _transport_headers(folder.text(PR_TRANSPORT_HEADERS))
    sender = headers.get("From") or (email.utils.formataddr((name, address)) if address else name)
    people = {"From": sender, "To": folder.text(PR_DISPLAY_TO), "Cc": folder.text(PR_DISPLAY_CC)}
    for header, value in people.items():
        value = _one_line(str(headers.get(header) or value or ""))
        if value:
            message[header] = value
    when = folder.date()
    if when is not None:
        message["Date"] = email.utils.format_datetime(when)
    elif headers.get("Date"):
        message["Date"] = _one_line(str(headers["Date"]))
    plain = folder.text(PR_BODY)
    html_raw = folder.binary(PR_HTML)
    html = html_raw.decode(folder.html_codec, "replace") if html_raw else folder.text(PR_HTML)
    if plain.strip():
        message.set_content(plain)
        if html:
            message.add_alternative(html, subtype="html")
    elif html:
        message.set_content(html, subtype="html")
    else:
        message.set_content("")
    for index, attachment in enumerate(folder.storages("__attach_version1.0_#")):
        if index >= MAX_ATTACHMENTS:
            break
        _attach(ole, message, attachment + "/", depth)
    return message


def _attach(ole: Any, message: EmailMessage, prefix: str, depth: int) -> None:
    part = _Folder(ole, prefix, 8)
    filename = _one_line(part.text(PR_ATTACH_LONG_FILENAME) or part.text(PR_ATTACH_FILENAME) or part.text(PR_DISPLAY_NAME))
    data = part.binary(PR_ATTACH_DATA)
    if data:
        kind = part.text(PR_ATTACH_MIME_TAG) or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        maintype, _, subtype = kind.partition("/")
        message.add_attachment(data, maintype=maintype or "application", subtype=subtype or "octet-stream",
                               filename=filename or "attachment")
        return
    inner = f"{prefix}__substg1.0_{PR_ATTACH_DATA:04X}000D"  # an attached message: a storage of its own
    if depth < MAX_DEPTH and ole.exists(inner):
        message.add_attachment(build_message(ole, inner + "/", depth + 1))


def read_msg(path: Path) -> EmailMessage:
    """An Outlook ``.msg`` as an e-mail message; ``MsgFormatError`` says why not."""
    with open_compound(path, MsgFormatError, "Outlook message") as ole:
        if not ole.exists("__properties_version1.0"):
            raise MsgFormatError("it has no message properties (another kind of OLE2 file?)")
        return build_message(ole)


class OutlookLoader:
    """Loader for the ``msg`` kind (Outlook messages)."""

    kinds: tuple[str, ...] = ("msg",)

    def load(self, path: Path, config: IngestConfig) -> Iterator[Segment]:
        path = Path(path)
        message = read_compound(path, config, "Outlook message", "open it in Outlook and save it as .eml or .msg again",
                                read_msg, MsgFormatError)
        yield from deck_segments(path, [message_parts(message, config)], "msg", "", config, unit="message")


__all__ = ["MsgFormatError", "OutlookLoader", "build_message", "read_msg"]
