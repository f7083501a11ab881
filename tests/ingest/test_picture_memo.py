"""DecodedPictures: one decode per file identity (path, size, mtime); changes and errors are not remembered."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from mmrag.config import IngestConfig
from mmrag.errors import IngestError
from mmrag.ingest.image import open_image
from mmrag.ingest.picture_memo import DecodedPictures


def test_a_file_is_decoded_once_until_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "p.png"
    Image.new("RGB", (20, 10), "red").save(path)
    calls: list[int] = []

    def decode() -> Image.Image:
        calls.append(1)
        return open_image(path, "p.png", IngestConfig(ocr=False))[0]

    memo = DecodedPictures(capacity=2)
    first = memo.get(path, decode)
    assert memo.get(tmp_path / "." / "p.png", decode) is first and len(calls) == 1 and memo.hits == 1
    Image.new("RGB", (30, 10), "blue").save(path)  # new size and mtime: a new picture
    os.utime(path, ns=(1, 1))
    again = memo.get(path, decode)
    assert len(calls) == 2 and again.size == (30, 10) and again.getpixel((0, 0)) == (0, 0, 255)


def test_errors_and_missing_files_are_not_remembered(tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    memo = DecodedPictures()
    for _ in range(2):
        with pytest.raises(IngestError, match="corrupt|not an image"):
            memo.get(bad, lambda: open_image(bad, "bad.png", IngestConfig(ocr=False)))
    with pytest.raises(IngestError):
        memo.get(tmp_path / "missing.png", lambda: open_image(tmp_path / "missing.png", "m", IngestConfig(ocr=False)))
    assert memo.hits == 0 and not memo._entries
    off = DecodedPictures(capacity=0)
    Image.new("L", (4, 4)).save(tmp_path / "g.png")
    off.get(tmp_path / "g.png", lambda: 1)
    assert not off._entries
