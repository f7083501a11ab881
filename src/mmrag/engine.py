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
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmrag.config import Config, load_config
from mmrag.errors import MmragError, QueryError, SpaceMismatch
from mmrag.ingest.pipeline import AddEvent, Ingestor
from mmrag.ingest.statcache import StatCache, stat_cache_path
from mmrag.retrieve.search import BackgroundSamples, Query, search
from mmrag.space.base import Space, SpaceSpec
from mmrag.stores import open_store
from mmrag.stores.base import SourceInfo, VectorStore, quote
from mmrag.types import AddReport, Answer, Channel, Hit, Modality

FORMAT_VERSION = 1
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
        stored = self._meta.get("space_config", {})
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
        return space

    def _create(self, space: Space) -> None:
        self.store.close()
        self.store = open_store(self.config.index, space.dim, self.config)
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
        }
        self.store.write_meta(meta)
        self._meta = meta

    # ------------------------------------------------------------------- add
    def add(
        self,
        paths: Iterable[str | Path],
        *,
        progress: Callable[[AddEvent], None] | None = None,
    ) -> AddReport:
        """Index files and folders. Unchanged files are skipped (content hash);
        changed files replace their old segments; unreadable files are reported
        in ``AddReport.failed`` and the rest lands. Ctrl-C stops after the last
        complete file (``AddReport.interrupted``)."""
        stats = StatCache(stat_cache_path(self.config.index))
        ingestor = Ingestor(self.config, self.space, self.store, exclude=self._index_path(), stats=stats)
        report = ingestor.run(paths, progress=progress)
        self._samples.invalidate()
        getattr(self.store, "flush", lambda: None)()  # a writer persists its ANN state (even after a recovery)
        return report

    def _index_path(self) -> Path | None:
        loc = self.config.index
        if loc.startswith(("milvus:", "http://", "https://")):
            return Path(loc[len("milvus:") :]).resolve() if loc.startswith("milvus:") else None
        return Path(loc).expanduser().resolve()

    # ---------------------------------------------------------------- remove
    def remove(self, paths: Iterable[str | Path]) -> list[str]:
        """Remove sources (files, or every source under a folder). Returns removed sources."""
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
        return removed

    # ---------------------------------------------------------------- search
    def embed_query(
        self,
        text: str | None = None,
        *,
        image: Any = None,
        audio: str | Path | None = None,
    ) -> Query:
        """Turn a text, image (path or PIL image) and/or audio file into query vectors."""
        from mmrag.query import build_query

        return build_query(self.space, self.config, text=text, image=image, audio=audio)

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
    ) -> list[Hit]:
        """Search across modalities; see ``retrieve.search`` for how lists are fused."""
        if self._meta is None:
            raise MmragError(f"the index at {self.config.index} is empty. Add files first: mmrag add PATH")
        q = query or self.embed_query(text, image=image, audio=audio)
        channels = [c.value for c in self.space.channels]
        return search(
            self.store,
            q,
            channels=channels,
            k=k or self.config.search.k,
            config=self.config.search,
            modalities=_parse_modalities(modality),
            where=where,
            samples=self._samples,
            channel_weights=self.space.extra.get("channel_weights"),
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
    ) -> Answer:
        """Retrieve, build a numbered prompt, generate an answer with citations."""
        from mmrag.answer import answer_question

        return answer_question(
            self, question, image=image, audio=audio, k=k, modality=modality, where=where, stream=stream
        )

    # ------------------------------------------------------------ inspection
    def sources(self) -> list[SourceInfo]:
        return sorted(self.store.sources(), key=lambda s: s.source)

    def thumbnail(self, segment_id: str) -> bytes | None:
        return self.store.thumbnail(segment_id)

    def info(self) -> IndexInfo:
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
        )

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Engine:
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
