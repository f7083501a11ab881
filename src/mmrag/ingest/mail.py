"""E-mail: one message (``.eml``) or a mailbox of many (``.mbox``), read with the standard library.

Each message is one numbered part of the file (``span.page``, ``meta.page_unit`` = ``message``,
``meta.message_title`` = its subject), so a hit reads ``inbox.mbox message 12 “Budget meeting moved”``:

- **words**: the body (the plain-text part, else the HTML part's visible text; quoted replies
  (``> ...``) and signatures after ``-- `` are left out, so a thread is not indexed many times
  over), then a ``From … · To … · date`` line, chunked like any text;
- **attached documents** (PDF, Word, PowerPoint, OpenDocument, EPUB, text, HTML, notebooks): their
  words join the message's (under ``## Attachment budget.pdf``, up to ``MAX_ATTACHMENT_CHARS`` each), read
  by their own loaders from a temporary copy, so a hit on a report's words cites the message it came
  with; their figures (a Word or PDF figure, a slide's picture; not whole-page renders) join the
  message's pictures, captioned as their document captions them and by the attachment's name;
- **pictures**: attached or inline images through the image tower, captioned by their file name
  and the subject.

Encoded words in headers (``=?utf-8?q?...?=``), quoted-printable and base64 bodies and any
declared charset are decoded by ``email.policy.default``; a message that cannot be parsed is left
out and the rest of the mailbox lands.
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
import logging
import mailbox
import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from mmrag.config import IngestConfig
from mmrag.errors import IngestError
from mmrag.ingest.avio import check_file
from mmrag.ingest.chunking import check_params
from mmrag.ingest.image import filename_words
from mmrag.ingest.office import SlideParts, deck_segments
from mmrag.types import Segment

log = logging.getLogger(__name__)
MAX_MESSAGES = 100_000
MAX_ATTACHMENTS = 10  # documents read per message
MAX_ATTACHMENT_CHARS = 20_000  # of one attachment's words (a long report: its first pages)
MAX_ATTACHMENT_PICTURES = 16  # figures taken from one attached document
_ATTACHED_KINDS = {"pdf", "docx", "doc", "pptx", "ppt", "odt", "odp", "epub", "text", "html", "notebook"}
_SIGNATURE = re.compile(r"^-- ?$")
_QUOTE_HEADER = re.compile(r"^On .{5,200} wrote:$")


def body_lines(text: str) -> list[str]:
    """A message body's own lines: quoted replies, the "On ... wrote:" line before them and the
    signature after ``-- `` left out; blank runs collapsed (pure)."""
    out: list[str] = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.rstrip()
        if _SIGNATURE.match(line):
            break
        if line.startswith(">") or _QUOTE_HEADER.match(line.strip()):
            continue
        if line.strip() or (out and out[-1]):
            out.append(line.strip())
    while out and not out[-1]:
        out.pop()
    return out


def message_parts(message: EmailMessage, config: IngestConfig | None = None) -> SlideParts:
    """One message's subject, header line, body lines, the words of its attached documents (with
    ``config``) and its pictures."""
    subject = " ".join(str(message.get("subject", "") or "").split())
    who = " · ".join(x for x in (
        f"From {message.get('from', '')}".strip() if message.get("from") else "",
        f"To {message.get('to', '')}".strip() if message.get("to") else "",
        str(message.get("date", "") or "").strip(),
    ) if x)
    body = message.get_body(preferencelist=("plain", "html"))
    text = ""
    if body is not None:
        try:
            text = body.get_content()
        except (LookupError, ValueError, AssertionError):  # an unknown charset or a damaged part
            payload = body.get_payload(decode=True)
            text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
        if body.get_content_subtype() == "html":
            from mmrag.ingest.text import html_to_text

            text = html_to_text(text)[0]
    pictures: list[tuple[bytes, str]] = []
    attached: list[str] = []
    for part in message.walk():
        if part is body or part.is_multipart():
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes) or not data:
            continue
        name = part.get_filename() or ""
        if part.get_content_maintype() == "image":
            pictures.append((data, filename_words(name) if name else ""))
        elif name and config is not None and len(attached) < MAX_ATTACHMENTS:
            words, figures = read_attachment(name, data, config)
            if words:  # under a heading of its own: ask quotes what the document says, not the label
                attached.append(f"## Attachment {' '.join(name.split())[:200]}\n\n{words}")
            pictures.extend(figures)
    # who and when last: the subject (a heading) passes its match to what is said under it, not to the header line
    lines = body_paragraphs(body_lines(str(text))) + attached + ([who] if who else [])
    return SlideParts(subject, lines, [], pictures)


def attachment_text(name: str, data: bytes, config: IngestConfig) -> str:
    """The words of an attached document (``read_attachment``)."""
    return read_attachment(name, data, config)[0]


def read_attachment(name: str, data: bytes, config: IngestConfig) -> tuple[str, list[tuple[bytes, str]]]:
    """The text of an attached document (PDF, Word, PowerPoint, OpenDocument, EPUB, text, HTML), read by
    its own loader from a temporary copy, its chunks' paragraphs kept, cut at ``MAX_ATTACHMENT_CHARS``, and
    its figures as ``(PNG bytes, caption)`` (up to ``MAX_ATTACHMENT_PICTURES``; a PDF's whole-page renders
    left out); ``("", [])`` for anything else (pictures are pictures; mail inside mail and catalogues are
    not read) or a file that cannot be read (the message still lands)."""
    import io
    import tempfile

    from mmrag import registry
    from mmrag.ingest.sources import sniff_reason

    if len(data) > config.max_file_mb * 2**20:
        return "", []
    suffix = Path(name).suffix.lower()
    suffix = suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else ""  # the name is the sender's: only its type
    with tempfile.TemporaryDirectory(prefix="mmrag-attachment-") as tmp:
        path = Path(tmp) / f"attachment{suffix}"
        path.write_bytes(data)
        try:
            kind = sniff_reason(path)[0]
            if kind not in _ATTACHED_KINDS:
                return "", []
            # one chunk a page (or a document): its whole text once, not chunks that overlap
            whole = dataclasses.replace(config, chunk_words=MAX_ATTACHMENT_CHARS, chunk_overlap=0)
            segments = list(registry.resolve("loader", kind)().load(path, whole))
            words = "\n\n".join((s.text or "").strip() for s in segments
                                  if s.modality.value == "text" and not s.meta.get("row") and (s.text or "").strip())
            figures: list[tuple[bytes, str]] = []
            for s in segments:
                if s.modality.value != "image" or s.image is None or s.meta.get("figure") == "page":
                    continue
                if len(figures) == MAX_ATTACHMENT_PICTURES:
                    break
                buf = io.BytesIO()
                s.image.save(buf, format="PNG")
                figures.append((buf.getvalue(), " ".join(x for x in ((s.text or "").strip(), filename_words(name)) if x)))
        except Exception as exc:  # noqa: BLE001 - a damaged attachment: the message's own words still land
            log.info("attachment %s not read: %s: %s", name, type(exc).__name__, exc)
            return "", []
    return words[:MAX_ATTACHMENT_CHARS] + (" …" if len(words) > MAX_ATTACHMENT_CHARS else ""), figures


def body_paragraphs(lines: list[str]) -> list[str]:
    """Hard-wrapped body lines joined into paragraphs (blank lines split them) (pure)."""
    out: list[str] = []
    run: list[str] = []
    for line in [*lines, ""]:
        if line:
            run.append(line)
        elif run:
            out.append(" ".join(run))
            run = []
    return out


def _messages(path: Path, is_mbox: bool) -> Iterator[Any]:
    if is_mbox:
        box = mailbox.mbox(str(path), factory=None, create=False)
        try:
            for key in box.iterkeys():
                yield key, box.get_bytes(key)
        finally:
            box.close()
    else:
        yield 0, path.read_bytes()


def is_mbox(head: bytes) -> bool:
    """An mbox starts with a ``From `` separator line (pure)."""
    return head.startswith(b"From ") and b"\n" in head[:1000]


class MailLoader:
    """Loader for the ``email`` kind."""

    kinds: tuple[str, ...] = ("email",)

    def load(self, path: Path, config: IngestConfig) -> Iterator[Segment]:
        path = Path(path)
        source = str(path)
        check_params(config.chunk_words, config.chunk_overlap)
        check_file(path, config.max_file_mb)
        with open(path, "rb") as fh:
            head = fh.read(1000)
        try:  # message by message: a mailbox's attachments are not all held at once
            yield from deck_segments(path, self._parts(path, source, is_mbox(head), config), "email", "", config,
                                     unit="message")
        except OSError as exc:
            raise IngestError(source, f"cannot read the mailbox ({exc}); check the file") from None

    @staticmethod
    def _parts(path: Path, source: str, mbox: bool, config: IngestConfig) -> Iterator[SlideParts | None]:
        for n, (_, raw) in enumerate(_messages(path, mbox)):
            if n >= MAX_MESSAGES:
                log.warning("%s: only the first %d messages are read", source, MAX_MESSAGES)
                return
            try:
                message = email.message_from_bytes(raw, policy=email.policy.default)
                yield message_parts(message, config)  # type: ignore[arg-type]
            except Exception as exc:  # noqa: BLE001 - one damaged message: the rest of the mailbox lands
                log.warning("%s: message %d skipped: %s: %s", source, n + 1, type(exc).__name__, exc)
                yield None


__all__ = ["MailLoader", "attachment_text", "body_lines", "body_paragraphs", "is_mbox", "message_parts", "read_attachment"]
