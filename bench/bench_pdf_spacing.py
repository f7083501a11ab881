"""What mending a PDF's spaces costs (``pdf_layout.respaced``): the PDF reader's first pass over every page
(``PdfLoader._page_text``: text, lines, their type) with every character measured, against the same pass with
three characters sampled a line as before, in the same process on the same files; and the pass as shipped (every
character measured while a document's first three pages with text need a space mended, else three a line).

    python bench/bench_pdf_spacing.py /tmp/manpdf/*.pdf                 # PDFs that need it (groff's, via ps2pdf)
    python bench/bench_pdf_spacing.py gnuplot.pdf sdccman.pdf ...        # PDFs that do not (LaTeX's)

Not a test: prints one line a round.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pdfs", nargs="+", type=Path)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    import pypdfium2 as pdfium

    from mmrag.ingest.pdf import PdfLoader

    docs = [pdfium.PdfDocument(str(p)) for p in args.pdfs]

    def first_pass(respace: bool) -> tuple[float, int, int]:
        start, chars, mended = time.perf_counter(), 0, 0
        for doc in docs:
            for index in range(len(doc)):
                read = PdfLoader._page_text(doc, index, respace)
                if read is not None:
                    chars += len(read[0])
                    mended += read[2]
        return time.perf_counter() - start, chars, mended

    def shipped() -> float:
        start = time.perf_counter()
        for doc in docs:
            PdfLoader._pages_text(doc, len(doc))
        return time.perf_counter() - start

    for _ in range(args.rounds):
        every, chars, mended = first_pass(True)
        sampled, _, _ = first_pass(False)
        as_shipped = shipped()
        print(f"{len(docs)} PDFs, {chars:,} characters, {mended} pages mended: every character {every:.2f} s, three a line "
              f"{sampled:.2f} s (x{every / sampled:.2f}, {(every - sampled) / chars * 1e6:.1f} us a character), "
              f"as shipped {as_shipped:.2f} s (x{as_shipped / sampled:.2f})")


if __name__ == "__main__":
    main()
