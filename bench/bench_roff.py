"""Manual pages read by mmrag (``ingest/roff.py``) against groff's own text of the same pages.

Two passes over a folder of manual pages (default ``/usr/share/man``; symlinks and non-pages left out):
1. every page: read as roff? (``looks_like_roff``), converted without an error, the time per page, and how many
   output lines still hold roff markup (``\\f``, ``\\(``, a line starting with a request; pages *about* roff,
   such as tbl(1) and man(7), show such text on purpose), and how many headings mmrag reads
   (``markdown.headings``) beyond the page's own section requests (``.SH``/``.SS``/``.Sh``/``.Ss`` lines): an
   example's ``# mount -a`` or ``# a comment`` read as a heading ends the section it stands in;
2. ``--sample`` pages at random (seeded): the words (three letters or more, counted with multiplicity) of
   ``groff -t -mandoc -Tutf8`` with a line length too long to wrap, its first and last lines (the running head
   and foot) aside, against the words mmrag writes: recall (groff's words mmrag has) and precision.

    python bench/bench_roff.py --sample 300
"""

from __future__ import annotations

import argparse
import collections
import gzip
import random
import re
import shutil
import statistics
import subprocess
import time
from pathlib import Path

from mmrag.ingest.compressed import inner_suffix
from mmrag.ingest.roff import alias_target, looks_like_roff, roff_markdown
from mmrag.markdown import headings

_MARKUP = re.compile(r"\\f|\\\(|^\.[A-Za-z]{1,3}\b|\\s[-+0-9]")
_SECTION = re.compile(r"(?m)^[.'][ \t]*(?:SH|SS|Sh|Ss)\b")


def words(text: str) -> collections.Counter[str]:
    return collections.Counter(w.lower() for w in re.findall(r"[A-Za-z]{3,}", text))


def pages(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink() and "man" in p.parent.name)


def read(path: Path) -> bytes:
    return gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, default=Path("/usr/share/man"))
    ap.add_argument("--sample", type=int, default=300, help="pages compared with groff (0: none)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    found = pages(args.root)
    read_as_roff, aliases, failed, marked, seconds = 0, 0, [], 0, 0.0
    extra_pages, extra_headings = 0, 0
    for path in found:
        try:
            text = read(path).decode("utf-8", "replace")
        except OSError:
            continue
        ext = inner_suffix(path) if path.suffix == ".gz" else path.suffix
        if not looks_like_roff(text, ext):
            continue
        if alias_target(text):
            aliases += 1
            continue
        read_as_roff += 1
        start = time.perf_counter()
        try:
            body, _ = roff_markdown(text)
        except Exception as exc:  # noqa: BLE001 - counted and named
            failed.append(f"{path}: {type(exc).__name__}: {exc}")
            continue
        seconds += time.perf_counter() - start
        marked += any(_MARKUP.search(line) for line in body.splitlines())
        extra = len(headings(body)) - len(_SECTION.findall(text))
        extra_pages, extra_headings = extra_pages + (extra > 0), extra_headings + max(0, extra)
    print(f"{len(found)} files under {args.root}: {read_as_roff} read as manual pages, {aliases} aliases, "
          f"{len(failed)} failed, {1000 * seconds / max(1, read_as_roff):.2f} ms a page, "
          f"{marked} with a line that looks like markup (most quote roff, file suffixes or regexes on purpose: "
          "man(7), tbl(1), suffixes(7), elf(5))")
    print(f"{extra_pages} pages with more headings than section requests ({extra_headings} headings more)")
    for line in failed[:10]:
        print("  failed:", line)

    groff = shutil.which("groff")
    if not args.sample or groff is None:
        print("no groff comparison" + ("" if groff else " (groff not installed)"))
        return
    picked = [p for p in found if p.suffix == ".gz"]
    random.Random(args.seed).shuffle(picked)
    recalls, precisions = [], []
    for path in picked:
        if len(recalls) >= args.sample:
            break
        raw = read(path)
        text = raw.decode("utf-8", "replace")
        if not looks_like_roff(text, inner_suffix(path)) or alias_target(text):
            continue
        typeset = subprocess.run([groff, "-t", "-mandoc", "-Tutf8", "-rLL=10000n", "-P-cbou"], input=raw,
                                 capture_output=True, timeout=60, check=False).stdout.decode("utf-8", "replace")
        lines = [line for line in typeset.splitlines() if line.strip()]
        theirs = words("\n".join(lines[1:-1]))
        ours = words(roff_markdown(text)[0])
        if sum(theirs.values()) < 30:
            continue
        same = sum((theirs & ours).values())
        recalls.append(same / sum(theirs.values()))
        precisions.append(same / max(1, sum(ours.values())))
    print(f"{len(recalls)} pages against groff: recall median {statistics.median(recalls):.3f} mean "
          f"{statistics.mean(recalls):.3f} min {min(recalls):.3f}; precision median {statistics.median(precisions):.3f} "
          f"mean {statistics.mean(precisions):.3f} min {min(precisions):.3f}")


if __name__ == "__main__":
    main()
