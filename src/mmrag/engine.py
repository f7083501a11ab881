"""``Engine``: the one object behind the Python API, the CLI and the server.

::

    engine = mmrag.open("./my-index")          # LanceDB folder (or milvus:./x.db, http://host:19530)
    report = engine.add(["~/notes", "~/photos"])
    hits = engine.search("a cat on a sofa", k=10, modality="image")
    hits = engine.search(image="query.jpg")
    answer = engine.ask("what did she say about the budget?")

An index remembers its space (encoder ids, dim, normalisation) and the
settings that rebuild it; opening it with a different space raises
``SpaceMismatch``. Models load lazily: ``info``/``sources``/``remove`` never
load one.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from mmrag.config import Config, load_config
from mmrag.errors import MmragError, QueryError, SpaceMismatch
from mmrag.index_paths import index_files
from mmrag.ingest.pipeline import AddEvent, Ingestor
from mmrag.ingest.readers import KEY as READERS_KEY
from mmrag.ingest.readers import READERS, readers_of, reindex_tip
from mmrag.ingest.record_fields import check_where, forget_records, known_fields
from mmrag.ingest.statcache import StatCache, stat_cache_path
from mmrag.lock import WriterLock, index_stamp
from mmrag.retrieve.search import BackgroundSamples, Query, search
from mmrag.space.base import Space, SpaceSpec
from mmrag.stores import open_store
from mmrag.stores.base import SourceInfo, VectorStore, quote
from mmrag.types import AddReport, Answer, Channel, Hit, Modality

FORMAT_VERSION = 1
_UNSET = object()
SPACE_KEYS = ("name", "model", "image_model", "audio_model")


@dataclass(frozen=True)
class IndexInfo:
    location: str
    store: str
    space: SpaceSpec | None
    rows: int
    sources: int
    by_modality: Mapping[str, int]
    by_channel: Mapping[str, int]
    created_at: float | None
    readers: int = READERS  # the version of the readers that made it (``ingest/readers.py``)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``mmrag info --json`` and ``GET /info``."""
        return {
            "location": self.location,
            "store": self.store,
            "space": self.space.to_dict() if self.space else None,
            "rows": self.rows,
            "sources": self.sources,
            "segments_by_modality": dict(self.by_modality),
            "vectors_by_channel": dict(self.by_channel),
            "created_at": self.created_at,
            "readers": self.readers,
            "readers_now": READERS,
        }


def _parse_modalities(modality: str | Sequence[str] | None) -> list[str] | None:
    if modality is None:
        return None
    items = [modality] if isinstance(modality, str) else list(modality)
    out: list[str] = []
    for item in items:
        for part in str(item).split(","):
            part = part.strip().lower()
            if not part or part == "all":
                continue
            try:
                out.append(Modality(part).value)
            except ValueError:
                known = ", ".join(m.value for m in Modality)
                raise QueryError(f"unknown modality '{part}'. Use one of: {known} (comma-separated).") from None
    return out or None


class Engine:
    """Index, search and answer over one index. Use ``mmrag.open``."""

    def __init__(self, config: Config, store: VectorStore, meta: dict[str, Any] | None) -> None:
        self.config = config
        self.store = store
        self._meta = meta
        self._space: Space | None = None
        self._samples = BackgroundSamples(size=config.search.calibration_sample)
        self._embed_lock = threading.Lock()  # fast tokenizers are not safe to call from two threads at once
        self._refresh_lock = threading.Lock()
        self._stamp = self._disk_stamp()
        self._writing = False  # this engine holds the writer lock: its own view is the latest
        self._relevance: Any = _UNSET  # RelevanceModel | None once loaded (retrieve/relevance.py)
        self._query_cache: Any = None  # QueryCache once used (querycache.py)
        self._feedback: Any = None  # FeedbackLog once used (feedback.py)
        self._generation = 0  # bumped after every write and re-read of the index (``result_version``)
        self._writable(False)

    # ------------------------------------------------------------------ open
    @classmethod
    def open(cls, location: str | Path | None = None, config: Config | None = None, *, create: bool = True) -> Engine:
        cfg = config or load_config()
        if location is not None:
            cfg = dataclasses.replace(cfg, index=str(location))
        store = open_store(cfg.index, None, cfg)
        meta = store.read_meta()
        if meta is None:
            if not create:
                store.close()
                raise MmragError(
                    f"no mmrag index at {cfg.index}. Create one with: mmrag add PATH --index {cfg.index}"
                )
            return cls(cfg, store, None)
        requested = cfg.space.name
        stored_name = meta.get("space_config", {}).get("name")
        if requested not in ("auto", "") and requested != stored_name:
            store.close()
            stored = SpaceSpec.from_dict(meta["space"])
            raise SpaceMismatch(
                f"the index at {cfg.index} was built with space '{stored_name}' "
                f"(dim {stored.dim}, encoders {dict(stored.encoders)}), but space '{requested}' was asked for. "
                f"Open it without --space (it remembers its own), or build a new index for the new space."
            )
        return cls(cfg, store, meta)

    # ----------------------------------------------------------------- space
    @property
    def exists(self) -> bool:
        return self._meta is not None

    @property
    def space(self) -> Space:
        """The index's space, built on first use (loads models)."""
        if self._space is None:
            self._space = self._build_space()
        return self._space

    def _space_config(self) -> Config:
        """The config that rebuilds this index's space: what the index recorded,
        except where the user set a value explicitly (then the spec check decides)."""
        cfg = self.config
        if self._meta is None:
            return cfg
        stored = dict(self._meta.get("space_config", {}))
        if not stored.get("audio_model"):  # built before a sound tower shipped: it has none, and keeps none
            stored["audio_model"] = "off"
        unset = {"name": cfg.space.name in ("auto", "")}
        unset.update({k: getattr(cfg.space, k) is None for k in SPACE_KEYS if k != "name"})
        merged = {k: v for k, v in stored.items() if k in SPACE_KEYS and unset.get(k)}
        return dataclasses.replace(cfg, space=dataclasses.replace(cfg.space, **merged))

    def _build_space(self) -> Space:
        from mmrag import registry

        cfg = self._space_config()
        factory = registry.resolve("space", cfg.space.name)
        space: Space = factory(cfg)
        if self._meta is not None:
            stored = SpaceSpec.from_dict(self._meta["space"])
            space.spec.check_compatible(stored, self.config.index)
        else:
            self._create(space)
        self._samples.references = space.references()
        self._samples.labels = space.label_references()
        self._samples.invalidate()
        return space

    def _create(self, space: Space) -> None:
        self.store.close()
        self.store = open_store(self.config.index, space.dim, self.config)
        self._writable(self._writing)
        space_config = {
            "name": space.name,
            "model": self.config.space.model,
            "image_model": self.config.space.image_model,
            "audio_model": self.config.space.audio_model,
        }
        space_config.update({k: v for k, v in space.extra.get("space_config", {}).items() if k in SPACE_KEYS})
        meta = {
            "format": FORMAT_VERSION,
            "space": space.spec.to_dict(),
            "space_config": space_config,
            "created_at": time.time(),
            READERS_KEY: READERS,  # what today's readers write (ingest/readers.py)
        }
        self.store.write_meta(meta)
        self._meta = meta

    # ------------------------------------------------------------------- add
    def add(
        self,
        paths: Iterable[str | Path],
        *,
        progress: Callable[[AddEvent], None] | None = None,
        exclude: Sequence[str] = (),
    ) -> AddReport:
        """Index files and folders. Unchanged files are skipped (content hash);
        changed files replace their old segments; unreadable files are reported
        in ``AddReport.failed`` and the rest lands. Ctrl-C stops after the last
        complete file (``AddReport.interrupted``). ``exclude``: gitignore-style
        patterns left out of the folders walked, beside ``[ingest] exclude``."""
        config = self.config
        if exclude:
            ingest = dataclasses.replace(config.ingest, exclude=(*config.ingest.exclude, *exclude))
            config = dataclasses.replace(config, ingest=ingest)
        with WriterLock(self.config.index, "add"):
            self.refresh()
            self._writing = True
            self._writable(True)
            try:
                stats = StatCache(stat_cache_path(self.config.index))
                ingestor = Ingestor(config, self.space, self.store, exclude=index_files(self.config.index), stats=stats)
                report = ingestor.run(paths, progress=progress)
                if report.added or report.replaced:
                    self._refresh_text_index()
                if config.ingest.reindex and not report.interrupted:  # read again as asked: today's readers made it
                    self._stamp_readers()
                getattr(self.store, "flush", lambda: None)()  # a writer persists its ANN state (even after a recovery)
            finally:
                self._samples.invalidate()
                self._writable(False)
                self._stamp = self._disk_stamp()
                self._writing = False
                self._generation += 1
            self._meta = self.store.read_meta() or self._meta  # record files add their fields' types
        return report

    def _stamp_readers(self) -> None:
        """Record that today's readers made the index (``ingest/readers.py``), once an ``add --reindex`` has read
        its files again."""
        meta = self.store.read_meta()
        if meta is not None and readers_of(meta) < READERS:
            self.store.write_meta({**meta, READERS_KEY: READERS})

    def reindex_tip(self) -> str | None:
        """What to tell the user when older readers made this index (``readers.reindex_tip``), else ``None``."""
        if self._meta is None or readers_of(self._meta) >= READERS:
            return None
        return reindex_tip(self._meta, self.store.count(f"modality = {quote(Modality.TEXT.value)}") > 0)

    # ---------------------------------------------------------------- remove
    def remove(self, paths: Iterable[str | Path]) -> list[str]:
        """Remove sources (files, or every source under a folder). Returns removed sources."""
        with WriterLock(self.config.index, "remove"):
            self.refresh()
            self._writing = True
            self._writable(True)
            try:
                removed = self._remove(paths)
                if removed:
                    self._refresh_text_index()
            finally:
                self._writable(False)
                self._stamp = self._disk_stamp()
                self._writing = False
                self._generation += 1
        return removed

    def _remove(self, paths: Iterable[str | Path]) -> list[str]:
        known = {s.source for s in self.store.sources()}
        removed: list[str] = []
        for raw in paths:
            target = str(Path(raw).expanduser().resolve()) if not str(raw).startswith(("http://", "https://")) else str(raw)
            matches = [s for s in known if s == target or s.startswith(target.rstrip("/") + "/")]
            if not matches and str(raw) in known:
                matches = [str(raw)]
            for source in sorted(matches):
                self.store.delete(f"source = {quote(source)}")
                removed.append(source)
                known.discard(source)
        if removed:
            self._samples.invalidate()
            forget_records(self.store, removed)
            self._meta = self.store.read_meta() or self._meta
        return removed

    # ---------------------------------------------------------------- fields
    def fields(self) -> dict[str, str]:
        """Record fields the index holds and their types (``number``, ``text``, ``date`` ...)."""
        return known_fields(self._meta)

    # ---------------------------------------------------------------- search
    def embed_query(
        self,
        text: str | None = None,
        *,
        image: Any = None,
        audio: str | Path | None = None,
        weights: Mapping[str, float] | None = None,
    ) -> Query:
        """Turn a text, image (path or PIL image) and/or audio file into query vectors.

        ``weights`` (``{"text": 0.3, "image": 0.7}``) composes the parts into one vector;
        ``-word`` in the text is a negative term (see ``query.py``)."""
        from mmrag.query import build_query

        space = self.space
        cache = self.query_cache()
        with self._embed_lock:
            return build_query(space, self.config, text=text, image=image, audio=audio, cache=cache, weights=weights)

    def query_cache(self) -> Any:
        """The query-embedding cache of this index (``None`` when ``search.query_cache`` is off)."""
        if not self.config.search.query_cache:
            return None
        if self._query_cache is None:
            from mmrag.querycache import QueryCache
            from mmrag.sidecars import sidecar_path

            self._query_cache = QueryCache(sidecar_path(self.config.index, "mmrag-query-cache.sqlite"), self.space.spec)
        return self._query_cache

    def relevance_model(self) -> Any:
        """The fitted relevance model for this index's space (``None`` if there is none): the index's
        own ``mmrag-relevance.json`` (``mmrag calibrate``) or the default shipped for the space."""
        if self._relevance is _UNSET:
            from mmrag.calibration import load_relevance

            spec = SpaceSpec.from_dict(self._meta["space"]) if self._meta else None
            self._relevance = load_relevance(self.config.index, dict(spec.encoders) if spec else {})
        return self._relevance

    def feedback(self, query: Any, *, right: Iterable[Any] = (), wrong: Iterable[Any] = ()) -> int:
        """Record that hits (``Hit``s, segment ids or files) were right or wrong for ``query``;
        later similar queries are re-ranked by it. Returns how many judgements were recorded."""
        from mmrag.feedback import record

        return record(self, query, right=right, wrong=wrong)

    def feedback_log(self) -> Any:
        """Recorded right/wrong judgements of hits (``feedback.py``)."""
        if self._feedback is None:
            from mmrag.feedback import FeedbackLog
            from mmrag.sidecars import sidecar_path

            self._feedback = FeedbackLog(sidecar_path(self.config.index, "mmrag-feedback.jsonl"))
        return self._feedback

    def search(
        self,
        text: str | None = None,
        *,
        image: Any = None,
        audio: str | Path | None = None,
        k: int | None = None,
        modality: str | Sequence[str] | None = None,
        where: str | None = None,
        query: Query | None = None,
        weights: Mapping[str, float] | None = None,
        min_relevance: float | None = None,
        per_source: int | None = None,
        diversify: bool | None = None,
        feedback: bool | str = True,
    ) -> list[Hit]:
        """Search across modalities; see ``retrieve.search`` for how lists are fused.

        ``min_relevance`` drops hits less likely than that to be right (needs a relevance model:
        ``mmrag calibrate``); ``per_source`` caps hits per file; ``diversify=False`` keeps
        near-duplicates; ``feedback=False`` ignores recorded feedback, a mode (``"prior"``, ``"rocchio"``,
        ``"both"``) overrides ``search.feedback``."""
        self.refresh()
        if self._meta is None:
            raise MmragError(f"the index at {self.config.index} is empty. Add files first: mmrag add PATH")
        where = check_where(where, self.fields())  # bare field names -> fields.NAME, types checked
        q = query or self.embed_query(text, image=image, audio=audio, weights=weights)
        channels = [c.value for c in self.space.channels]
        cfg = self.config.search
        cfg = dataclasses.replace(
            cfg,
            per_source=cfg.per_source if per_source is None else per_source,
            diversify=cfg.diversify if diversify is None else diversify,
        )
        threshold = cfg.min_relevance if min_relevance is None else min_relevance
        model = self.relevance_model()
        if threshold > 0 and model is None:
            raise QueryError(
                f"--min-relevance needs a relevance model for this index's space, and {self.config.index} has none. "
                "Fit one from labelled queries: mmrag calibrate QUERIES.jsonl (see docs/relevance.md)."
            )
        prior = steer = None
        mode = cfg.feedback if feedback is True else str(feedback or "off")
        if mode != "off" and self._meta is not None:
            from mmrag.feedback import MODES, feedback_prior, feedback_steer

            if mode not in MODES:
                raise QueryError(f"search.feedback = {mode!r} is not a feedback mode: use one of {', '.join(MODES)}")
            log = self.feedback_log()
            log.version()  # judgements another process recorded since are read in
            if mode in ("prior", "both"):
                prior = feedback_prior(log, q)
            store = self.store
            if mode in ("rocchio", "both") and callable(getattr(store, "vectors", None)):
                steer = feedback_steer(log, q, lambda ids: self._samples.stored(store, ids), channels)
        return search(
            self.store,
            q,
            channels=channels,
            k=k or cfg.k,
            config=cfg,
            modalities=_parse_modalities(modality),
            where=where,
            samples=self._samples,
            channel_weights=self.space.extra.get("channel_weights"),
            relevance=model,
            min_relevance=threshold,
            prior=prior,
            steer=steer,
        )

    # ------------------------------------------------------------------- ask
    def ask(
        self,
        question: str | None = None,
        *,
        image: Any = None,
        audio: str | Path | None = None,
        k: int | None = None,
        modality: str | Sequence[str] | None = None,
        where: str | None = None,
        stream: Callable[[str], None] | None = None,
        min_relevance: float | None = None,
    ) -> Answer:
        """Retrieve, build a numbered prompt, generate an answer with citations; abstain when no hit
        is at least ``min_relevance`` likely to be right (default ``search.ask_min_relevance``)."""
        from mmrag.answer import answer_question

        return answer_question(
            self, question, image=image, audio=audio, k=k, modality=modality, where=where, stream=stream,
            min_relevance=min_relevance,
        )

    # ------------------------------------------------------- other writers
    def _writable(self, flag: bool) -> None:
        """Only the lock holder may commit to the store (e.g. full-text index upkeep)."""
        if hasattr(self.store, "read_only"):
            self.store.read_only = not flag  # type: ignore[attr-defined]

    def _disk_stamp(self) -> Any:
        return index_stamp(self.config.index)

    def _refresh_text_index(self) -> None:
        upkeep = getattr(self.store, "refresh_text_index", None)
        if callable(upkeep):
            upkeep()

    def refresh(self) -> bool:
        """Catch up with writes another process committed since this engine read the
        index (a long-lived reader such as ``mmrag serve``). Cheap when nothing
        changed (one ``stat``). Returns whether the index was re-read."""
        stamp = self._disk_stamp()
        if stamp is None or stamp == self._stamp or self._writing:
            return False
        with self._refresh_lock:
            stamp = self._disk_stamp()
            if stamp == self._stamp:
                return False
            fresh = open_store(self.config.index, None, self.config)
            if hasattr(fresh, "read_only"):
                fresh.read_only = True  # type: ignore[attr-defined]
            self.store = fresh  # searches already running finish on the old, consistent view
            self._stamp = stamp
            meta = fresh.read_meta()
            if meta is not None and self._meta is None:
                self._meta = meta
            self._samples.invalidate()
            self._generation += 1
        return True

    def result_version(self) -> tuple[Any, ...] | None:
        """What search results depend on besides the request: the index's committed state on disk
        (``index_stamp``: a new manifest, a rewritten ``mmrag.json``), this engine's writes and re-reads
        (``add``/``remove``/``refresh``), and the feedback log's state. Equal versions and equal requests
        give equal results: a result cache keys on it. ``None`` where the index has no stamp (Milvus: other
        writers are not seen by a ``stat``), so nothing may be cached there, and also between another
        process's write and the search that re-reads the index (``refresh``): the server calls this on its
        event loop, where re-opening a store must not run."""
        stamp = self._disk_stamp()
        if stamp is None:
            return None
        if stamp != self._stamp and not self._writing:
            return None  # another process wrote: the next search re-reads the index (in its worker, not here)
        fb = self.feedback_log().version() if self.config.search.feedback != "off" else None
        return (stamp, self._generation, fb)

    # ------------------------------------------------------------ inspection
    def segment(self, segment_id: str) -> Hit | None:
        """The indexed segment with this id (no score), or ``None``."""
        import numpy as np

        self.refresh()
        if self._meta is None:
            return None
        dim = int(SpaceSpec.from_dict(self._meta["space"]).dim)
        probe = np.full(dim, 1.0 / np.sqrt(dim), dtype=np.float32)
        found = self.store.search(probe, 1, where=f"segment_id = {quote(segment_id)}")
        return found[0].row.to_hit(0.0, {}) if found else None

    def sources(self) -> list[SourceInfo]:
        self.refresh()
        return sorted(self.store.sources(), key=lambda s: s.source)

    def thumbnail(self, segment_id: str) -> bytes | None:
        return self.store.thumbnail(segment_id)

    def info(self) -> IndexInfo:
        self.refresh()
        spec = SpaceSpec.from_dict(self._meta["space"]) if self._meta else None
        by_modality = {m.value: self.store.count(f"modality = {quote(m.value)}") for m in Modality}
        by_channel = {c.value: self.store.count(f"channel = {quote(c.value)}") for c in Channel}
        return IndexInfo(
            location=self.config.index,
            store=type(self.store).__name__,
            space=spec,
            rows=self.store.count(),
            sources=len(self.store.sources()),
            by_modality={k: v for k, v in by_modality.items() if v},
            by_channel={k: v for k, v in by_channel.items() if v},
            created_at=(self._meta or {}).get("created_at"),
            readers=readers_of(self._meta) if self._meta else READERS,
        )

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open(location: str | Path | None = None, config: Config | None = None, **overrides: Any) -> Engine:
    """Open (or lazily create) the index at ``location``.

    ``overrides`` are dotted config keys with ``__`` for the dot, e.g.
    ``mmrag.open("./idx", space__name="minilm", search__k=20)``.
    """
    cfg = config or load_config()
    if overrides:
        cfg = cfg.with_overrides({k.replace("__", "."): v for k, v in overrides.items()})
    return Engine.open(location, cfg)


__all__ = ["Engine", "IndexInfo", "open"]
