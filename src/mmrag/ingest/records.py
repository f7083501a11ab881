"""One record row -> one item: typed fields, the text to embed, its pictures, a row hash.

``build_item`` is pure apart from ``stat`` calls on local picture files (their
size and mtime go into the row hash, so a replaced picture re-embeds its row).
``load_pictures`` decodes them (or fetches http(s) pictures when the mapping
allows it). Both raise ``RowError`` with a reason the user can act on; the
caller reports it with the row number and goes on.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmrag.config import IngestConfig
from mmrag.errors import IngestError
from mmrag.fields import convert, format_value
from mmrag.ingest.picture_memo import DecodedPictures
from mmrag.ingest.record_mapping import RecordMapping, is_long_text
from mmrag.ingest.record_readers import RawRecord
from mmrag.types import Modality, Span, segment_id

MAX_URL_BYTES = 20 * 1024 * 1024
URL_TIMEOUT_S = 15.0


class RowError(Exception):
    """A row that cannot be indexed; ``str(exc)`` says why and what to fix."""


@dataclass(frozen=True)
class RecordItem:
    row: int
    key: str
    sheet: str
    title: str
    text: str
    fields: Mapping[str, Any]
    pictures: tuple[str, ...]
    hash: str
    segment_id: str
    meta: Mapping[str, str] = field(default_factory=dict)

    @property
    def modality(self) -> Modality:
        return Modality.IMAGE if self.pictures else Modality.TEXT


def _text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(_text_of(v) for v in value if v is not None)
    return " ".join(format_value(value).split())


def record_text(values: Mapping[str, Any], mapping: RecordMapping) -> tuple[str, str]:
    """``(title, text to embed)``: the title first, long text as it is, short text as ``column: value``."""
    title = _text_of(values.get(mapping.title)) if mapping.title else ""
    parts = [title] if title else []
    for col in mapping.text:
        if col == mapping.title:
            continue
        value = _text_of(values.get(col))
        if value:
            parts.append(value if is_long_text(col) else f"{col}: {value}")
    return title[:300], ". ".join(p.rstrip(". ") for p in parts)


def _picture_refs(values: Mapping[str, Any], mapping: RecordMapping) -> tuple[str, ...]:
    refs: list[str] = []
    for col in mapping.image:
        value = values.get(col)
        items = value if isinstance(value, (list, tuple)) else [value]
        refs.extend(str(v).strip() for v in items if v is not None and str(v).strip())
    return tuple(dict.fromkeys(refs))


def is_url(ref: str) -> bool:
    return ref.lower().startswith(("http://", "https://"))


def picture_path(ref: str, mapping: RecordMapping, base: Path) -> Path:
    path = os.path.expanduser(ref) if ref.startswith("~") else ref
    return Path(path if os.path.isabs(path) else os.path.join(mapping.image_root or base, path))


def _signature(ref: str, mapping: RecordMapping, base: Path, row: int) -> str:
    if is_url(ref):
        return ref
    path = picture_path(ref, mapping, base)
    try:
        st = path.stat()
    except OSError:
        raise RowError(f"picture '{ref}' not found (looked at {path}); fix the path or the image_root") from None
    return f"{ref}:{st.st_size}:{st.st_mtime_ns}"


def build_item(raw: RawRecord, mapping: RecordMapping, source: str, base: Path, occurrence: int = 0) -> RecordItem:
    """The item of one row; ``RowError`` for a wrong-typed value, an empty id or a missing picture."""
    values = raw.values
    fields: dict[str, Any] = {}
    for col in mapping.fields:
        kind = mapping.types.get(col, "text")
        try:
            value = convert(values.get(col), kind)
        except ValueError as exc:
            raise RowError(f"column '{col}': {exc} (its type is {kind}; fix the value or the mapping's types)") from None
        if value is not None:
            fields[mapping.names.get(col, col)] = value
    title, text = record_text(values, mapping)
    pictures = _picture_refs(values, mapping)
    content = json.dumps(
        [mapping.fingerprint_value, sorted((str(k), _text_of(v)) for k, v in values.items())], ensure_ascii=False
    )
    if mapping.id is not None:
        key = _text_of(values.get(mapping.id))
        if not key:
            raise RowError(f"the id column '{mapping.id}' is empty; give every row an id")
    else:  # no id column: the row's content is its identity (a changed row is a new item)
        key = hashlib.blake2b(content.encode(), digest_size=10).hexdigest() + (f"-{occurrence}" if occurrence else "")
    signatures = [_signature(ref, mapping, base, raw.row) for ref in pictures]
    digest = hashlib.blake2b((content + "\x00" + "\x00".join(signatures)).encode(), digest_size=16).hexdigest()
    seg = segment_id(source, Modality.TEXT, Span(), f"record:{raw.sheet}:{key}")
    meta = {"kind": "record", "row": str(raw.row), "key": key[:200]}
    if title:
        meta["title"] = title
    if raw.sheet:
        meta["sheet"] = raw.sheet
    if fields:
        meta["field_order"] = ",".join(fields)
    return RecordItem(raw.row, key, raw.sheet, title, text, fields, pictures, digest, seg, meta)


def content_key(raw: RawRecord) -> str:
    """What makes two rows without an id the same row (to number duplicates)."""
    return json.dumps(sorted((str(k), _text_of(v)) for k, v in raw.values.items()), ensure_ascii=False)


def load_pictures(
    item: RecordItem, mapping: RecordMapping, base: Path, config: IngestConfig, decoded: DecodedPictures | None = None
) -> tuple[list[Any], int]:
    """``(decoded RGB pictures, URLs left unfetched)``; ``RowError`` if a picture cannot be read.

    With fetching off (the default) an http(s) picture is left out: the row is
    indexed by its text and fields, and the caller reports how many were skipped.
    ``decoded`` remembers local files lately decoded (rows sharing a picture).
    """
    from mmrag.ingest.image import open_image

    out = []
    skipped = 0
    for ref in item.pictures:
        try:
            if is_url(ref):
                if not mapping.fetch_urls:
                    skipped += 1
                    continue
                data: Any = fetch_picture(ref)
                img, _info = open_image(data, ref, config)
            else:
                local = picture_path(ref, mapping, base)
                decode = functools.partial(_decode_file, local, ref, config)
                img = decoded.get(local, decode) if decoded is not None else decode()
        except IngestError as exc:
            raise RowError(f"picture '{ref[:80]}': {exc.reason}") from None
        out.append(img)
    return out, skipped


def _decode_file(path: Path, ref: str, config: IngestConfig) -> Any:
    from mmrag.ingest.image import open_image

    return open_image(path, ref, config)[0]


def fetch_picture(url: str) -> bytes:
    import httpx

    try:
        with httpx.stream("GET", url, timeout=URL_TIMEOUT_S, follow_redirects=True) as resp:
            if resp.status_code != 200:
                raise RowError(f"picture '{url[:80]}' could not be fetched (HTTP {resp.status_code})")
            chunks, size = [], 0
            for chunk in resp.iter_bytes():
                size += len(chunk)
                if size > MAX_URL_BYTES:
                    raise RowError(f"picture '{url[:80]}' is over {MAX_URL_BYTES // 2**20} MB")
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.HTTPError as exc:
        raise RowError(f"picture '{url[:80]}' could not be fetched ({type(exc).__name__}: {exc})") from None


__all__ = ["RecordItem", "RowError", "build_item", "content_key", "fetch_picture", "is_url", "load_pictures",
           "picture_path", "record_text"]
