"""File names and the weight hash every bound tower folder uses (image and audio towers alike).

A leaf module: ``adapters`` and ``backbone_tower`` both read it, so neither imports the other
to learn a file name.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

WEIGHTS_FILE = "tower.safetensors"
META_FILE = "tower.json"


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


__all__ = ["META_FILE", "WEIGHTS_FILE", "file_sha256"]
