"""Does ``ask`` answer from a PDF manual? A section's title asked about, its first sentence the answer.

A PDF's text layer is lines with no structure: no headings, no paragraphs. This bench takes real manuals with
an outline (bookmarks), and for each bookmarked section asks "What is TITLE?"; the gold answer is the first
sentence under that title, read from pdfium's raw page text (not from mmrag's reader, so the gold does not
depend on the code measured). It indexes the PDFs with the real MiniLM space in a real LanceDB folder, asks
through ``Engine.ask`` with the ``extractive`` generator (the offline default), and counts:

- *answer in context*: some retrieved chunk holds the gold sentence (the ceiling for any generator);
- *first quote right* / *any quote right*: the answer's first / some quoted sentence is the gold one;
- *title glued*: the first quote starts with the section's title run into the sentence under it
  ("Pngcairo The pngcairo terminal device ...");
- *quote over 300 chars*: the first quote is a run-on (a list or a table's rows read as one sentence).

The manuals (Debian packages; none was used to tune anything; up to ``--per-doc`` sections a manual, spread
evenly through its outline; sections whose title is not unique in the outline or whose first line under the
title is not a sentence are left out):

    apt-get download gnuplot-doc sdcc-doc libtasn1-doc shared-mime-info
    for f in *.deb; do dpkg -x "$f" /tmp/pdfdebs; done; zcat /tmp/pdfdebs/usr/share/doc/sdcc-doc/sdccman.pdf.gz > /tmp/pdfdebs/sdccman.pdf
    python bench/bench_ask_pdf.py /tmp/pdfdebs/usr/share/doc/gnuplot/gnuplot.pdf /tmp/pdfdebs/sdccman.pdf \\
        /tmp/pdfdebs/usr/share/doc/libtasn1-doc/libtasn1.pdf /tmp/pdfdebs/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf
    python bench/bench_ask_pdf.py ... --src /path/to/other/checkout/src   # the same questions, other code

Not a test: prints a markdown table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

from answer_quotes import ask_each, extractive_index, norm, right
from checkout import add_src, use_src

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

NUMBERING = re.compile(r"^\s*(?:[A-Z]\.|\d+(?:\.\d+)*\.?)\s+")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Question:
    doc: str
    title: str
    question: str
    gold: str



def gold_after(lines: list[str], title: str) -> str | None:
    """The first sentence under the line that holds ``title`` (its numbering aside), or ``None``."""
    want = norm(title)
    for i, line in enumerate(lines):
        have = norm(line)
        if have.endswith(want) and len(have) - len(want) <= 8 and not re.search(r"\d$", line.strip()):
            following = " ".join(" ".join(lines[i + 1 : i + 8]).split())
            first = SENTENCE_END.split(following, 1)[0]
            words = first.split()
            if 6 <= len(words) and len(first) <= 400 and first[:1].isupper() and first.endswith("."):
                return first
            return None
    return None


def questions_of(pdf: Path, per_doc: int) -> list[Question]:
    import pypdfium2 as pdfium  # the reader the gold comes from: raw text, no mmrag

    doc = pdfium.PdfDocument(str(pdf))
    entries = []
    for mark in doc.get_toc(max_depth=8):
        dest = mark.get_dest()
        title = " ".join(NUMBERING.sub("", mark.get_title()).split())
        if dest is not None and dest.get_index() is not None and len(norm(title)) >= 4:
            entries.append((title, dest.get_index()))
    counts: dict[str, int] = {}
    for title, _ in entries:
        counts[norm(title)] = counts.get(norm(title), 0) + 1
    out = []
    for title, page in entries:
        if counts[norm(title)] != 1:
            continue
        raw = doc[page].get_textpage().get_text_range().replace("\r\n", "\n")
        gold = gold_after(raw.split("\n"), title)
        if gold:
            out.append(Question(pdf.name, title, title if title.endswith("?") else f"What is {title}?", gold))
    step = max(1, len(out) / per_doc)
    return [out[int(i * step)] for i in range(min(per_doc, len(out)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pdfs", type=Path, nargs="+", help="PDF manuals with an outline")
    ap.add_argument("--per-doc", type=int, default=80, help="at most this many sections a manual")
    add_src(ap)
    ap.add_argument("--json", type=Path, default=Path(".cache/bench_ask_pdf.json"))
    args = ap.parse_args()
    use_src(args.src)
    import mmrag

    questions = [q for pdf in args.pdfs for q in questions_of(pdf, args.per_doc)]
    rows, times = [], []
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs"
        docs.mkdir()
        for pdf in args.pdfs:
            shutil.copy(pdf, docs / pdf.name)
        engine, add_s = extractive_index(mmrag, Path(tmp), docs)
        for q, asked in zip(questions, ask_each(engine, (q.question for q in questions)), strict=True):
            times.append(asked.seconds)
            first = asked.first
            in_context = any(norm(q.gold)[:40] in norm(h.text or "") for h in asked.answer.context)
            glued = bool(first) and norm(first).startswith(norm(q.title)) and right(first, q.gold)
            rows.append({"doc": q.doc, "question": q.question, "gold": q.gold, "answer": asked.answer.text,
                         "in_context": in_context, **asked.quoted(q.gold), "glued": glued, "long": len(first) > 300})
        engine.close()
    print(f"\nsource measured: {args.src}; add {add_s:.0f} s")
    print("| manual | questions | answer in context | first quote right | any quote right | title glued | quote over 300 chars | ask median |")
    print("|---|---|---|---|---|---|---|---|")
    for name in [*[p.name for p in args.pdfs], "all"]:
        sel = [r for r in rows if name in ("all", r["doc"])]
        ts = [t for t, r in zip(times, rows, strict=True) if name in ("all", r["doc"])]
        if not sel:
            continue
        n = len(sel)
        print(f"| {name} | {n} | " + " | ".join(f"{sum(r[k] for r in sel) / n:.3f}" for k in ("in_context", "first", "any", "glued", "long"))
              + f" | {statistics.median(ts) * 1000:.0f} ms |")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
