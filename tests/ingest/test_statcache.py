"""The quick check: unchanged files (same size and mtime as when indexed) are not read again;
anything doubtful is hashed. Through the real engine (MiniLM space, LanceDB folder / Milvus Lite file)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import mmrag
from mmrag.config import load_config
from mmrag.ingest import sources
from mmrag.ingest.statcache import FILE_NAME, StatCache, stat_cache_path


def test_cache_path_sits_beside_each_kind_of_index(tmp_path: Path) -> None:
    assert stat_cache_path(str(tmp_path / "idx")) == tmp_path / "idx" / FILE_NAME
    assert stat_cache_path(str(tmp_path / "x.db")) == tmp_path / f"x.db.{FILE_NAME}"
    assert stat_cache_path(f"{tmp_path / 'x.db'}#notes") == tmp_path / f"x.db.notes.{FILE_NAME}"
    assert stat_cache_path("http://milvus:19530") is None


def test_cache_round_trips_and_ignores_damage(tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_text("hello")
    st = f.stat()
    cache = StatCache(tmp_path / "s.json")
    cache.record(str(f), st, "h1")
    cache.save()
    assert not list(tmp_path.glob("*.tmp"))
    again = StatCache(tmp_path / "s.json")
    assert again.known_hash(str(f), st) == "h1"
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert again.known_hash(str(f), f.stat()) is None  # touched: not trusted
    for junk in ("{not json", json.dumps({"version": 99, "files": {}}), json.dumps({"version": 1, "files": {"x": 3}}), "[]"):
        (tmp_path / "s.json").write_text(junk)
        assert StatCache(tmp_path / "s.json").known_hash(str(f), st) is None
    StatCache(None).save()  # a remote index: nothing to write, no error


@pytest.fixture()
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every file whose content is hashed."""
    seen: list[str] = []
    real = sources.file_hash

    def counting(path: str | os.PathLike[str]) -> str:
        seen.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(sources, "file_hash", counting)
    return seen


def _notes(folder: Path) -> Path:
    folder.mkdir()
    for name, text in {"a.md": "Magma rises through the crust.", "b.txt": "Feed the sourdough starter.", "c.md": "Glaciers carve valleys."}.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_readd_reads_nothing_unchanged_and_everything_doubtful(tmp_path: Path, counted: list[str]) -> None:
    notes = _notes(tmp_path / "notes")
    eng = mmrag.Engine.open(str(tmp_path / "idx"), load_config({"space.name": "minilm", "index": str(tmp_path / "idx")}, environ={}))
    assert len(eng.add([notes]).added) == 3 and sorted(counted) == ["a.md", "b.txt", "c.md"]
    assert (tmp_path / "idx" / FILE_NAME).is_file()

    counted.clear()
    again = eng.add([notes])
    assert len(again.unchanged) == 3 and counted == []  # not one byte read

    b = notes / "b.txt"
    st = b.stat()
    b.write_text("Feed the sourdough STARTER.", encoding="utf-8")  # same size, new words
    os.utime(b, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    os.utime(notes / "a.md")  # touched only
    counted.clear()
    changed = eng.add([notes])
    assert [Path(s).name for s in changed.replaced] == ["b.txt"]
    assert sorted(counted) == ["a.md", "b.txt"] and [Path(s).name for s in changed.unchanged] == ["a.md", "c.md"]
    counted.clear()
    assert len(eng.add([notes]).unchanged) == 3 and counted == []  # the touched file was re-recorded

    # a forged mtime fools the quick check (as it fools rsync); --rehash reads everything
    c = notes / "c.md"
    st = c.stat()
    c.write_text("Glaciers carve VALLEYS.", encoding="utf-8")  # same size
    os.utime(c, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert eng.add([notes]).replaced == ()
    eng.config = eng.config.with_overrides({"ingest.quick_check": False})
    counted.clear()
    forced = eng.add([notes])
    assert [Path(s).name for s in forced.replaced] == ["c.md"] and len(counted) == 3

    (tmp_path / "idx" / FILE_NAME).write_text("garbage")  # a damaged cache only costs a re-read
    eng.config = eng.config.with_overrides({"ingest.quick_check": True})
    counted.clear()
    assert len(eng.add([notes]).unchanged) == 3 and len(counted) == 3
    eng.close()


def test_milvus_lite_cache_is_never_indexed(tmp_path: Path, counted: list[str]) -> None:
    pytest.importorskip("milvus_lite")
    notes = _notes(tmp_path / "notes")
    index = str(notes / "idx.db")  # the index file sits inside the folder being added
    eng = mmrag.Engine.open(index, load_config({"space.name": "minilm", "index": index}, environ={}))
    eng.add([notes])
    assert (notes / f"idx.db.{FILE_NAME}").is_file()
    counted.clear()
    again = eng.add([notes])
    assert len(again.unchanged) == 3 and counted == [] and not again.added
    assert {Path(s.source).name for s in eng.sources()} == {"a.md", "b.txt", "c.md"}
    eng.close()
