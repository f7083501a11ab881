"""Find files, tell their kind by content, hash them.

``walk`` turns user paths (files and folders) into a deterministic stream of
file paths, reporting a missing path or an unreadable folder as a
``WalkFailure`` item instead of raising. ``sniff`` names a file's kind from
its first bytes (magic numbers first, the extension only breaks ties); where
they name nothing, the decoders' own probes decide: a ZIP's part names
(Office, OpenDocument, EPUB), Pillow for pictures, FFmpeg for sound and video.
``inspect_file`` puts both together with the size limit and the content hash
into a ``SourceFile``; ``scan`` does it for a whole batch.
"""

from __future__ import annotations

import hashlib
import os
import stat
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from mmrag.config import IngestConfig
from mmrag.errors import IngestError, UnsupportedFile
from mmrag.ingest.ignore import (
    DEFAULT_EXCLUDES,
    IgnoreRules,
    exclude_rules,
    is_ignored,
    name_excluded,
    read_ignore_file,
)
from mmrag.ingest.sniffing import (
    KINDS,
    NOT_INDEXED,
    PACKAGE_MIMES,
    SNIFF_BYTES,
    UNKNOWN_BINARY,
    UNSUPPORTED_PICTURE,
    ZIP_ERRORS,
    sniff_head,
)

HASH_BLOCK = 1 << 20  # 1 MB

_TEXT_PICTURE_EXTS = {".pbm", ".pgm", ".ppm", ".pnm", ".xbm", ".xpm"}  # pictures whose header is text
_AV_AUDIO_EXTS = {".m4a", ".m4b", ".m4p", ".aac", ".weba", ".mka", ".oga", ".opus", ".ogg"}


@dataclass(frozen=True)
class SourceFile:
    """A file ready for a loader: where it is, what it is, how big, its content hash."""

    path: Path
    kind: str
    size: int
    hash: str


@dataclass(frozen=True)
class WalkFailure:
    """A path that could not be walked or inspected, and why (cause and fix)."""

    path: Path
    reason: str


# ---------------------------------------------------------------- walking


def walk(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    config: IngestConfig,
    exclude: str | os.PathLike[str] | Iterable[str | os.PathLike[str]] = (),
    left_out: Callable[[Path], None] | None = None,
) -> Iterator[Path | WalkFailure]:
    """Yield every file under ``paths`` (files and folders, recursively).

    Order is deterministic: arguments in the given order, folder entries sorted
    by name. Hidden entries (``.name``) are skipped unless
    ``config.include_hidden``; symlinks inside folders are not followed unless
    ``config.follow_symlinks`` (folder loops are detected either way). Paths
    given explicitly are always taken, even if hidden or a symlink. Anything at
    or below an ``exclude`` path (e.g. the index folder) is skipped, and so is
    what ``config.exclude`` patterns (after ``DEFAULT_EXCLUDES`` unless
    ``config.default_excludes`` is off) or ``.mmragignore`` files leave out
    (``ingest/ignore.py``; a file given by name only by the patterns, matched
    against its name; ``left_out`` hears of each file or folder they leave
    out). Problems are yielded as ``WalkFailure`` items; nothing
    is raised for one bad path (an invalid ``config.exclude`` pattern raises
    ``ConfigError`` before anything is walked).
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if isinstance(exclude, (str, os.PathLike)):
        exclude = [exclude]
    excluded = {_dev_ino(Path(p)) for p in exclude} - {None}
    defaults = DEFAULT_EXCLUDES if config.default_excludes else ()
    given = exclude_rules((*defaults, *config.exclude), Path("."))  # a bad pattern is an error before the walk
    named = exclude_rules(config.exclude, Path("."))  # a file given by name: only the patterns the user gave
    seen_files: set[str] = set()
    for raw in paths:
        root = Path(raw)
        patterns = IgnoreRules(root, given.spec) if given else None  # relative to each folder given
        bad_name = _name_problem(root)
        if bad_name:
            yield WalkFailure(root, bad_name)
            continue
        try:
            st = root.stat()  # explicit arguments are followed even if symlinks
        except FileNotFoundError:
            yield WalkFailure(root, "no such file or folder; check the path")
            continue
        except PermissionError:
            yield WalkFailure(root, "permission denied; fix the permissions or leave it out")
            continue
        except OSError as exc:
            yield WalkFailure(root, f"cannot read ({exc.strerror or exc}); check the path")
            continue
        if (st.st_dev, st.st_ino) in excluded:
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk_dir(root, st, config, excluded, seen_files, patterns, left_out)
        elif stat.S_ISREG(st.st_mode):
            if name_excluded(root, named):
                if left_out is not None:
                    left_out(root)
            elif _first_time(root, seen_files):
                yield root
        else:
            yield WalkFailure(root, "not a regular file (device, pipe or socket); give a file or a folder")


def _walk_dir(
    root: Path,
    root_st: os.stat_result,
    config: IngestConfig,
    excluded: set[tuple[int, int] | None],
    seen_files: set[str],
    patterns: IgnoreRules | None,
    left_out: Callable[[Path], None] | None = None,
) -> Iterator[Path | WalkFailure]:
    # Depth-first; each real folder (dev, inode) is entered once, so symlink
    # loops and symlink diamonds cannot make the walk loop or blow up. Each
    # folder carries the ignore rules in force, shallowest first.
    visited = {(root_st.st_dev, root_st.st_ino)}
    stack: list[tuple[Path, tuple[IgnoreRules, ...]]] = [(root, (patterns,) if patterns else ())]
    while stack:
        folder, chain = stack.pop()
        if config.ignore_files:
            own = read_ignore_file(folder)
            if isinstance(own, str):  # a broken rules file: leave the folder out rather than index what it hides
                yield WalkFailure(folder, own)
                continue
            if own is not None:
                chain = (*chain, own)
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except PermissionError:
            yield WalkFailure(
                folder, "permission denied listing this folder; fix the permissions or exclude it"
            )
            continue
        except OSError as exc:
            yield WalkFailure(folder, f"cannot list folder ({exc.strerror or exc}); check it or exclude it")
            continue
        subdirs: list[tuple[Path, tuple[IgnoreRules, ...]]] = []
        for entry in entries:
            path = Path(entry.path)
            if entry.name.startswith(".") and not config.include_hidden:
                continue
            bad_name = _name_problem(path)
            if bad_name:
                yield WalkFailure(path, bad_name)
                continue
            try:
                if entry.is_symlink() and not config.follow_symlinks:
                    continue
                st = entry.stat(follow_symlinks=True)
            except FileNotFoundError:
                yield WalkFailure(path, "broken symlink: its target does not exist; fix or remove the link")
                continue
            except OSError as exc:
                yield WalkFailure(path, f"cannot read ({exc.strerror or exc}); check the permissions")
                continue
            key = (st.st_dev, st.st_ino)
            if key in excluded:
                continue
            if chain and is_ignored(path, stat.S_ISDIR(st.st_mode), chain):
                if left_out is not None:
                    left_out(path)
                continue
            if stat.S_ISDIR(st.st_mode):
                if key not in visited:
                    visited.add(key)
                    subdirs.append((path, chain))
            elif stat.S_ISREG(st.st_mode) and _first_time(path, seen_files):
                yield path
            # devices, pipes and sockets inside folders are skipped silently
        # A folder's files come first, then its sub-folders, both in name order.
        stack.extend(reversed(subdirs))


def _first_time(path: Path, seen: set[str]) -> bool:
    key = os.path.abspath(path)
    if key in seen:
        return False
    seen.add(key)
    return True


def _dev_ino(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _name_problem(path: Path) -> str | None:
    """File names must round-trip through UTF-8 to be stored and cited."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return "file name is not valid UTF-8 (undecodable bytes); rename the file"
    return None


# ---------------------------------------------------------------- sniffing


def sniff(path: str | os.PathLike[str]) -> str | None:
    """The file's kind (one of ``KINDS``) from its content, or ``None``.

    Use ``sniff_reason`` to learn why a file got ``None``.
    """
    return sniff_reason(path)[0]


def sniff_reason(path: str | os.PathLike[str]) -> tuple[str | None, str]:
    """``(kind, "")`` or ``(None, reason)``; raises ``OSError`` if unreadable."""
    p = Path(path)
    with open(p, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    kind, reason = sniff_head(head, p.suffix)
    if kind == "av?":
        kind = _probe_av(p)
    elif kind == "ole?":
        return _probe_ole(p)
    elif kind == "packed?":
        return _probe_compressed(p, head)
    elif kind is None and head[:4] == b"PK\x03\x04":
        package = _probe_package(p)
        if package is not None:
            return package, ""
    elif kind == "text" and p.suffix.lower() in _TEXT_PICTURE_EXTS and _probe_picture(p):
        return "image", ""  # a picture written in ASCII (Netpbm P1-P3, X bitmaps): Pillow reads it
    elif kind is None and (reason.startswith(UNKNOWN_BINARY) or reason.endswith(UNSUPPORTED_PICTURE)):
        from mmrag.ingest.heif import HEIC_HINT, heif_support, is_heif

        if is_heif(head) and not heif_support():
            return None, HEIC_HINT
        probed = "image" if _probe_picture(p) else _probe_media(p) if reason.startswith(UNKNOWN_BINARY) else None
        if probed is not None:
            return probed, ""
        if reason.endswith(UNSUPPORTED_PICTURE):
            return None, _damaged_picture(p) or reason
    return kind, reason


def _damaged_picture(path: Path) -> str | None:
    """Why a picture of a format Pillow reads (by its extension: ``.psd``, ``.jp2``) was not read: it is damaged or a
    variant Pillow does not handle, not an unsupported format. ``None`` if Pillow does not read that format."""
    from PIL import Image

    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        return None
    return f"a damaged {fmt} picture: Pillow reads {fmt} files but not this one; re-export it as PNG or JPEG"


def _probe_av(path: Path) -> str:
    """MP4/Matroska/Ogg family: audio-only containers are ``audio``."""
    ext = path.suffix.lower()
    if ext in _AV_AUDIO_EXTS:
        return "audio"
    try:
        import av
        from av.stream import Disposition
    except ImportError:  # no PyAV: trust the container family
        return "video"
    try:
        with av.open(str(path)) as container:
            videos = [s for s in container.streams.video if not (s.disposition & Disposition.attached_pic)]
            if videos:
                return "video"
            return "audio" if container.streams.audio else "video"
    except Exception:  # noqa: BLE001 - unreadable here; the loader reports the real error
        return "video"


_PACKED_TEXT_KINDS = ("text", "html", "ps")  # what a .gz/.bz2/.xz file may hold to be read (ingest/compressed.py)
_UNPACK = {"gzip": "gunzip", "bzip2": "bunzip2", "xz": "unxz"}


def _probe_compressed(path: Path, head: bytes) -> tuple[str | None, str]:
    """A ``.gz``/``.bz2``/``.xz`` file by its first decompressed bytes: ``text`` or ``html`` (read through the
    decompression), or why it is not indexed."""
    from mmrag.ingest.compressed import UnpackError, codec_of, decompress_head, inner_suffix

    codec = codec_of(head, path.suffix) or "gzip"
    with open(path, "rb") as fh:
        data = fh.read(1 << 18)
    try:
        inside = decompress_head(data, SNIFF_BYTES, codec)
    except UnpackError as exc:
        return None, f"{codec}-compressed, but {exc}: nothing to read"
    if not inside:
        return None, f"{codec}-compressed and empty inside: nothing to index"
    kind, reason = sniff_head(inside, inner_suffix(path))
    if kind in _PACKED_TEXT_KINDS:
        return kind, ""
    what = f"{kind} content" if kind else reason.split(" is ")[0]
    return None, (f"{codec}-compressed {what} is not read (only compressed text, HTML and PostScript are): decompress it with "
                  f"{_UNPACK[codec]} and add that")


_OLE_WORKBOOK_STREAMS = ("Workbook", "Book")  # Excel 97-2003, Excel 5/95: a sheet of records (xlrd)
_OLE_OTHERS = (  # (a stream only that kind of compound file has, what it is, what to do)
    ("Workbook", "an Excel 97-2003 workbook not named .xls", "rename it to .xls, or save it as .xlsx or CSV"),
    ("Book", "an Excel 5/95 workbook not named .xls", "rename it to .xls, or save it as .xlsx or CSV"),
    ("EncryptedPackage", "a password-protected Office document", "remove the password and save it again"),
)


# what a compound file is by its name, when olefile (which reads its streams) is missing: (what, extra, modern format)
_OLE_NEEDS = {
    **dict.fromkeys((".doc", ".dot"), ("a Word 97-2003 document", "office", ".docx")),
    **dict.fromkeys((".ppt", ".pps", ".pot"), ("a PowerPoint 97-2003 deck", "office", ".pptx")),
    ".msg": ("an Outlook message", "office", ".eml"),
    ".xls": ("an Excel 97-2003 workbook", "records", ".xlsx"),
}


def _probe_ole(path: Path) -> tuple[str | None, str]:
    """An OLE2 compound file by its streams: ``doc`` (Word 97-2003), ``ppt`` (PowerPoint 97-2003), ``msg`` (an
    Outlook message), ``records`` (an Excel ``.xls``), or why it is not indexed."""
    try:
        import olefile
    except ImportError:
        needs = _OLE_NEEDS.get(path.suffix.lower())
        if needs is not None:
            what, extra, modern = needs
            return None, f'{what} needs olefile: pip install "mmrag[{extra}]" (or save it as {modern})'
        return None, f"an OLE2 compound file (Office 97-2003?) is {NOT_INDEXED}; olefile (the office extra) reads its streams"
    try:
        with olefile.OleFileIO(str(path)) as ole:
            streams = {"/".join(entry) for entry in ole.listdir(streams=True, storages=False)}
    except Exception as exc:  # noqa: BLE001 - olefile raises several types for damaged files
        return None, f"a damaged OLE2 compound file (Office 97-2003?): {type(exc).__name__}: {exc}"
    names = {s.lower() for s in streams}  # stream names are case-insensitive (some writers use lower case)
    if "worddocument" in names:
        return "doc", ""
    if "powerpoint document" in names or "pp97_dualstorage/powerpoint document" in names:
        return "ppt", ""
    if "__properties_version1.0" in names and any(s.startswith("__substg1.0_") for s in names):
        return "msg", ""
    if path.suffix.lower() == ".xls" and any(s.lower() in names for s in _OLE_WORKBOOK_STREAMS):
        return "records", ""
    for stream, what, fix in _OLE_OTHERS:
        if stream.lower() in names:
            return None, f"{what} is not read: {fix}"
    return None, f"an OLE2 compound file (streams: {', '.join(sorted(streams)[:5])}) is {NOT_INDEXED}"


# a part every package of the kind has (Office Open XML names its main parts so)
_PACKAGE_PARTS = {"word/document.xml": "docx", "ppt/presentation.xml": "pptx"}


def _probe_package(path: Path) -> str | None:
    """The kind of a document package ``filetype`` took for a plain ZIP: ``docx`` / ``pptx`` (it looks for
    ``word/`` or ``ppt/`` only in the first entries, and Word and PowerPoint often write other parts
    first), or ``odt`` / ``odp`` / ``epub`` by a ``mimetype`` entry that is not the first."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as package:
            names = set(package.namelist())
            mimetype = package.read("mimetype")[:100].strip() if "mimetype" in names else b""
    except ZIP_ERRORS:
        return None
    kind = PACKAGE_MIMES.get(mimetype.decode("ascii", "replace"))
    if kind is not None:  # an OpenDocument or EPUB package whose mimetype entry is not first
        return kind
    return next((kind for part, kind in _PACKAGE_PARTS.items() if part in names), None)


def _probe_picture(path: Path) -> bool:
    """Whether Pillow reads the file as a picture of the format its extension names.

    Pictures no magic number here names: Netpbm (``.ppm``/``.pgm``/``.pbm``, common in vision
    datasets), TGA and DDS (game textures), JPEG 2000, Photoshop, SGI, ICNS, QOI. Pillow must parse
    the header *and* the extension must be one Pillow registers for that same format: TGA has no
    magic number, so Pillow's header check alone would take some random bytes for a picture."""
    try:
        from PIL import Image
    except ImportError:
        return False
    ext = path.suffix.lower()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                fmt = im.format
                width, height = im.size
    except Exception:  # noqa: BLE001 - Pillow does not read it: not a picture
        return False
    return bool(fmt) and width > 0 and height > 0 and Image.registered_extensions().get(ext) == fmt


# FFmpeg demuxers that accept a file by its name or as one picture: not evidence of audio or video
_NOT_MEDIA_FORMATS = {"image2", "tty", "data", "bin", "subviewer", "srt", "ass", "webvtt"}


def _probe_media(path: Path) -> str | None:
    """FFmpeg's own probe (PyAV) for bytes no magic number here names: ``audio``, ``video`` or ``None``.

    Real media that ``filetype`` misses: MP3 frames without an ID3 tag when they carry a CRC
    (``FF FA``), MPEG Layer II (``.mp2``), AC-3, Sun ``.au``, CAF, WavPack, TTA, Wave64, VOC, MPEG-TS.
    FFmpeg scores a format by its content, so a file is only taken when a demuxer claims it and finds
    a stream with a known codec; image and text demuxers (picked by the name alone) do not count."""
    try:
        import av
        from av.stream import Disposition
    except ImportError:  # no PyAV: nothing can decode it anyway
        return None
    try:
        with av.open(str(path)) as container:
            name = container.format.name
            if name in _NOT_MEDIA_FORMATS or name.endswith("_pipe"):
                return None
            videos = [s for s in container.streams.video
                      if s.codec_context is not None and not (s.disposition & Disposition.attached_pic)]
            if videos:
                return "video"
            if any(s.codec_context is not None and s.codec_context.name for s in container.streams.audio):
                return "audio"
    except Exception:  # noqa: BLE001 - FFmpeg does not know it either: the sniffer's reason stands
        return None
    return None


# ---------------------------------------------------------------- hashing, limits


def file_hash(path: str | os.PathLike[str]) -> str:
    """BLAKE2b (256-bit) of the file content, read in 1 MB blocks; hex string."""
    h = hashlib.blake2b(digest_size=32)
    buf = bytearray(HASH_BLOCK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as fh:
        while True:
            n = fh.readinto(buf)
            if not n:
                break
            h.update(view[:n])
    return h.hexdigest()


def check_size(path: str | os.PathLike[str], config: IngestConfig, size: int | None = None) -> int:
    """Return the file size; ``IngestError`` if empty or over ``config.max_file_mb``."""
    source = str(path)
    if size is None:
        try:
            size = os.stat(path).st_size
        except OSError as exc:
            raise IngestError(
                source, f"cannot read the file ({exc.strerror or exc}); check it exists"
            ) from None
    if size == 0:
        raise IngestError(source, "the file is empty (0 bytes): nothing to index")
    limit = config.max_file_mb * 1024 * 1024
    if size > limit:
        raise IngestError(
            source,
            f"the file is {size / 2**20:.1f} MB, over the limit of {config.max_file_mb:g} MB; "
            "raise ingest.max_file_mb (MMRAG_INGEST_MAX_FILE_MB) or leave the file out",
        )
    return size


def inspect_file(path: str | os.PathLike[str], config: IngestConfig) -> SourceFile:
    """Size check, sniff and hash one file. Raises ``IngestError``/``UnsupportedFile``."""
    p = Path(path)
    source = str(p)
    try:
        size = check_size(p, config)
        kind, reason = sniff_reason(p)
        if kind is None:
            raise UnsupportedFile(source, reason)
        digest = file_hash(p)
    except PermissionError:
        raise IngestError(source, "permission denied reading the file; fix its permissions") from None
    except IsADirectoryError:
        raise IngestError(source, "is a folder, not a file; pass it to walk()") from None
    except OSError as exc:
        raise IngestError(source, f"cannot read the file ({exc.strerror or exc}); check it") from None
    return SourceFile(path=p, kind=kind, size=size, hash=digest)


def scan(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    config: IngestConfig,
    exclude: str | os.PathLike[str] | Iterable[str | os.PathLike[str]] = (),
) -> Iterator[SourceFile | WalkFailure]:
    """``walk`` + ``inspect_file``: every file as a ``SourceFile`` or a ``WalkFailure``."""
    for item in walk(paths, config, exclude):
        if isinstance(item, WalkFailure):
            yield item
            continue
        try:
            yield inspect_file(item, config)
        except IngestError as exc:
            yield WalkFailure(item, exc.reason)


__all__ = [
    "KINDS",
    "SourceFile",
    "WalkFailure",
    "check_size",
    "file_hash",
    "inspect_file",
    "scan",
    "sniff",
    "sniff_head",
    "sniff_reason",
    "walk",
]
