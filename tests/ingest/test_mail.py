"""E-mail: a message or a whole mbox, each message a numbered part; quotes and signatures left out."""

from __future__ import annotations

import io
import mailbox
from email.message import EmailMessage
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmrag.config import IngestConfig
from mmrag.errors import IngestError
from mmrag.ingest.mail import MailLoader, body_lines, body_paragraphs
from mmrag.ingest.sniffing import looks_like_mail
from mmrag.ingest.sources import sniff_reason
from mmrag.types import Hit, Modality


def _message(subject: str, body: str, html: str | None = None, picture: bool = False) -> EmailMessage:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "Ada Lovelace <ada@example.org>", "bob@example.org", subject
    m["Date"] = "Mon, 03 Mar 2025 10:00:00 +0000"
    m.set_content(body)
    if html:
        m.add_alternative(html, subtype="html")
    if picture:
        arr = np.zeros((80, 100, 3), dtype=np.uint8)
        arr[:, :50] = (20, 180, 40)
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, "PNG")
        m.add_attachment(buf.getvalue(), maintype="image", subtype="png", filename="green_field.png")
    return m


def test_body_lines_drop_quotes_and_signatures() -> None:
    text = "Thursday works.\n\nOn Mon, 3 Mar 2025, Bob wrote:\n> Can we move it?\n> Thanks\n\n-- \nAda\nCEO"
    assert body_lines(text) == ["Thursday works."]
    wrapped = "The budget meeting moves\nto Thursday.\n\nBring the\nfigures."
    assert body_paragraphs(body_lines(wrapped)) == ["The budget meeting moves to Thursday.", "Bring the figures."]
    assert looks_like_mail("From: a@b.c\nSubject: hi\n\nbody") and not looks_like_mail("Title: notes\n\nbody")
    assert looks_like_mail("Title: notes\n\nbody", ".eml")  # a .eml with any header block


def test_an_mbox_is_read_message_by_message(tmp_path: Path) -> None:
    path = tmp_path / "inbox.mbox"
    box = mailbox.mbox(str(path))
    box.add(_message("Budget meeting moved", "The budget meeting moves to Thursday at 3 pm.\n\n-- \nAda"))
    box.add(_message("=?utf-8?q?Caf=C3=A9_order?=", "ignored plain part",
                     html="<p>We need <b>twelve</b> bags of coffee.</p>", picture=True))
    box.add(_message("Re: Budget meeting moved", "Fine by me.\n\n> The budget meeting moves to Thursday at 3 pm."))
    box.flush()
    box.close()
    assert sniff_reason(path) == ("email", "")
    segs = list(MailLoader().load(path, IngestConfig()))
    texts = {s.span.page: s.text for s in segs if s.modality is Modality.TEXT}
    assert texts[1] == ("# Budget meeting moved\n\nThe budget meeting moves to Thursday at 3 pm.\n\n"
                        "From Ada Lovelace <ada@example.org> · To bob@example.org · Mon, 03 Mar 2025 10:00:00 +0000")
    assert "Fine by me." in texts[3] and "Thursday" not in texts[3]  # the quoted message is not indexed again
    assert "ignored plain part" in texts[2]  # the plain part is preferred ...
    picture = next(s for s in segs if s.modality is Modality.IMAGE)
    assert picture.span.page == 2 and picture.text == "green field Café order"  # ... and the subject decoded
    hit = Hit(segment_id="x", source="inbox.mbox", modality=Modality.TEXT, span=picture.span, score=1.0, meta=picture.meta)
    assert hit.label() == "inbox.mbox message 2 “Café order”, fig. 1"


def test_an_html_only_message_and_a_bad_file(tmp_path: Path) -> None:
    m = EmailMessage()
    m["From"], m["Subject"], m["Date"] = "news@example.org", "Ferry news", "Tue, 4 Mar 2025 08:00:00 +0000"
    m.set_content("<html><body><h1>Ferry news</h1><p>The 8:15 ferry is cancelled.</p><script>x()</script></body></html>",
                  subtype="html")
    path = tmp_path / "news.eml"
    path.write_bytes(m.as_bytes())
    (seg,) = list(MailLoader().load(path, IngestConfig()))
    assert "The 8:15 ferry is cancelled." in seg.text and "x()" not in seg.text
    empty = tmp_path / "empty.mbox"
    empty.write_bytes(b"From nobody\n")
    with pytest.raises(IngestError):
        list(MailLoader().load(empty, IngestConfig()))


def test_attached_documents_add_their_words_to_the_message(tmp_path: Path) -> None:
    """A report attached to a mail is found by its words, and the hit is the message it came with; a damaged
    attachment is left out and the message still lands."""
    docx = pytest.importorskip("docx")
    report = docx.Document()
    report.add_heading("Harbour budget", 1)
    report.add_paragraph("The pier repairs cost 48,000 euros this year.")
    buf = io.BytesIO()
    report.save(buf)
    m = _message("Report attached", "See the attached report.")
    m.add_attachment(buf.getvalue(), maintype="application",
                     subtype="vnd.openxmlformats-officedocument.wordprocessingml.document", filename="../../budget.docx")
    m.add_attachment(b"%PDF-1.4\n%broken", maintype="application", subtype="pdf", filename="scan.pdf")
    m.add_attachment(b"plain notes: bring the tide tables", maintype="text", subtype="plain", filename="notes.txt")
    path = tmp_path / "report.eml"
    path.write_bytes(m.as_bytes())
    (seg,) = list(MailLoader().load(path, IngestConfig()))
    assert seg.text == ("# Report attached\n\nSee the attached report.\n\n"
                        "## Attachment ../../budget.docx\n\n# Harbour budget\n\nThe pier repairs cost 48,000 euros this year.\n\n"
                        "## Attachment notes.txt\n\nplain notes: bring the tide tables\n\n"
                        "From Ada Lovelace <ada@example.org> · To bob@example.org · Mon, 03 Mar 2025 10:00:00 +0000")
    from mmrag.generate import build_prompt
    from mmrag.generate.extractive import ExtractiveGenerator
    from mmrag.types import Hit as H

    hit = H(segment_id="m1", source=str(path), modality=Modality.TEXT, span=seg.span, score=1.0, text=seg.text, meta=seg.meta)
    answer = ExtractiveGenerator().generate(build_prompt("how much did the pier repairs cost?", [hit], vision=False))
    assert answer.text == "The pier repairs cost 48,000 euros this year [1].", answer.text
    assert not list(tmp_path.glob("budget*")) and not (tmp_path.parent / "budget.docx").exists()  # no file by the sender's name


def test_a_long_attachment_is_read_once_not_chunk_overlaps_twice(tmp_path: Path) -> None:
    from mmrag.ingest.mail import attachment_text

    words = " ".join(f"w{i}" for i in range(1000))  # 1,000 distinct words: several overlapping chunks
    text = attachment_text("long.txt", words.encode(), IngestConfig(chunk_words=100, chunk_overlap=20))
    assert text.split() == words.split()  # every word once, in order


def test_an_attached_documents_figures_are_the_messages_pictures(tmp_path: Path) -> None:
    """A Word report attached to a mail brings its figure (a real photo) with its caption and the attachment's
    name; it is a picture of the message, searched by its pixels like any attached photo."""
    docx = pytest.importorskip("docx")
    from docx.shared import Inches
    from tests.conftest import package_file

    report = docx.Document()
    report.add_paragraph("The harbour cat keeps the warehouse free of mice.")
    report.add_picture(str(package_file("skimage", "data/chelsea.png")), width=Inches(2))
    report.add_paragraph("Figure 1: the harbour cat.")
    buf = io.BytesIO()
    report.save(buf)
    m = _message("Cat report", "Photo attached.")
    m.add_attachment(buf.getvalue(), maintype="application",
                     subtype="vnd.openxmlformats-officedocument.wordprocessingml.document", filename="cat_report.docx")
    path = tmp_path / "cat.eml"
    path.write_bytes(m.as_bytes())
    segs = list(MailLoader().load(path, IngestConfig()))
    pictures = [s for s in segs if s.modality is Modality.IMAGE]
    assert len(pictures) == 1
    assert "Figure 1: the harbour cat." in (pictures[0].text or "") and "cat report" in (pictures[0].text or "")
    assert pictures[0].image is not None and min(pictures[0].image.size) >= 100  # the photo's pixels, not an icon
    text = next(s for s in segs if s.modality is Modality.TEXT)
    assert "## Attachment cat_report.docx" in (text.text or "")
