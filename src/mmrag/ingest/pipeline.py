"""From paths to stored rows: walk, sniff, hash, load, embed (batched), replace.

Payloads from many small files are embedded together (one encoder call per
``batch_size`` items, not one per file) and each file's rows are written with
``store.replace_sources`` (one commit for the batch, each file atomic for
readers) once its vectors exist, so the index is consistent after every
batch: an interrupt (Ctrl-C) loses only files not yet written, never half a
file, and never rows that were already indexed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mmrag import registry
from mmrag.config import Config
from mmrag.errors import IngestError, MmragError
from mmrag.fields import dumps as dump_fields
from mmrag.ingest.base import Loader
from mmrag.ingest.captions import (
    AUDIO_SUFFIXES,
    CAPTION_SUFFIX,
    CAPTIONED_KINDS,
    PICTURE_SUFFIXES,
    SUBTITLE_SUFFIXES,
    VIDEO_SUFFIXES,
    caption_sidecar,
    read_caption_file,
    with_caption,
)
from mmrag.ingest.heard_words import search_words
from mmrag.ingest.picture_memo import PictureMemo
from mmrag.ingest.record_fields import forget_records, remember_fields
from mmrag.ingest.record_ingest import RecordIngest
from mmrag.ingest.record_mapping import is_sidecar
from mmrag.ingest.record_readers import record_format
from mmrag.ingest.sources import WalkFailure, inspect_file, walk
from mmrag.ingest.statcache import StatCache, StatKey, joined_stat
from mmrag.ingest.tables import field_types
from mmrag.space.base import Space
from mmrag.stores.base import Row, VectorStore, quote
from mmrag.types import AddReport, Channel, Modality, Segment

Status = Literal["added", "replaced", "unchanged", "failed"]
# index meta key: no source is stored under a relative spelling any more (written once the upgrade is done)
ABSOLUTE_SOURCES = "sources_absolute"


MEDIA_KINDS = frozenset({"audio", "video"})  # files whose loading is slow enough to report inside the file
MEDIA_BURST_GAP_S = 0.2  # segments further apart than this came from different decoding windows


@dataclass(frozen=True)
class AddEvent:
    """Progress of ``Engine.add``: one ``start`` (with ``total`` files), then one
    ``file`` event per file as it is settled. A record file (catalogue) also
    sends ``rows`` events while it streams: ``segments`` rows read so far of
    about ``total`` (0: unknown), and a ``part`` event (status ``failed``) per
    bad row, before its own ``file`` event. A recording or a video sends
    ``media`` events as its segments arrive: ``segments`` seconds of it read so
    far (the furthest segment end) of ``total`` seconds (0: the container does
    not say), so an hour of speech does not look stuck."""

    kind: Literal["start", "file", "rows", "part", "media"]
    path: str = ""
    status: Status | None = None
    detail: str = ""
    total: int = 0
    segments: int = 0


@dataclass
class _Pending:
    source: str
    hash: str
    replacing: bool
    segments: list[Segment]
    payloads: int = 0
    stat: os.stat_result | StatKey | None = None


@dataclass
class _Tally:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    failed_parts: int = 0
    segments: int = 0
    pictures: int = 0
    flat_pictures: int = 0
    left_out: int = 0


def segment_channels(segment: Segment, space: Space) -> list[Channel]:
    """Which towers embed this segment: every payload the space has a tower for."""
    channels: list[Channel] = []
    if segment.text and segment.text.strip():
        channels.append(Channel.TEXT)
    if segment.image is not None and space.has(Channel.IMAGE):
        channels.append(Channel.IMAGE)
    if segment.image is not None and space.has(Channel.VISUAL):  # right after IMAGE: one backbone pass serves both
        channels.append(Channel.VISUAL)
    if segment.audio is not None and space.has(Channel.AUDIO):
        channels.append(Channel.AUDIO)
    return channels


MAX_PLACE_CHARS = 200  # the words that place a chunk, at most (a title and a trail of headings)


def embedded_text(segment: Segment) -> str:
    """What the text tower reads for a segment. A document's chunk is read after the words that place it: its
    document's title and the section it falls in (``CHMOD(1) > OPTIONS``, ``SDCC Compiler User Guide > 3.16
    Pragmas``), as contextual chunk headers do (LlamaIndex's metadata in the embedded text, Anthropic's
    "contextual retrieval"), so a manual page's options that never name their command, or the second chunk of a
    long section, are found by what they are about. Only the innermost heading: the whole trail of headings
    outweighed a short chunk's own words and lost PDF sections (bench/README.md, "Sections"). The stored and
    shown text is the chunk alone; other segments (pictures, sounds, table rows, records) are read as they are
    (pure)."""
    text = segment.text or ""
    if segment.modality is not Modality.TEXT or "row" in segment.meta:  # a table's row or a record: its own words
        return text
    title, section = segment.meta.get("title", ""), segment.meta.get("section", "")
    section = section.rsplit(" > ", 1)[-1]  # the innermost heading
    if title.casefold() == section.casefold():
        title = ""
    place = " > ".join(p for p in (title, section) if p)[:MAX_PLACE_CHARS]
    return f"{place}\n\n{text}" if place else text


def _payload(segment: Segment, channel: Channel) -> Any:
    if channel is Channel.TEXT:
        return embedded_text(segment)
    if channel in (Channel.IMAGE, Channel.VISUAL):
        return segment.image
    return (segment.audio, segment.sample_rate)


def _fallback_text(segment: Segment) -> str:
    """A segment with nothing embeddable still gets found by its name."""
    name = Path(segment.source).stem.replace("_", " ").replace("-", " ")
    return f"{segment.modality.value} {name}".strip()


def make_row(segment: Segment, source_hash: str, channel: Channel, vector: np.ndarray, now: float) -> Row:
    span = segment.span
    return Row(
        id=f"{segment.id}:{channel.value}",
        segment_id=segment.id,
        source=segment.source,
        source_hash=source_hash,
        modality=segment.modality.value,
        channel=channel.value,
        vector=np.asarray(vector, dtype=np.float32),
        text=segment.text or "",
        page=-1 if span.page is None else int(span.page),
        t0=-1.0 if span.t0 is None else float(span.t0),
        t1=-1.0 if span.t1 is None else float(span.t1),
        start=-1 if span.start is None else int(span.start),
        end=-1 if span.end is None else int(span.end),
        meta=json.dumps(dict(segment.meta), ensure_ascii=False),
        thumbnail=segment.thumbnail or b"",
        added_at=now,
        fields=dump_fields(segment.fields) if segment.fields else "{}",
        heard=search_words(segment.text or "", segment.meta.get("heard_also", "")),  # full-text searched too
    )


class Ingestor:
    """One ``add`` run. Not reused across runs."""

    def __init__(
        self,
        config: Config,
        space: Space,
        store: VectorStore,
        exclude: Sequence[Path] = (),
        stats: StatCache | None = None,
    ) -> None:
        self.config = config
        self.space = space
        self.store = store
        self.exclude = list(exclude)  # the index's own folder or file and side files
        self.stats = stats if stats is not None else StatCache(None)
        self.flush_at = max(1, config.space.batch_size) * 4
        self._loaders: dict[str, Loader] = {}
        self._emit: Callable[[AddEvent], None] = lambda e: None
        self._tally = _Tally()
        self._picture_memo = PictureMemo()  # catalogue pictures that rows share are embedded once per run

    def _loader(self, kind: str) -> Loader:
        if kind not in self._loaders:
            self._loaders[kind] = registry.resolve("loader", kind)()
        return self._loaders[kind]

    def _fail(self, path: str, reason: str) -> None:
        self._tally.failed.append((path, reason))
        self._emit(AddEvent("file", path=path, status="failed", detail=reason))

    def _fail_part(self, where: str, reason: str) -> None:
        """A part of a file failed (a catalogue's bad row): reported like a file, not counted as one."""
        self._tally.failed.append((where, reason))
        self._tally.failed_parts += 1
        self._emit(AddEvent("part", path=where, status="failed", detail=reason))

    def run(self, paths: Iterable[str | Path], progress: Callable[[AddEvent], None] | None = None) -> AddReport:
        self._emit = progress or (lambda e: None)
        exclude = [*self.exclude, *([self.stats.path] if self.stats.path is not None else [])]  # never index the index
        # one spelling per file: absolute (as remove() matches), so `add notes` and `add ~/notes` are one source
        roots = [Path(p).expanduser().resolve() for p in paths]
        items = [
            item
            for item in walk(roots, self.config.ingest, exclude=exclude, left_out=self._left_out)
            if isinstance(item, WalkFailure) or not is_sidecar(item)  # a catalogue's mapping is not a document
        ]
        if self.config.ingest.captions:  # an edited caption added alone: its indexed picture is checked again too
            items += self._captioned_sources(items)
        self._emit(AddEvent("start", total=len(items)))
        pending: list[_Pending] = []
        interrupted = False
        try:
            for item in items:
                if isinstance(item, WalkFailure):
                    self._fail(str(item.path), item.reason)
                    continue
                loaded = self._load(Path(item))
                if loaded is None:
                    continue
                pending.append(loaded)
                if sum(p.payloads for p in pending) >= self.flush_at or len(pending) >= 64:
                    self._flush(pending)
                    pending = []
            self._flush(pending)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            self.stats.save()
        if not interrupted:
            self._drop_relative_spellings(roots)
        t = self._tally
        return AddReport(
            added=tuple(t.added),
            replaced=tuple(t.replaced),
            unchanged=tuple(t.unchanged),
            failed=tuple(t.failed),
            failed_parts=t.failed_parts,
            segments=t.segments,
            pictures=t.pictures,
            flat_pictures=t.flat_pictures,
            left_out=t.left_out,
            interrupted=interrupted,
        )

    def _captioned_sources(self, items: list[Path | WalkFailure]) -> list[Path]:
        """Indexed pictures whose caption file (``X.txt``) is among ``items`` but which are not, and indexed
        videos and recordings whose subtitles (``X.srt``, ``X.vtt``) are: a sidecar joins its picture's or video's hash,
        so adding it alone must check that file again. One not yet indexed is left alone (nobody asked
        for it)."""
        listed = {str(i) for i in items if not isinstance(i, WalkFailure)}
        stems: dict[Path, dict[str, list[str]]] = {}  # folder -> stem -> picture and video names in it (listed once)
        found: list[Path] = []
        for item in items:
            if isinstance(item, WalkFailure) or (item.suffix != CAPTION_SUFFIX and item.suffix.lower() not in SUBTITLE_SUFFIXES):
                continue
            owners = PICTURE_SUFFIXES if item.suffix == CAPTION_SUFFIX else VIDEO_SUFFIXES | AUDIO_SUFFIXES
            folder = stems.get(item.parent)
            if folder is None:
                try:
                    names = os.listdir(item.parent)
                except OSError:
                    continue
                folder = stems[item.parent] = {}
                for name in names:
                    stem, dot, ext = name.rpartition(".")
                    if dot and any(f".{ext.lower()}" in s for s in (PICTURE_SUFFIXES, VIDEO_SUFFIXES, AUDIO_SUFFIXES)):
                        folder.setdefault(stem, []).append(name)
            for name in (n for n in folder.get(item.stem, ()) if Path(n).suffix.lower() in owners):
                picture = item.parent / name
                if str(picture) not in listed and self.store.source_hash(str(picture)) is not None:
                    found.append(picture)
                    listed.add(str(picture))
        return found

    def _drop_relative_spellings(self, roots: list[Path]) -> None:
        """Older mmrag stored a source as spelt on the command line (``notes/a.txt``); the same
        file is now stored absolute. Once the absolute copy is there with the same content,
        the relative copy under one of this run's roots is dropped, so nothing is indexed twice.

        Once no relative spelling is left, the index meta records ``sources_absolute`` and later
        adds skip listing every source. It is written last: an upgrade cut short (Ctrl-C, a kill)
        leaves it unwritten, and the next add lists and drops again."""
        try:
            meta = self.store.read_meta()
            if meta is None or meta.get(ABSOLUTE_SOURCES):
                return
            known = {s.source for s in self.store.sources()}
        except MmragError:
            return
        left = False
        for old in sorted(s for s in known if not s.startswith(("/", "http://", "https://"))):
            new = str(Path(old).expanduser().resolve())
            if new not in known or not any(new == str(r) or new.startswith(str(r).rstrip("/") + "/") for r in roots):
                left = True  # its folder is not being added now: a later add of it drops it
                continue
            if self.store.source_hash(old) != self.store.source_hash(new):
                left = True  # another file under the same relative name (added from another folder): keep it
                continue
            self.store.delete(f"source = {quote(old)}")
            forget_records(self.store, [old])
        if not left:
            try:  # only a shortcut: a store that cannot take it lists again next time
                fresh = dict(self.store.read_meta() or meta)  # forget_records may have rewritten it
                self.store.write_meta({**fresh, ABSOLUTE_SOURCES: True})
            except MmragError:
                pass

    def _load(self, path: Path) -> _Pending | None:
        source = str(path)
        try:
            st = path.stat()
            old = self.store.source_hash(source)
            ingest = self.config.ingest
            side = caption_sidecar(path, ingest.follow_symlinks) if ingest.captions else None  # a picture's X.txt
            # a caption joins its picture's hash, so its stat joins the picture's in the quick check: an edited,
            # added or removed caption misses it, an untouched pair is settled without reading either file
            seen = st if side is None else joined_stat(st, side[1])
            if old is not None and ingest.quick_check and not ingest.reindex and self.stats.known_hash(source, seen) == old:
                self._unchanged(source)  # same size and mtime as when this content was indexed: not read
                return None
            info = inspect_file(path, ingest)  # size limits, sniff by content, hash
            kind = info.kind
            caption = read_caption_file(side[0]) if side is not None and kind in CAPTIONED_KINDS else None  # found above
            digest = with_caption(info.hash, caption)
            if kind == "records":
                self._records(path, digest)
                return None
            if old == digest and not ingest.reindex:
                self.stats.record(source, seen, digest)
                self._unchanged(source)
                return None
            if kind in MEDIA_KINDS:
                segments = self._media_segments(kind, path, source)
            else:
                segments = list(self._loader(kind).load(path, self.config.ingest))
            if not segments:
                raise IngestError(source, f"no content found in this {kind} file")
        except IngestError as exc:
            self._fail(source, exc.reason)
            return None
        except MmragError as exc:
            self._fail(source, str(exc))
            return None
        except (OSError, ValueError, RuntimeError, MemoryError) as exc:
            self._fail(source, f"could not be read ({type(exc).__name__}: {exc})")
            return None
        unique: dict[str, Segment] = {}
        towers = {c.value for c in self.space.channels}
        for seg in segments:
            needs = seg.meta.get("needs")
            if needs and needs not in towers:  # e.g. a video's soundtrack, in a space with no audio tower
                continue
            if not segment_channels(seg, self.space):
                seg = _with_text(seg, _fallback_text(seg))
            unique.setdefault(seg.id, seg)
        segs = list(unique.values())
        payloads = sum(len(segment_channels(s, self.space)) for s in segs)
        return _Pending(source, digest, old is not None, segs, payloads, seen)

    def _media_segments(self, kind: str, path: Path, source: str) -> list[Segment]:
        """A recording's or a video's segments, with ``media`` events saying how far it has been read.

        Segments arrive in bursts (a recording's speech a decoding window, ~5 min of it, at a time; a video's
        shots as its frames are read, after its soundtrack is transcribed), so an event goes out when a burst
        begins, saying where the one before it ended, and one when the file is done."""
        from mmrag.ingest.avio import probe

        try:
            total = max(0, round(probe(path).duration))
        except Exception:  # noqa: BLE001 - for progress only: the loader says what is wrong with the file
            total = 0
        out: list[Segment] = []
        reached = shown = 0
        last = time.monotonic()
        for seg in self._loader(kind).load(path, self.config.ingest):
            now = time.monotonic()
            if now - last > MEDIA_BURST_GAP_S and reached > shown:
                shown = reached
                self._emit(AddEvent("media", path=source, segments=shown, total=max(total, shown)))
            last = now
            out.append(seg)
            if seg.span.t1 is not None:
                reached = max(reached, round(seg.span.t1))
        if out:
            done = max(total, reached)
            self._emit(AddEvent("media", path=source, segments=done, total=done))
        return out

    def _records(self, path: Path, digest: str) -> None:
        """A catalogue: rows stream through ``RecordIngest`` (incremental per row)."""
        source = str(path)

        def rows(done: int, total: int | None) -> None:
            self._emit(AddEvent("rows", path=source, segments=done, total=total or 0))

        with open(path, "rb") as fh:
            fmt = record_format(path, fh.read(64))
        if fmt is None:
            raise IngestError(source, "not a record file mmrag can read (CSV, TSV, JSONL, JSON array, Parquet, XLSX, XLS, ODS, "
                                      "iCalendar .ics, vCard .vcf, BibTeX .bib)")
        outcome = RecordIngest(self.config, self.space, self.store, rows, self._picture_memo).run(path, fmt, digest)
        for row, sheet, reason in outcome.bad:
            self._fail_part(f"{source} {f'[{sheet}] ' if sheet else ''}row {row}", reason)
        if outcome.unfetched:
            rows_text = ", ".join(str(r) for r in outcome.unfetched[:10]) + (" ..." if len(outcome.unfetched) > 10 else "")
            self._fail_part(f"{source} pictures", f"{len(outcome.unfetched)} row(s) have http(s) pictures that were not fetched "
                       f"(fetching is off; rows {rows_text} are indexed by their text and fields). "
                       "Allow it with --fetch-urls or fetch_urls = true in the mapping.")
        if outcome.status == "unchanged":
            self._unchanged(source)
            return
        if outcome.embedded == 0 and outcome.unchanged == 0 and outcome.status == "added":
            self._fail(source, "no row could be indexed (see the rows reported above)")
            return
        (self._tally.replaced if outcome.status == "replaced" else self._tally.added).append(source)
        self._tally.segments += outcome.embedded
        self._emit(AddEvent("file", path=source, status=outcome.status, segments=outcome.embedded,  # type: ignore[arg-type]
                            detail=f"{outcome.embedded} row(s) embedded, {outcome.unchanged} unchanged, "
                                   f"{outcome.removed} removed, {len(outcome.bad)} bad"))

    def _count_pictures(self, segments: list[Segment]) -> None:
        """Tally the pictures just stored and how many are flat like drawings (the CLI's hint about ``lite0e``)."""
        from mmrag.space.backbone_tower import is_drawing

        for seg in segments:
            if seg.image is not None:
                self._tally.pictures += 1
                self._tally.flat_pictures += is_drawing(seg.image)

    def _left_out(self, path: Path) -> None:
        """A file or folder the exclude patterns or a .mmragignore left out of the walk: counted, not read."""
        self._tally.left_out += 1

    def _unchanged(self, source: str) -> None:
        self._tally.unchanged.append(source)
        self._emit(AddEvent("file", path=source, status="unchanged"))

    def _embed(self, files: list[_Pending]) -> list[list[tuple[Segment, Channel, np.ndarray]]]:
        """Vectors for every payload of ``files``, one encoder call per channel batch."""
        jobs: dict[Channel, list[tuple[int, Segment]]] = {}
        for i, pending in enumerate(files):
            for seg in pending.segments:
                for ch in segment_channels(seg, self.space):
                    jobs.setdefault(ch, []).append((i, seg))
        out: list[list[tuple[Segment, Channel, np.ndarray]]] = [[] for _ in files]
        for ch, entries in jobs.items():
            vectors = self.space.encode(ch, [_payload(seg, ch) for _, seg in entries])
            for (i, seg), vec in zip(entries, vectors):
                out[i].append((seg, ch, vec))
        return out

    def _flush(self, files: list[_Pending]) -> None:
        if not files:
            return
        try:
            embedded = self._embed(files)
        except KeyboardInterrupt:
            raise
        except Exception:  # noqa: BLE001 - isolate the file that breaks the batch
            embedded = []
            for pending in files:
                try:
                    embedded.extend(self._embed([pending]))
                except KeyboardInterrupt:
                    raise
                except Exception as exc:  # noqa: BLE001 - reported per file
                    embedded.append([])
                    pending.segments = []
                    self._fail(pending.source, f"could not be embedded ({type(exc).__name__}: {exc})")
        now = time.time()
        ready = [(p, [make_row(seg, p.hash, ch, vec, now) for seg, ch, vec in v]) for p, v in zip(files, embedded) if p.segments]
        stored = _store_together(self.store, [(p.source, rows) for p, rows in ready])
        for pending, rows in ready:
            try:
                if not stored:  # one file at a time: a bad file gets its own error
                    self.store.replace_source(pending.source, rows)
            except MmragError as exc:
                self._fail(pending.source, f"could not be stored: {exc}")
                continue
            if any(seg.fields for seg in pending.segments):  # table rows: their fields become filterable
                remember_fields(self.store, pending.source, field_types([s for s in pending.segments if s.fields]))
            if pending.stat is not None:
                self.stats.record(pending.source, pending.stat, pending.hash)
            (self._tally.replaced if pending.replacing else self._tally.added).append(pending.source)
            self._tally.segments += len(pending.segments)
            self._count_pictures(pending.segments)
            self._emit(
                AddEvent(
                    "file",
                    path=pending.source,
                    status="replaced" if pending.replacing else "added",
                    segments=len(pending.segments),
                )
            )


def _store_together(store: VectorStore, items: list[tuple[str, list[Row]]]) -> bool:
    """Every file of a batch in one store commit where the store can (each file atomic for readers)."""
    together = getattr(store, "replace_sources", None)
    if len(items) < 2 or not callable(together):
        return False
    try:
        together(items)
    except MmragError:
        return False  # retried file by file, so the file at fault is named
    return True


def _with_text(segment: Segment, text: str) -> Segment:
    return dataclasses.replace(segment, text=text)


__all__ = ["AddEvent", "Ingestor", "embedded_text", "make_row", "segment_channels"]
