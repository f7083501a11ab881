"""Index one record file incrementally: one item per row, one hash per row.

The rows of a record file are stored like any segment's rows (one vector per
channel: the row's text through the text tower, each picture through the
image tower), with the row's typed fields in ``Row.fields`` and the row's
content hash in ``Row.source_hash``. Adding the file again:

- rows whose hash is unchanged are skipped (not read further, not embedded);
- new and changed rows are embedded in batches and upserted batch by batch;
- rows that are gone from the file are deleted, after the whole file was read;
- a bad row (wrong-typed value, empty or repeated id, missing picture) is
  reported with its row number; an older good version of it stays indexed.

The file streams (nothing holds all rows); each written batch is complete,
so Ctrl-C keeps what was written and the next ``add`` resumes from the rows
whose hash is not stored yet. The file's own hash and its fields' types are
kept in the index metadata under ``records`` (an unchanged file is skipped
without reading its rows).
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mmrag.config import Config
from mmrag.errors import MmragError
from mmrag.fields import dumps
from mmrag.ingest.picture_memo import DecodedPictures, PictureMemo, picture_key
from mmrag.ingest.record_fields import META_KEY, remember_fields
from mmrag.ingest.record_mapping import SAMPLE_ROWS, RecordMapping, parse_flags, read_sidecar, resolve
from mmrag.ingest.record_readers import RawRecord, RecordReader
from mmrag.ingest.records import RecordItem, RowError, build_item, content_key, load_pictures
from mmrag.space.base import Space
from mmrag.stores.base import Row, VectorStore
from mmrag.types import Channel, Modality

DELETE_CHUNK = 500


@dataclass
class RecordOutcome:
    status: str  # added | replaced | unchanged
    embedded: int = 0  # rows (items) embedded this time
    unchanged: int = 0
    removed: int = 0
    bad: list[tuple[int, str, str]] = field(default_factory=list)  # (row, sheet, reason)
    unfetched: list[int] = field(default_factory=list)  # rows indexed without their http(s) pictures
    mapping: RecordMapping | None = None


@dataclass
class _Ready:
    item: RecordItem
    pictures: list[Any]


def _seg_of(row_id: str) -> str:
    return row_id.split(":", 1)[0]


def _delete_ids(store: VectorStore, ids: list[str]) -> None:
    from mmrag.stores.base import quote

    for lo in range(0, len(ids), DELETE_CHUNK):
        chunk = ids[lo : lo + DELETE_CHUNK]
        store.delete("id IN (" + ", ".join(quote(i) for i in chunk) + ")")


def format_mapping(fmt: str) -> dict[str, Any] | None:
    """The mapping a format brings of its own (a calendar's, an address book's, a bibliography's), else ``None``."""
    if fmt == "ics":
        from mmrag.ingest.calendar import CALENDAR_MAPPING

        return CALENDAR_MAPPING
    if fmt == "vcf":
        from mmrag.ingest.contacts import CONTACTS_MAPPING

        return CONTACTS_MAPPING
    if fmt == "bib":
        from mmrag.ingest.bibliography import BIBLIOGRAPHY_MAPPING

        return BIBLIOGRAPHY_MAPPING
    return None


class RecordIngest:
    """Index one record file into ``store`` (see the module docstring)."""

    def __init__(
        self,
        config: Config,
        space: Space,
        store: VectorStore,
        progress: Callable[[int, int | None], None] | None = None,
        memo: PictureMemo | None = None,
    ) -> None:
        self.config, self.space, self.store = config, space, store
        self.progress = progress or (lambda done, total: None)
        self.batch = max(1, config.space.batch_size) * 4
        self.memo = memo if memo is not None else PictureMemo()  # shared by the files of one add
        self.decoded = DecodedPictures()  # rows that point at one file decode it once

    # -- metadata ----------------------------------------------------------------------
    def known_hash(self, source: str) -> str | None:
        meta = self.store.read_meta() or {}
        entry = meta.get(META_KEY, {}).get(source)
        return entry.get("hash") if isinstance(entry, dict) else None

    def _remember(self, source: str, digest: str, mapping: RecordMapping) -> None:
        types = {mapping.names.get(c, c): mapping.types.get(c, "text") for c in mapping.fields}
        remember_fields(self.store, source, types, digest)

    # -- the run -----------------------------------------------------------------------------
    def run(self, path: Path, fmt: str, digest: str) -> RecordOutcome:
        source = str(path)
        existing = self.store.row_hashes(source)
        if existing and self.known_hash(source) == digest and not self.config.ingest.reindex:
            return RecordOutcome("unchanged")  # (--reindex reads it again: rows whose text changed are re-embedded)
        seg_hash: dict[str, str] = {}
        seg_rows: dict[str, list[str]] = {}
        for rid, h in existing.items():
            seg_hash[_seg_of(rid)] = h
            seg_rows.setdefault(_seg_of(rid), []).append(rid)
        given = {**read_sidecar(path), **parse_flags(self.config.ingest.record_map)}
        reader = RecordReader(path, fmt, sheet=given.get("sheet") or None)
        total = reader.estimate()
        stream = reader.records()
        head = list(itertools.islice(stream, SAMPLE_ROWS))
        header: dict[str, None] = {}
        for raw in head:
            header.update(dict.fromkeys(raw.values))
        mapping = resolve(path, list(header), [r.values for r in head if not r.error],
                          self.config.ingest.record_map, self.config.ingest.fetch_image_urls,
                          defaults=format_mapping(fmt))
        outcome = RecordOutcome("replaced" if existing else "added", mapping=mapping)
        kept: set[str] = set()
        seen_keys: dict[tuple[str, str], int] = {}
        occurrences: dict[str, int] = {}
        ready: list[_Ready] = []
        done = 0
        base = path.parent
        for raw in itertools.chain(head, stream):
            done += 1
            if done % 1000 == 0:
                self.progress(done, total)
            if raw.error:
                outcome.bad.append((raw.row, raw.sheet, raw.error))
                continue
            try:
                occurrence = 0
                if mapping.id is None:
                    ck = raw.sheet + "\x00" + content_key(raw)
                    occurrence = occurrences.get(ck, 0)
                    occurrences[ck] = occurrence + 1
                item = build_item(raw, mapping, source, base, occurrence)
            except RowError as exc:
                outcome.bad.append((raw.row, raw.sheet, str(exc)))
                self._keep_old(raw, mapping, source, kept)
                continue
            first = seen_keys.setdefault((item.sheet, item.key), item.row)
            if first != item.row:
                outcome.bad.append((raw.row, raw.sheet, f"repeats the id '{item.key}' of row {first}; ids must be unique"))
                continue
            kept.add(item.segment_id)
            if seg_hash.get(item.segment_id) == item.hash:
                outcome.unchanged += 1
                continue
            try:
                pictures: list[Any] = []
                if self.space.has(Channel.IMAGE):
                    pictures, skipped = load_pictures(item, mapping, base, self.config.ingest, self.decoded)
                    if skipped:
                        outcome.unfetched.append(raw.row)
            except RowError as exc:
                outcome.bad.append((raw.row, raw.sheet, str(exc)))
                continue
            ready.append(_Ready(item, pictures))
            if len(ready) >= self.batch:
                self._flush(ready, source, seg_rows, outcome)
                ready = []
                self.progress(done, total)  # a batch landed: the slow part moves the bar
        self._flush(ready, source, seg_rows, outcome)
        stale = [rid for rid in existing if _seg_of(rid) not in kept]
        _delete_ids(self.store, stale)
        outcome.removed = len({_seg_of(r) for r in stale})
        self.progress(done, done)
        if outcome.embedded == 0 and outcome.removed == 0 and existing:
            outcome.status = "unchanged"
        self._remember(source, digest, mapping)
        return outcome

    def _keep_old(self, raw: RawRecord, mapping: RecordMapping, source: str, kept: set[str]) -> None:
        """A bad row keeps its last good version (found by its id)."""
        if mapping.id is None:
            return
        from mmrag.ingest.records import _text_of
        from mmrag.types import Span, segment_id

        key = _text_of(raw.values.get(mapping.id))
        if key:
            kept.add(segment_id(source, Modality.TEXT, Span(), f"record:{raw.sheet}:{key}"))

    # -- embedding -------------------------------------------------------------------------------
    def _vectors(self, ready: list[_Ready]) -> Iterator[tuple[_Ready, list[tuple[str, Channel, np.ndarray]]]]:
        texts = [(r, r.item.text or r.item.title or f"row {r.item.row}") for r in ready]
        text_vecs = self.space.encode(Channel.TEXT, [t for _, t in texts])
        pics = [(i, k, p) for i, r in enumerate(ready) for k, p in enumerate(r.pictures)]
        pic_vecs = self._picture_vectors([p for _, _, p in pics]) if pics else []
        by_item: dict[int, list[tuple[str, Channel, np.ndarray]]] = {i: [] for i in range(len(ready))}
        for i in range(len(ready)):
            by_item[i].append(("text", Channel.TEXT, text_vecs[i]))
        for (i, k, _), vecs in zip(pics, pic_vecs):
            for ch, vec in vecs.items():  # image (the text space), then visual (the backbone's own features)
                by_item[i].append((ch.value if k == 0 else f"{ch.value}:{k + 1}", ch, vec))
        for i, r in enumerate(ready):
            yield r, by_item[i]

    def _picture_vectors(self, pictures: list[Any]) -> list[dict[Channel, np.ndarray]]:
        """Each picture's vectors per picture channel. A picture that rows share (the
        colour variants of one product photo) is embedded once per run: the memo
        knows it by its pixels."""
        channels = [ch for ch in (Channel.IMAGE, Channel.VISUAL) if self.space.has(ch)]
        keys = [picture_key(p) for p in pictures]
        found: dict[bytes, dict[Channel, np.ndarray]] = {}
        todo: dict[bytes, Any] = {}
        for key, pic in zip(keys, pictures):
            if key in found or key in todo:
                continue
            known = self.memo.get(key)
            if known is not None:
                found[key] = known
            else:
                todo[key] = pic
        if todo:
            batch = list(todo.values())  # one list for every channel: the backbone answers the second from its last pass
            encoded = {ch: self.space.encode(ch, batch) for ch in channels}
            for j, key in enumerate(todo):
                found[key] = {ch: encoded[ch][j] for ch in channels}
                self.memo.put(key, found[key])
        return [found[key] for key in keys]

    def _flush(self, ready: list[_Ready], source: str, seg_rows: dict[str, list[str]], outcome: RecordOutcome) -> None:
        if not ready:
            return
        try:
            embedded = list(self._vectors(ready))
        except KeyboardInterrupt:
            raise
        except Exception:  # noqa: BLE001 - find the row that breaks the batch, report it, keep the rest
            embedded = []
            for r in ready:
                try:
                    embedded.extend(self._vectors([r]))
                except KeyboardInterrupt:
                    raise
                except Exception as exc:  # noqa: BLE001
                    outcome.bad.append((r.item.row, r.item.sheet, f"could not be embedded ({type(exc).__name__}: {exc})"))
        now = time.time()
        rows: list[Row] = []
        stale: list[str] = []
        for r, vectors in embedded:
            rows.extend(self._rows(r, vectors, source, now))
            new_ids = {f"{r.item.segment_id}:{suffix}" for suffix, _, _ in vectors}
            stale.extend(i for i in seg_rows.get(r.item.segment_id, []) if i not in new_ids)
        if not rows:
            return
        try:
            self.store.upsert(rows)
            _delete_ids(self.store, stale)
        except MmragError as exc:
            for r, _ in embedded:
                outcome.bad.append((r.item.row, r.item.sheet, f"could not be stored: {exc}"))
            return
        outcome.embedded += len(embedded)

    def _rows(self, r: _Ready, vectors: list[tuple[str, Channel, np.ndarray]], source: str, now: float) -> list[Row]:
        from mmrag.ingest.image import make_thumbnail

        item = r.item
        thumb = (make_thumbnail(r.pictures[0], self.config.ingest.thumbnail_px) or b"") if r.pictures else b""
        meta = json.dumps(dict(item.meta), ensure_ascii=False)
        fields_json = dumps(item.fields)
        text = item.text or item.title
        return [
            Row(
                id=f"{item.segment_id}:{suffix}",
                segment_id=item.segment_id,
                source=source,
                source_hash=item.hash,
                modality=(Modality.IMAGE if r.pictures else Modality.TEXT).value,
                channel=channel.value,
                vector=np.asarray(vec, dtype=np.float32),
                text=text,
                meta=meta,
                thumbnail=thumb,
                added_at=now,
                fields=fields_json,
            )
            for suffix, channel, vec in vectors
        ]


__all__ = ["META_KEY", "RecordIngest", "RecordOutcome"]
