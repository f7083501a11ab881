"""The upgrade that drops sources an older mmrag stored under a relative spelling runs until it is done,
then records ``sources_absolute`` in the index meta so later adds skip listing every source. Real engine
(minilm), real LanceDB folder; the one fault injected is a Ctrl-C inside the upgrade's delete."""

from __future__ import annotations

from pathlib import Path

import pytest

import mmrag
from mmrag.config import load_config
from mmrag.ingest.pipeline import ABSOLUTE_SOURCES


def _engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> mmrag.Engine:
    for folder, name, text in (("notes", "a.txt", "Relative and absolute spellings of one file."),
                               ("other", "b.txt", "A second folder with its own note.")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / name).write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    idx = str(tmp_path / "idx")
    return mmrag.Engine.open(idx, load_config({"space.name": "minilm", "index": idx, "ingest.ocr": False}, environ={}))


def as_an_older_mmrag_left_it(eng: mmrag.Engine, absolute: str) -> None:
    """Store the file's rows again under its relative spelling, and no flag (older mmrag wrote none)."""
    from mmrag.stores.base import Row

    vec = eng.embed_query("spellings").vectors["text"]
    old = [Row(**{**vars(r.row), "id": r.row.id + "-old", "source": "notes/a.txt", "vector": vec})
           for r in eng.store.search(vec, 5, f"source = '{absolute}'")]
    assert old
    eng.store.upsert(old)
    meta = eng.store.read_meta() or {}
    eng.store.write_meta({k: v for k, v in meta.items() if k != ABSOLUTE_SOURCES})
    eng.refresh()  # the engine re-reads what was written behind its back (as its next add would)


def _listings(eng: mmrag.Engine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the store's source listings (a spy: the real method answers)."""
    calls: list[int] = []
    real = eng.store.sources

    def counting():  # type: ignore[no-untyped-def]
        calls.append(1)
        return real()

    monkeypatch.setattr(eng.store, "sources", counting)
    return calls


def test_the_flag_is_written_once_nothing_relative_is_left_and_later_adds_skip_the_listing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    eng = _engine(tmp_path, monkeypatch)
    try:
        eng.add(["notes"])
        assert (eng.store.read_meta() or {}).get(ABSOLUTE_SOURCES) is True  # a new index: nothing to upgrade
        listed = _listings(eng, monkeypatch)
        report = eng.add(["other"])
        assert listed == [] and len(report.added) == 1  # the add ran, and never listed every source
        assert sorted(s.source for s in eng.sources()) == [
            str((tmp_path / "notes" / "a.txt").resolve()), str((tmp_path / "other" / "b.txt").resolve())]
    finally:
        eng.close()


@pytest.fixture
def older(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """An engine over an index an older mmrag left: notes/a.txt stored absolute and relative, no flag."""
    eng = _engine(tmp_path, monkeypatch)
    absolute = str((tmp_path / "notes" / "a.txt").resolve())
    try:
        eng.add(["notes"])
        as_an_older_mmrag_left_it(eng, absolute)
        yield eng, absolute
    finally:
        eng.close()


def test_a_relative_copy_outside_this_run_s_folders_keeps_the_upgrade_pending(older) -> None:  # type: ignore[no-untyped-def]
    eng, _ = older
    eng.add(["other"])  # notes/ is not added now: its relative copy stays, and so does the listing
    assert "notes/a.txt" in {s.source for s in eng.sources()}
    assert ABSOLUTE_SOURCES not in (eng.store.read_meta() or {})
    eng.add(["notes"])
    assert "notes/a.txt" not in {s.source for s in eng.sources()}
    assert (eng.store.read_meta() or {}).get(ABSOLUTE_SOURCES) is True


def test_an_interrupted_upgrade_leaves_no_flag_and_runs_again_on_the_next_add(
    older, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    eng, absolute = older
    real_delete = eng.store.delete

    def ctrl_c(where: str) -> int:  # injected fault: the user presses Ctrl-C inside the upgrade
        raise KeyboardInterrupt

    monkeypatch.setattr(eng.store, "delete", ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        eng.add(["notes"])
    monkeypatch.setattr(eng.store, "delete", real_delete)
    assert "notes/a.txt" in {s.source for s in eng.sources()}
    assert ABSOLUTE_SOURCES not in (eng.store.read_meta() or {})  # the flag is written last
    listed = _listings(eng, monkeypatch)
    eng.add(["notes"])
    assert listed == [1]  # the next add listed the sources and finished the upgrade
    assert [s.source for s in eng.sources()] == [absolute]
    assert (eng.store.read_meta() or {}).get(ABSOLUTE_SOURCES) is True
