"""Which checkout's ``src`` a bench measures: ``--src`` (this checkout's by default; another checkout's runs the
same bench on other code, for a before/after in the same conditions)."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1] / "src"


def add_src(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--src", type=Path, default=HERE,
                    help="the mmrag source to measure (another checkout's src: the same bench, other code)")


def use_src(src: Path) -> None:
    """Import ``mmrag`` from ``src`` from here on (call before the first ``import mmrag``); no model hub is
    asked (``HF_HUB_OFFLINE``, unless set)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.path.insert(0, str(src))


def work_copies(work: Path, files: Sequence[Path]) -> list[Path]:
    """``work`` emptied, then a copy of each file in it: the same paths, and so the same row ids, for every
    checkout a bench measures."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    copies = []
    for f in files:
        shutil.copy(f, work / f.name)
        copies.append(work / f.name)
    return copies


def open_extractive(index: Path) -> Any:
    """An engine on ``index`` with the offline MiniLM space (no picture or sound towers) and the extractive
    answer: what the answer benches ask with (call ``use_src`` first)."""
    import mmrag

    return mmrag.open(str(index), space__name="minilm", space__image_model="off", space__audio_model="off",
                      generate__backend="extractive")
