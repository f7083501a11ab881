"""Sniffing by content, hashing, size limits, inspect_file."""

from __future__ import annotations

import gzip
import hashlib
import random
from pathlib import Path

import pytest

from mmrag.config import IngestConfig
from mmrag.errors import IngestError, UnsupportedFile
from mmrag.ingest.sniffing import sniff_head
from mmrag.ingest.sources import check_size, file_hash, inspect_file, sniff, sniff_reason

from .conftest import image_bytes, png_bytes, wav_bytes, write_media

SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="5" height="5"/></svg>'
SVG_PROLOG = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
    b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n'
    b"<!-- Created with Inkscape (http://www.inkscape.org/) -->\n" + SVG
)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("photo.txt", png_bytes(), "image"),  # renamed PNG: content wins
        ("photo.jpg", image_bytes("JPEG"), "image"),
        ("anim.gif", image_bytes("GIF"), "image"),
        ("pic.webp", image_bytes("WEBP"), "image"),
        ("pic.bmp", image_bytes("BMP"), "image"),
        ("scan.tiff", image_bytes("TIFF"), "image"),
        ("notes.md", b"# Title\n\nSome *markdown* text.\n", "text"),
        ("data.csv", b"a,b,c\n1,2,3\n", "records"),
        ("code.py", b"def f(x):\n    return x\n", "text"),
        ("noext", b"plain words without an extension\n", "text"),
        ("bom.txt", "\ufeffcaf\u00e9".encode(), "text"),
        ("utf16.txt", "h\u00e9llo w\u00f6rld\n".encode("utf-16"), "text"),  # NUL bytes, but a BOM
        ("latin1.txt", "caf\u00e9 cr\u00e8me br\u00fbl\u00e9e\n".encode("latin-1"), "text"),
        ("drawing.svg", SVG, "svg"),
        ("drawing.txt", SVG_PROLOG, "svg"),  # renamed SVG behind prolog, doctype and comment
        (
            "prefixed.svg",
            SVG.replace(b"<svg ", b"<svg:svg xmlns:svg='x' ").replace(b"</svg>", b"</svg:svg>"),
            "svg",
        ),
        ("feed.xml", b'<?xml version="1.0"?><note><to>Tove</to></note>', "text"),  # XML, not SVG
        (
            "feed.svg",
            b'<?xml version="1.0"?><note><to>Tove</to></note>',
            "text",
        ),  # .svg name, not SVG content
        ("page.html", b"<!DOCTYPE html><html><body><p>hi</p></body></html>", "html"),
        ("page.txt", b"<!doctype HTML>\n<title>x</title><p>renamed html</p>", "html"),
        ("frag.html", b"Some intro <b>bold</b> and </b>more", "html"),  # extension breaks the tie
        ("heart.txt", b"<3 you, see <http://example.org>\n", "text"),
        ("doc.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "pdf"),
        ("doc.bin", b"%PDF-1.7\n", "pdf"),
        ("about-pdf.md", b"The header of a PDF file starts with %PDF-1.7 as its magic.\n", "text"),
        ("sound.dat", wav_bytes(), "audio"),
        ("song.mp3", b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(200), "audio"),
        ("song.flac", b"fLaC\x00\x00\x00\x22" + bytes(64), "audio"),
        ("voice.ogg", b"OggS\x00\x02" + bytes(22) + b"\x01vorbis" + bytes(40), "audio"),
        ("film.ogv", b"OggS\x00\x02" + bytes(22) + b"\x80theora" + bytes(40), "video"),
        ("clip.avi", b"RIFF\x00\x00\x00\x00AVI LIST" + bytes(64), "video"),
        ("tune.m4a", b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00" + bytes(64), "audio"),
        ("movie.mov", b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00" + bytes(64), "video"),
    ],
)
def test_sniff_by_content(tmp_path: Path, name: str, data: bytes, kind: str) -> None:
    assert sniff(write(tmp_path, name, data)) == kind


@pytest.mark.parametrize(
    ("name", "data", "reason_part"),
    [
        ("empty.txt", b"", "empty"),
        ("junk.txt", random.Random(0).randbytes(4096), "unknown binary"),
        ("archive.txt", b"PK\x03\x04" + bytes(100), "zip"),
        ("photo.heic", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64), "HEI"),  # HEIC_HINT without pillow-heif, "a damaged HEIF picture" with it
        ("tune.mid", b"MThd\x00\x00\x00\x06" + bytes(20), "midi"),
        ("prog", b"\x7fELF\x02\x01\x01" + bytes(100), "elf"),
    ],
)
def test_unsupported_gets_none_with_reason(tmp_path: Path, name: str, data: bytes, reason_part: str) -> None:
    kind, reason = sniff_reason(write(tmp_path, name, data))
    assert kind is None
    assert reason_part.lower() in reason.lower()


def test_mp4_audio_only_is_audio_and_with_video_is_video(tmp_path: Path) -> None:
    assert sniff(write_media(tmp_path / "talk.mp4", video=True, audio=True)) == "video"
    assert sniff(write_media(tmp_path / "podcast.mp4", video=False, audio=True)) == "audio"
    assert sniff(write_media(tmp_path / "silent.mkv", video=True, audio=False)) == "video"


def test_sniff_head_is_pure_and_uses_extension_only_as_tiebreak() -> None:
    assert sniff_head(png_bytes(), ".svg") == ("image", "")
    assert sniff_head(b"<svg></svg>", ".html")[0] == "svg"
    assert sniff_head(b"\x1f\x8b\x08\x00" + bytes(20), ".svgz")[0] == "svg"
    assert sniff_head(b"\x1f\x8b\x08\x00" + bytes(20), ".gz") == ("packed?", "")  # what is inside decides (sources._probe_compressed)
    assert sniff_head(b"\x1f\x8b\x08\x00" + bytes(20), ".tgz")[0] is None  # an archive by its name
    assert sniff_head(b"", ".txt") == (None, "the file is empty (0 bytes): nothing to index")


def test_file_hash_streams_and_is_stable(tmp_path: Path) -> None:
    data = random.Random(1).randbytes(2_500_000)  # spans three 1 MB blocks
    path = write(tmp_path, "big.bin", data)
    expected = hashlib.blake2b(data, digest_size=32).hexdigest()
    assert file_hash(path) == expected == file_hash(path)
    copy = write(tmp_path, "copy with space.bin", data)
    assert file_hash(copy) == expected  # content hash: the name does not matter
    changed = bytearray(data)
    changed[1_500_000] ^= 1
    assert file_hash(write(tmp_path, "changed.bin", bytes(changed))) != expected
    assert file_hash(write(tmp_path, "e", b"")) == hashlib.blake2b(b"", digest_size=32).hexdigest()


def test_check_size_refuses_empty_and_oversized(tmp_path: Path) -> None:
    small = IngestConfig(max_file_mb=0.001)  # ~1 KB
    ok = write(tmp_path, "ok.txt", b"x" * 500)
    assert check_size(ok, small) == 500
    with pytest.raises(IngestError, match="max_file_mb"):
        check_size(write(tmp_path, "big.txt", b"x" * 5000), small)
    with pytest.raises(IngestError, match="empty"):
        check_size(write(tmp_path, "empty.txt", b""), small)


def test_inspect_file(tmp_path: Path, cfg: IngestConfig) -> None:
    path = write(tmp_path, "-rf notes.md", b"# Hello\n\nworld\n")
    src = inspect_file(path, cfg)
    assert (src.path, src.kind, src.size) == (path, "text", 15)
    assert src.hash == hashlib.blake2b(b"# Hello\n\nworld\n", digest_size=32).hexdigest()
    with pytest.raises(UnsupportedFile, match="unknown binary"):
        inspect_file(write(tmp_path, "junk", random.Random(2).randbytes(300)), cfg)
    with pytest.raises(IngestError, match="empty"):
        inspect_file(write(tmp_path, "empty", b""), cfg)
    with pytest.raises(IngestError, match="cannot read"):
        inspect_file(tmp_path / "missing.txt", cfg)


def test_svgz_is_svg(tmp_path: Path) -> None:
    assert sniff(write(tmp_path, "d.svgz", gzip.compress(SVG))) == "svg"


@pytest.mark.parametrize("ext", [".ppm", ".pgm", ".pbm", ".tga", ".jp2", ".dds", ".sgi", ".qoi", ".pcx", ".avif"])
def test_pictures_pillow_reads_are_images(tmp_path: Path, ext: str) -> None:
    """Netpbm, TGA, JPEG 2000, DDS, SGI, QOI, PCX: no magic number the sniffer knows (or, for JPEG 2000,
    one it called unsupported) but Pillow reads them, so they are pictures, and the image loader takes them."""
    import numpy as np
    from PIL import Image

    from mmrag.ingest.image import ImageLoader

    rgb = np.zeros((48, 64, 3), dtype=np.uint8)
    rgb[:, :32] = (200, 30, 30)  # left half red, right half black
    pic = Image.fromarray(rgb)
    pic = pic.convert("L") if ext == ".pgm" else pic.convert("1") if ext == ".pbm" else pic
    path = tmp_path / f"picture{ext}"
    pic.save(path)
    assert sniff_reason(path) == ("image", "")
    seg = next(iter(ImageLoader().load(path, IngestConfig())))
    assert seg.image is not None and seg.image.size == (64, 48)
    left, right = np.asarray(seg.image)[:, :8].mean(), np.asarray(seg.image)[:, -8:].mean()
    assert left > 40 and right < 5  # the pixels, not a blank


def test_a_picture_extension_on_other_bytes_is_not_a_picture(tmp_path: Path) -> None:
    """Pillow's TGA reader has no magic number to check: random bytes named .tga stay unknown."""
    kind, reason = sniff_reason(write(tmp_path, "noise.tga", random.Random(1).randbytes(50_000)))
    assert kind is None and "unknown binary" in reason


def test_an_ascii_netpbm_picture_is_an_image_and_a_note_named_so_is_text(tmp_path: Path) -> None:
    ascii_pgm = b"P2\n# a 4x2 grey ramp\n4 2\n255\n0 85 170 255\n255 170 85 0\n"
    assert sniff_reason(write(tmp_path, "ramp.pgm", ascii_pgm)) == ("image", "")
    assert sniff_reason(write(tmp_path, "notes.pgm", b"PGM meeting notes: the budget is due on Friday.\n"))[0] == "text"


DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.parametrize("name, said", [
    ("office97/footnote.doc", 'a Word 97-2003 document needs olefile: pip install "mmrag[office]" (or save it as .docx)'),
    ("office97/pictures.ppt", 'a PowerPoint 97-2003 deck needs olefile: pip install "mmrag[office]" (or save it as .pptx)'),
    ("outlook/quick.msg", 'an Outlook message needs olefile: pip install "mmrag[office]" (or save it as .eml)'),
    ("office97/date_field.xls", 'an Excel 97-2003 workbook needs olefile: pip install "mmrag[records]" (or save it as .xlsx)'),
])
def test_an_office_97_file_without_olefile_says_which_extra_reads_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, said: str) -> None:
    """Real Office 97-2003 files (Apache POI's) on an install without olefile: each names its kind and the extra
    to install; one under another name still says what would read it."""
    assert sniff(DATA / name) is not None  # with olefile: read
    monkeypatch.setitem(__import__("sys").modules, "olefile", None)  # import olefile now raises ImportError
    assert sniff_reason(DATA / name) == (None, said)
    renamed = tmp_path / "file.bin"
    renamed.write_bytes((DATA / name).read_bytes())
    kind, reason = sniff_reason(renamed)
    assert kind is None and "olefile (the office extra)" in reason


# ---------------------------------------------------------------- minified and machine-made text


def _minified_js(n: int = 9000) -> bytes:
    body = "!function(e,t){'use strict';var n=[],r=Object.getPrototypeOf,i=n.slice,o=n.flat?function(e){return n.flat.call(e)}"
    return ("/*! lib v1 | MIT */\n" + (body * (n // len(body) + 1))[:n] + "\n").encode()


def _search_index(n: int = 9000) -> bytes:
    names = ",".join(f'"library/module{i}"' for i in range(n // 16))
    return ('Search.setIndex({"docnames":[' + names + '],"envversion":{"sphinx":56}})').encode()


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("jquery.min.js", _minified_js(), None),  # a bundle: one long line of code without spaces
        ("searchindex.js", _search_index(), None),  # a data blob written by a tool
        ("data.txt", b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=" * 300, None),  # base64
        ("app.min.css", (b".a{color:red;margin:0 auto}.b>.c{display:flex;padding:2px 4px}" * 200), None),
        # prose written one paragraph to a line stays text, however long the line
        ("essay.md", ("The river rose overnight and the ferry did not run, so we walked the long way round. " * 120).encode(), "text"),
        # so does text in scripts written without spaces
        ("novel.txt", ("河水一夜之间上涨了渡船没有开所以我们绕远路走了很久才到。" * 200).encode(), "text"),
        # and JSON holding sentences (a glossary), and short minified lines
        ("glossary.json", ('{"term": {"title": "term", "body": "<p>A word with a meaning defined here, used in examples.</p>"}, ' * 100).encode(), "text"),
        ("small.min.js", b"var a=1;function f(b){return b*2}", "text"),
    ],
)
def test_minified_or_machine_made_text_is_not_indexed(tmp_path: Path, name: str, data: bytes, kind: str | None) -> None:
    from mmrag.ingest.sniffing import GENERATED_TEXT

    got, reason = sniff_reason(write(tmp_path, name, data))
    assert got == kind, reason
    assert (reason == GENERATED_TEXT) == (kind is None)
    if kind is None:
        assert "--exclude" in reason and ".mmragignore" in reason
