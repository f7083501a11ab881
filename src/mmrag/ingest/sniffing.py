"""Tell a file's kind from its first bytes (pure; no file access).

Magic numbers come first (own checks for what ``filetype`` cannot split,
then ``filetype``), then a text check (BOMs, UTF-8, latin-1 without control
codes) with ``<svg``/HTML roots told apart from other text. The extension
only breaks ties. ``sources.sniff`` wraps this for files.
"""

from __future__ import annotations

import codecs
import re
import zipfile
import zlib

import filetype

from mmrag.ingest.bibliography import BIB_EXTS, looks_like_bibliography
from mmrag.ingest.compressed import codec_of

SNIFF_BYTES = 8192
UNKNOWN_BINARY = "unknown binary content"  # the reason's start when no check named the bytes (sources asks FFmpeg)
UNSUPPORTED_PICTURE = "images are not supported; convert to PNG or JPEG"  # sources asks Pillow first
GENERATED_TEXT = (
    "minified or machine-made text (lines thousands of characters long, of long runs with few spaces: a bundled "
    ".min.js, a source map, a search index, base64), not words to search: not indexed; leave such files out with "
    "--exclude or a .mmragignore file"
)
MANUAL_ALIAS = "a manual page alias: it only shows another page"

# Telephony audio without a header (Asterisk prompts, voicemail, IVR recordings): nothing in the bytes
# says what they are, so the extension does, as it does for Asterisk and SoX. Each entry: FFmpeg's
# demuxer and the options it needs (a raw stream has no sample rate of its own).
RAW_AUDIO: dict[str, tuple[str, dict[str, str]]] = {
    ".gsm": ("gsm", {}),  # GSM 06.10 frames, 8 kHz
    ".ulaw": ("mulaw", {"sample_rate": "8000"}),
    ".mulaw": ("mulaw", {"sample_rate": "8000"}),
    ".alaw": ("alaw", {"sample_rate": "8000"}),
    ".g722": ("g722", {}),  # 16 kHz
    ".g729": ("g729", {}),
    ".sln": ("s16le", {"sample_rate": "8000"}),  # signed linear 16-bit, Asterisk's naming
    **{f".sln{k}": ("s16le", {"sample_rate": str(rate)}) for k, rate in
       ((12, 12000), (16, 16000), (24, 24000), (32, 32000), (44, 44100), (48, 48000), (96, 96000), (192, 192000))},
}

# what reading a damaged or hostile ZIP package can raise: OSError, BadZipFile, a name that is not UTF-8
# (ValueError), an unknown compression method, a cut deflate stream, an encrypted member, a missing part
ZIP_ERRORS: tuple[type[Exception], ...] = (
    OSError, zipfile.BadZipFile, zlib.error, NotImplementedError, ValueError, EOFError, RuntimeError, KeyError,
)

# every kind a loader is registered for (registry.py, "loader")
KINDS = ("text", "html", "notebook", "email", "msg", "image", "svg", "pdf", "ps", "docx", "doc", "pptx", "ppt", "odt", "odp", "epub", "enex", "audio", "video",
         "records")
NOT_INDEXED = f"not a type mmrag indexes ({', '.join(KINDS)})"
_RECORD_TEXT_EXTS = {".csv", ".tsv", ".tab", ".jsonl", ".ndjson"}
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE2 compound files: Office 97-2003, Outlook .msg
PACKAGE_MIMES = {  # ZIP packages that are documents (ingest/word.py, slides.py, opendocument.py, epub.py)
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
    "application/vnd.oasis.opendocument.text": "odt",  # OpenDocument (ingest/opendocument.py)
    "application/vnd.oasis.opendocument.presentation": "odp",
    "application/epub+zip": "epub",  # e-books (ingest/epub.py)
    "application/vnd.oasis.opendocument.spreadsheet": "records",  # a sheet of rows (ingest/record_readers.py)
}
_IMAGE_MIMES = {"jpeg", "png", "apng", "gif", "webp", "tiff", "bmp", "x-icon"}
_MP4_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "}
_HTML_TAGS = {
    "html",
    "head",
    "body",
    "meta",
    "title",
    "div",
    "p",
    "span",
    "a",
    "table",
    "h1",
    "h2",
    "h3",
    "ul",
    "ol",
    "script",
    "style",
    "link",
    "section",
    "article",
    "header",
    "nav",
    "main",
}
_FIRST_TAG = re.compile(r"\s*<([A-Za-z_][\w.:-]*)")
_PROLOG = re.compile(
    r"\s*(<\?.*?\?>|<!--.*?-->|<!doctype[^>]*>|<!\[cdata\[.*?\]\]>)", re.DOTALL | re.IGNORECASE
)


def sniff_head(head: bytes, ext: str = "") -> tuple[str | None, str]:
    """Kind from a file's first bytes; ``ext`` (``".txt"``) only breaks ties, except for headerless
    telephony audio (``RAW_AUDIO``), whose bytes say nothing: there the extension decides.

    Returns ``(kind, "")`` or ``(None, reason)``. ``records``: a table of
    rows (CSV/TSV, JSON Lines, a JSON array, Parquet, XLSX; ``ingest/records.py``). ``"av?"`` means an MP4 /
    Matroska container whose audio-or-video answer needs the file (see ``sniff``); ``"packed?"`` a gzip-, bzip2- or
    xz-compressed file whose content decides (``ingest/compressed.py``); ``"ole?"`` an OLE2
    compound file (Word, Excel, PowerPoint 97-2003, Outlook ``.msg``) whose streams say which.
    """
    ext = ext.lower()
    kind, reason = _by_content(head, ext)
    if kind in (None, "text") and ext in RAW_AUDIO:  # no format of its own was found: the name says
        return "audio", ""
    return kind, reason


def _by_content(head: bytes, ext: str) -> tuple[str | None, str]:
    if not head:
        return None, "the file is empty (0 bytes): nothing to index"
    if head.startswith(_BOMS):
        text = _decode_head(head)
        if text is not None:
            return _flat_odf(text) or _text_or_generated(text, ext)
    kind = _magic(head, ext)
    if kind is not None:
        return kind
    try:
        guess = filetype.guess(head)
    except Exception:  # noqa: BLE001 - a matcher choking on odd bytes is "no guess"
        guess = None
    if guess is not None and guess.mime not in ("application/rtf", "application/postscript"):
        family, _, sub = guess.mime.partition("/")
        if guess.mime == "application/pdf":
            return "pdf", ""
        if guess.mime in PACKAGE_MIMES:
            return PACKAGE_MIMES[guess.mime], ""
        if family == "image":
            if sub in _IMAGE_MIMES:
                return "image", ""
            return None, f"{guess.extension.upper()} {UNSUPPORTED_PICTURE}"
        if family == "audio" and sub != "midi":
            return "audio", ""
        if family == "video":
            return "video", ""
        return None, f"{guess.extension} content ({guess.mime}) is {NOT_INDEXED}"
    text = _decode_head(head)
    if text is not None:
        return _flat_odf(text) or _text_or_generated(text, ext)
    return None, f"{UNKNOWN_BINARY} is {NOT_INDEXED}"


def _text_or_generated(text: str, ext: str) -> tuple[str | None, str]:
    kind = _text_kind(text, ext)
    if kind == "text" and looks_generated(text):
        return None, GENERATED_TEXT
    if kind == "text" and ext[1:2] and ext[1].lower() in "123456789nlomr":  # maybe a manual page's name (.1, .man)
        from mmrag.ingest.roff import alias_target, is_roff_name  # here: not worth a cold CLI start's import

        if is_roff_name(ext) and (target := alias_target(text)):
            return None, f"{MANUAL_ALIAS} ({target}), indexed where it lies"
    return kind, ""


_LONG_LINE = 2000  # characters: longer than any line a person writes or wraps, code included
_MIN_GENERATED = 4096  # characters of such lines before a head is judged
_TOKEN_CHARS = 16.0  # mean characters between spaces above which a run is not words (prose ~6, code ~8)


def looks_generated(text: str) -> bool:
    """Minified code or a machine-made blob (a bundled ``.min.js``, a source map, Sphinx's ``searchindex.js``,
    base64, numbers written without spaces) rather than text a person would search (pure).

    Judged on the head's lines of ``_LONG_LINE`` characters or more, when they hold ``_MIN_GENERATED``
    characters or more: mostly ASCII (so prose in scripts written without spaces, Chinese or Japanese, is
    never judged) and more than ``_TOKEN_CHARS`` characters between spaces on average. Prose written one
    paragraph to a line (~6 characters a word) and JSON holding sentences (~12) stay text.
    """
    long_lines = [line for line in text.splitlines() if len(line) >= _LONG_LINE]
    chars = sum(map(len, long_lines))
    if chars < _MIN_GENERATED:
        return False
    ascii_chars = sum(sum(ord(c) < 128 for c in line) for line in long_lines)
    if ascii_chars < 0.9 * chars:
        return False
    words = sum(len(line.split()) for line in long_lines)
    return chars > _TOKEN_CHARS * max(words, 1)


_FLAT_ODF = re.compile(r"<office:document\s[^>]*?office:mimetype=[\"']application/vnd\.oasis\.opendocument\.([a-z-]+)[\"']")
_FLAT_ODF_KINDS = {"text": "odt", "presentation": "odp"}


def _flat_odf(text: str) -> tuple[str | None, str] | None:
    """A flat OpenDocument file (``.fodt``: one XML document, LibreOffice's format for version control) by the
    ``office:mimetype`` of its root element: ``odt`` / ``odp``, a reason for the other kinds, ``None`` if not one."""
    m = _FLAT_ODF.search(text)
    if m is None:
        return None
    kind = _FLAT_ODF_KINDS.get(m.group(1))
    if kind is not None:
        return kind, ""
    return None, f"a flat OpenDocument {m.group(1)} is {NOT_INDEXED}; save it as a regular OpenDocument file (.ods for a sheet)"


def _magic(head: bytes, ext: str) -> tuple[str | None, str] | None:
    """Own checks for what ``filetype`` gets wrong or cannot split."""
    if head[:4] == b"PAR1":  # Parquet: a table of records
        return "records", ""
    if head.startswith(b"%!PS-Adobe-") and b"EPSF" in head[:40].split(b"\n")[0]:  # an EPS picture, not text to read
        return "image", ""  # (drawn by Ghostscript through Pillow; ingest/image.py says so when it is missing)
    if head.startswith((b"%!PS-AdobeFont", b"%!FontType1")):  # a Type 1 font (.pfa): PostScript that draws no page
        return None, f"a PostScript font (Type 1), not a document: {NOT_INDEXED}"
    if head.startswith(b"%!PS"):  # a PostScript document: pages drawn by a program (ingest/postscript.py)
        return "ps", ""
    if head[:8] == OLE_MAGIC:  # an Office 97-2003 file (or another OLE2 compound file): its streams say which
        return "ole?", ""
    if head[:2] == b"PK" and ext in (".xlsx", ".xlsm"):
        return "records", ""
    if head.lstrip()[:5] == b"%PDF-" or (ext == ".pdf" and b"%PDF-" in head[:1024]):
        return "pdf", ""
    if head[:2] == b"\x1f\x8b" and ext == ".svgz":
        return "svg", ""
    if codec_of(head, ext):  # compressed text (README.gz, app.log.xz): what is inside decides
        return "packed?", ""
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _MP4_AUDIO_BRANDS:
            return "audio", ""
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"avif", b"avis"):
            return None, f"HEIC/AVIF {UNSUPPORTED_PICTURE}"
        return ("video", "") if brand == b"qt  " else ("av?", "")
    if head[:4] == b"\x1a\x45\xdf\xa3":  # EBML: Matroska / WebM
        return "av?", ""
    if head[:4] == b"OggS":
        return ("video", "") if b"\x80theora" in head else ("audio", "")
    if head[:4] == b"RIFF":
        fourcc = head[8:12]
        if fourcc == b"WAVE":
            return "audio", ""
        if fourcc == b"AVI ":
            return "video", ""
    return None


_INFO_NODE = re.compile(rb"\x1f\r?\n(?:File: [^\n]*Node: |Tag Table:|Indirect:)")
_INFO_CONTROLS = re.compile(rb"\x00\x08[\[\]]|[\x1f\x7f]")


def _decode_head(head: bytes) -> str | None:
    """The head as text if it looks like text (no NULs, few control codes)."""
    for bom, codec in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom) and not head.startswith(b"\xff\xfe\x00\x00"):
            body = head[2 : 2 + (len(head) - 2) // 2 * 2]
            try:
                text = codecs.getincrementaldecoder(codec)().decode(body, final=False)
            except UnicodeDecodeError:
                return None
            return text if _mostly_printable(text) else None
    if _INFO_NODE.search(head):  # a GNU Info manual: node separators, its tag table's DELs, makeinfo's NUL markers
        head = _INFO_CONTROLS.sub(b"", head)
    if b"\x00" in head:
        return None
    try:
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError:
        text = head.decode("latin-1")
    return text if _mostly_printable(text) else None


def _mostly_printable(text: str) -> bool:
    if not text:
        return False
    bad = sum(1 for ch in text if (ord(ch) < 32 and ch not in "\t\n\r\f\b\x1b") or ch == "\x7f")
    return bad <= len(text) // 100


_MAIL_HEADER = re.compile(r"([A-Za-z][A-Za-z0-9-]*):[ \t]")
_MAIL_EVIDENCE = {"subject", "date", "message-id", "received", "mime-version", "return-path", "delivered-to"}


def looks_like_mail(text: str, ext: str = "") -> bool:
    """An e-mail message or an mbox: header lines (an mbox's ``From `` line first) up to a blank line,
    with ``From:`` and one more header only mail has (``Subject:``, ``Date:``, ``Message-ID:`` ...); in a
    ``.eml`` or ``.mbox`` file any header block will do (pure)."""
    lines = text.replace("\r\n", "\n").split("\n")
    start = 1 if lines and lines[0].startswith("From ") else 0
    names: set[str] = set()
    for line in lines[start:]:
        if not line.strip():
            break
        if line[:1] in (" ", "\t") and names:
            continue  # a folded header's next line
        m = _MAIL_HEADER.match(line)
        if m is None:
            return False
        names.add(m.group(1).lower())
    else:
        return False  # no blank line ends the headers within the sniffed bytes
    if ext in (".eml", ".mbox", ".mbx"):
        return bool(names)
    return "from" in names and bool(names & _MAIL_EVIDENCE)


def _text_kind(text: str, ext: str) -> str:
    """``svg``, ``html``, ``records``, ``notebook`` or ``text`` for content already known to be text."""
    s = text.lstrip("\ufeff \t\r\n")[:4096]
    if ext in _RECORD_TEXT_EXTS or (ext == ".json" and s.startswith("[")):
        return "records"
    if ext in BIB_EXTS and looks_like_bibliography(text):
        return "records"  # a bibliography: one row per entry (ingest/bibliography.py)
    if s[:15].upper() == "BEGIN:VCALENDAR" or s[:11].upper() == "BEGIN:VCARD":
        return "records"  # a calendar, an address book: one row per event (ingest/calendar.py), per contact (contacts.py)
    if ext == ".ipynb" and s.startswith("{"):
        return "notebook"  # a Jupyter notebook (ingest/notebook.py checks it has cells)
    if looks_like_mail(s, ext):
        return "email"
    if not s.startswith("<"):
        return "html" if ext in (".html", ".htm", ".xhtml") and "</" in s.lower() else "text"
    if "<en-export" in s:
        return "enex"  # an Evernote export: notes with their pictures (ingest/evernote.py)
    low = s.lower()
    pos = 0
    while True:
        m = _PROLOG.match(low, pos)
        if not m:
            break
        if m.group(1).startswith("<!doctype html"):
            return "html"
        pos = m.end()
    tag = _FIRST_TAG.match(low, pos)
    if tag is not None:
        name = tag.group(1).rsplit(":", 1)[-1]
        if name == "svg":
            return "svg"
        if name in _HTML_TAGS:
            return "html"
    if ext == ".svg" and "<svg" in low:
        return "svg"
    if ext in (".html", ".htm", ".xhtml"):
        return "html"
    return "text"


__all__ = [
    "GENERATED_TEXT", "KINDS", "MANUAL_ALIAS", "PACKAGE_MIMES", "RAW_AUDIO", "SNIFF_BYTES", "UNKNOWN_BINARY", "UNSUPPORTED_PICTURE",
    "looks_generated", "sniff_head",
]
