"""Which checkout's ``src`` a bench measures: ``--src`` (this checkout's by default; another checkout's runs the
same bench on other code, for a before/after in the same conditions)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[1] / "src"


def add_src(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--src", type=Path, default=HERE,
                    help="the mmrag source to measure (another checkout's src: the same bench, other code)")


def use_src(src: Path) -> None:
    """Import ``mmrag`` from ``src`` from here on (call before the first ``import mmrag``)."""
    sys.path.insert(0, str(src))
