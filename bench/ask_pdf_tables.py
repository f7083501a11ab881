"""Ask a PDF's tables: index one PDF alone and print the extractive answer to each question.

A look, not a score: the answers to questions a table holds the answer to (sdccman's tool list, its
install paths), for reading before and after a change to the PDF reader's tables. Run it with ``--src``
pointing at another checkout's ``src`` to see that code's answers side by side.

    python bench/ask_pdf_tables.py sdccman.pdf --work /tmp/askt \\
        "Where can I get gpsim?" "What is the purpose of gputils?" \\
        "What is the default path of the include directory on Win32 builds?"
"""

from __future__ import annotations

import argparse
from pathlib import Path

from checkout import add_src, open_extractive, use_src, work_copies


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pdf", type=Path)
    ap.add_argument("questions", nargs="+")
    ap.add_argument("--work", type=Path, required=True, help="a folder for the copy and its index (emptied first)")
    add_src(ap)
    args = ap.parse_args()
    use_src(args.src)
    (pdf,) = work_copies(args.work, [args.pdf])
    engine = open_extractive(args.work / "index")
    try:
        engine.add([str(pdf)])
        print(f"source measured: {args.src}")
        for question in args.questions:
            answer = engine.ask(question)
            print(f"Q: {question}\n  A: {' '.join(answer.text.split())[:400]}")
    finally:
        engine.close()


if __name__ == "__main__":
    main()
