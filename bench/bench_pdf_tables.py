"""The PDF table finder's character pass: the page's text read once against once per character.

``tables._page_lines`` groups a page's characters into lines for ``pdf_tables``. It read each character
with ``get_text_range(i, 1)`` (a pdfium call and a buffer per character); it now reads the page's text
once and indexes it. This bench runs both on the same pages in the same process (the per-character
version is kept here as the baseline), checks they give the same lines, and prints the time of each and
the ratio; then, for scale, how long ``PdfLoader`` takes to read each document whole (no embedding).

    python bench/bench_pdf_tables.py /tmp/manpdf/*.pdf --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from checkout import add_src, use_src


def per_character(textpage: Any) -> list[list[tuple[float, float, str]]]:
    """The baseline: ``tables._page_lines`` as it was, one ``get_text_range(i, 1)`` per character (the grouping
    into lines, ``tables.lines_of``, is the same code)."""
    from mmrag.ingest.tables import lines_of

    return lines_of(textpage, (textpage.get_text_range(i, 1) for i in range(textpage.count_chars())))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pdfs", nargs="+", type=Path)
    ap.add_argument("--rounds", type=int, default=3, help="rounds of each pass per document (the median is shown)")
    add_src(ap)
    args = ap.parse_args()
    use_src(args.src)
    import pypdfium2 as pdfium

    from mmrag.config import IngestConfig
    from mmrag.ingest import tables
    from mmrag.ingest.pdf import PdfLoader

    print(f"source measured: {args.src}")
    print("| document | pages | characters | per character | page text once | ratio | same lines | whole read (PdfLoader) |")
    print("|---|---|---|---|---|---|---|---|")
    totals = [0.0, 0.0]
    for path in args.pdfs:
        doc = pdfium.PdfDocument(str(path))
        pages = [doc[i].get_textpage() for i in range(len(doc))]
        chars = sum(tp.count_chars() for tp in pages)
        times: dict[str, list[float]] = {"old": [], "new": []}
        same = True
        for _ in range(args.rounds):
            for name, fn in (("old", per_character), ("new", tables._page_lines)):
                started = time.perf_counter()
                got = [fn(tp) for tp in pages]
                times[name].append(time.perf_counter() - started)
                if name == "old":
                    want = got
                else:
                    same = same and got == want
        for tp in pages:
            tp.close()
        doc.close()
        old, new = statistics.median(times["old"]), statistics.median(times["new"])
        totals[0] += old
        totals[1] += new
        started = time.perf_counter()
        list(PdfLoader().load(path, IngestConfig()))
        whole = time.perf_counter() - started
        print(f"| {path.name} | {len(pages)} | {chars:,} | {old * 1000:.0f} ms | {new * 1000:.0f} ms | "
              f"×{new / old:.2f} | {'yes' if same else 'NO'} | {whole:.2f} s |")
    print(f"| all | | | {totals[0]:.2f} s | {totals[1]:.2f} s | ×{totals[1] / totals[0]:.2f} | | |")


if __name__ == "__main__":
    main()
