"""reStructuredText and GNU Info files found on this machine, through mmrag's readers (``ingest/rst.py``, ``info.py``).

For each kind: how many files were read, how many failed (any exception), the time per file (mean and worst),
how much shorter the text became, and how many outputs still hold the markup the reader removes (reST: a role
``:name:`...```, a directive ``.. name::``, a link target ``.. _x:``, a link ```text`_``; Info: a node line
``File: ... Node:``, ``* Menu:``, a ``*note`` reference). Markup inside fenced code is not counted: a page that
documents reST shows it there on purpose.

    python bench/bench_markup.py                 # every *.rst and *.info* under / (not /proc, /tmp)
"""

from __future__ import annotations

import argparse
import gzip
import re
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from mmrag.ingest.info import info_markdown, looks_like_info
from mmrag.ingest.rst import rst_markdown

_FENCED = re.compile(r"```[^\n]*\n.*?\n```", re.DOTALL)
LEFT = {
    "rst": re.compile(r":[\w:.+-]+:`|^\s*\.\. [\w:-]+::|^\s*\.\. _|`_\b|`__", re.MULTILINE),
    "info": re.compile(r"^File: .*Node:|^\* Menu:|\*[Nn]ote\s", re.MULTILINE),
}


def files(pattern: str) -> list[Path]:
    found = subprocess.run(["find", "/", "-path", "/proc", "-prune", "-o", "-path", "/tmp", "-prune", "-o", "-name",
                            pattern, "-type", "f", "-print"], capture_output=True, text=True, check=False).stdout
    return sorted(Path(p) for p in found.split("\n") if p)


def read(path: Path) -> str:
    data = path.read_bytes()
    return (gzip.decompress(data) if path.suffix == ".gz" else data).decode("utf-8", "replace")


def measure(kind: str, paths: list[Path], convert: Callable[[str], str]) -> None:
    times: list[float] = []
    failed: list[str] = []
    left = 0
    before = after = 0
    for path in paths:
        try:
            text = read(path)
        except OSError:
            continue
        start = time.perf_counter()
        try:
            out = convert(text)
        except Exception as exc:  # noqa: BLE001 - counted and named
            failed.append(f"{path}: {type(exc).__name__}: {exc}")
            continue
        times.append(time.perf_counter() - start)
        before, after = before + len(text), after + len(out)
        left += bool(LEFT[kind].search(_FENCED.sub("", out)))
    if not times:
        print(f"{kind}: no files")
        return
    print(f"{kind}: {len(times)} files read, {len(failed)} failed, {1000 * statistics.mean(times):.2f} ms a file "
          f"(worst {1000 * max(times):.1f} ms), {after / max(1, before):.0%} of the characters kept, "
          f"{left} with markup left outside code")
    for line in failed[:10]:
        print("  failed:", line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.parse_args()
    measure("rst", files("*.rst"), lambda t: rst_markdown(t)[0])
    info = [p for p in files("*.info*") if looks_like_info(read(p)[:65536], ".info")]
    measure("info", info, lambda t: info_markdown(t)[0])


if __name__ == "__main__":
    main()
