"""``mmrag migrate``: a LanceDB index copied into Milvus (Lite and a real server) answers the same."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from mmrag.cli import app
from mmrag.errors import IndexError_
from mmrag.migrate import migrate
from mmrag.stores import open_store
from mmrag.stores.base import Row

from .test_conformance import DIM, THUMB, make_rows

pytest.importorskip("pymilvus")


def _lance_index(path: Path, n: int = 45) -> list:
    rows = make_rows(n)
    rows[8] = Row(**{**rows[8].__dict__, "heard": "a toucan"})  # a recogniser's alternatives travel too
    store = open_store(str(path), DIM)
    store.upsert(rows)
    store.write_meta({"space": {"dim": DIM, "name": "t"}, "format": 1})
    store.close()
    return rows


def _same_answers(src: str, dst: str, rows: list) -> None:
    a, b = open_store(src, None), open_store(dst, None)
    try:
        assert b.dim == DIM and b.count() == a.count() == len(rows)
        assert b.read_meta() == a.read_meta()
        assert [(s.source, s.rows, s.source_hash) for s in b.sources()] == [
            (s.source, s.rows, s.source_hash) for s in a.sources()
        ]
        for q in (rows[3].vector, rows[10].vector):
            want = [(s.row.id, round(s.score, 4)) for s in a.search(q, 5)]
            assert [(s.row.id, round(s.score, 4)) for s in b.search(q, 5)] == want
        assert b.thumbnail("seg0") == THUMB
        assert b.text_search("zebra", 1)[0].row.id == rows[7].id
        assert [s.row.id for s in b.text_search("toucan", 3)] == [rows[8].id]
        assert np.allclose(np.sort(b.sample_vectors("text", 100), axis=0), np.sort(a.sample_vectors("text", 100), axis=0))
    finally:
        a.close()
        b.close()


def test_migrate_lance_to_milvus_lite(tmp_path: Path) -> None:
    rows = _lance_index(tmp_path / "lance")
    seen: list[tuple[int, int]] = []
    report = migrate(str(tmp_path / "lance"), f"milvus:{tmp_path / 'm.db'}#moved", progress=lambda d, t: seen.append((d, t)), batch=20)
    assert report.rows == 45 and sum(report.by_channel.values()) == 45
    assert seen == [(20, 45), (40, 45), (45, 45)]
    _same_answers(str(tmp_path / "lance"), f"milvus:{tmp_path / 'm.db'}#moved", rows)
    with pytest.raises(IndexError_, match="already holds"):
        migrate(str(tmp_path / "lance"), f"milvus:{tmp_path / 'm.db'}#moved")
    with pytest.raises(IndexError_, match="no mmrag index"):
        migrate(str(tmp_path / "nothing"), f"milvus:{tmp_path / 'm.db'}#other")


def test_migrate_lance_to_a_milvus_server(tmp_path: Path, milvus_server: str) -> None:
    rows = _lance_index(tmp_path / "lance")
    report = migrate(str(tmp_path / "lance"), f"{milvus_server}#moved")
    assert report.rows == 45
    _same_answers(str(tmp_path / "lance"), f"{milvus_server}#moved", rows)


def test_migrate_command_on_a_real_index(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "train.txt").write_text("The night train to Vienna leaves at 22:10 from platform 4.", encoding="utf-8")
    (notes / "garden.md").write_text("Tomatoes need full sun and deep watering.", encoding="utf-8")
    env = {"MMRAG_SPACE_NAME": "minilm", "COLUMNS": "200"}
    runner = CliRunner()
    src, dst = str(tmp_path / "idx"), f"milvus:{tmp_path / 'moved.db'}"
    assert runner.invoke(app, ["add", str(notes), "--index", src], env=env).exit_code == 0
    res = runner.invoke(app, ["migrate", src, dst], env=env)
    assert res.exit_code == 0, res.output
    assert "migrated 2 row(s)" in res.stdout and "migrating: 2/2 rows (100%)" in res.stderr
    res = runner.invoke(app, ["search", "sleeper to Austria", "--index", dst, "--json", "-k", "1"], env=env)
    assert res.exit_code == 0 and Path(json.loads(res.stdout)["hits"][0]["source"]).name == "train.txt"
    res = runner.invoke(app, ["migrate", src, dst], env=env)
    assert res.exit_code == 2 and "already holds" in res.stderr


def test_migrate_milvus_lite_back_to_lance(tmp_path: Path) -> None:
    """The other way: every row of a Milvus index (paged reads of its rows collection) lands in LanceDB."""
    rows = _lance_index(tmp_path / "lance")
    lite = f"milvus:{tmp_path / 'm.db'}#there"
    migrate(str(tmp_path / "lance"), lite)
    report = migrate(lite, str(tmp_path / "back"), batch=20)
    assert report.rows == 45
    _same_answers(lite, str(tmp_path / "back"), rows)
