"""One rule for where an index's side files live (lock, stat cache, discovery, sidecars)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmrag.index_paths import index_files, local_index, side_file
from mmrag.ingest.statcache import FILE_NAME as STATS
from mmrag.ingest.statcache import stat_cache_path
from mmrag.lock import LOCK_NAME, lock_path
from mmrag.server.discovery import FILE_NAME as DISCOVERY
from mmrag.server.discovery import discovery_path
from mmrag.sidecars import sidecar_path


@pytest.mark.parametrize("prefix", ["", "lance:", "lance://"])
def test_a_lance_folder_keeps_side_files_inside(tmp_path: Path, prefix: str) -> None:
    loc = prefix + str(tmp_path / "idx")
    root = (tmp_path / "idx").resolve()
    assert local_index(loc) == root
    assert lock_path(loc) == root / LOCK_NAME
    assert stat_cache_path(loc) == root / STATS
    assert discovery_path(loc) == root / DISCOVERY
    assert sidecar_path(loc, "mmrag-feedback.jsonl") == root / "mmrag-feedback.jsonl"
    assert index_files(loc) == [root]


@pytest.mark.parametrize("loc", ["{d}/x.db", "milvus:{d}/x.db"])
def test_a_milvus_lite_file_keeps_side_files_beside_it_whatever_its_spelling(tmp_path: Path, loc: str) -> None:
    loc = loc.format(d=tmp_path)
    db = (tmp_path / "x.db").resolve()
    assert local_index(loc) == db
    # the old code put the lock of "x.db" at x.db/writer.lock: a folder where Milvus Lite wants its file
    assert lock_path(loc) == tmp_path.resolve() / f"x.db.{LOCK_NAME}"
    assert stat_cache_path(loc) == tmp_path.resolve() / f"x.db.{STATS}"
    assert discovery_path(loc) == tmp_path.resolve() / f"x.db.{DISCOVERY}"


def test_a_collection_gets_its_own_side_files(tmp_path: Path) -> None:
    assert side_file(f"{tmp_path}/x.db#shop", "writer.lock") == tmp_path.resolve() / "x.db.shop.writer.lock"
    assert side_file(f"milvus:{tmp_path}/x.db#shop", STATS) == tmp_path.resolve() / f"x.db.shop.{STATS}"


@pytest.mark.parametrize("loc", ["http://localhost:19530", "https://milvus.example:443", "milvus://host:19530"])
def test_a_server_has_no_local_files(loc: str) -> None:
    assert local_index(loc) is None
    assert side_file(loc, LOCK_NAME) is None and lock_path(loc) is None and stat_cache_path(loc) is None
    assert index_files(loc) == []


def test_index_files_of_a_lite_index_are_its_file_and_everything_named_after_it(tmp_path: Path) -> None:
    for name in ("x.db", "x.db.writer.lock", "x.db.shop.mmrag-stats.json", "x.dbz.txt", "notes.md"):
        (tmp_path / name).write_text("x")
    found = {p.name for p in index_files(str(tmp_path / "x.db"))}
    assert found == {"x.db", "x.db.writer.lock", "x.db.shop.mmrag-stats.json"}


# -- one rule for a '#' ---------------------------------------------------------------------------
# The stores, the change stamp, the writer lock and the server's identity all read a location through
# index_paths.parse_location. Before, lock.index_stamp and stores.store_kind split on the FIRST '#', the
# Milvus store on the LAST, so "d/a#b/x.db#shop" was one file to the store and another to the lock.


def _readers(loc: str) -> dict[str, object]:
    from mmrag.errors import StoreError
    from mmrag.lock import index_stamp
    from mmrag.server.discovery import index_identity
    from mmrag.stores import store_kind
    from mmrag.stores.lance_table import lance_path
    from mmrag.stores.milvus_schema import milvus_address

    def attempt(fn: object) -> object:
        try:
            return fn()  # type: ignore[operator]
        except StoreError:
            return "StoreError"

    return {
        "kind": store_kind(loc),
        "stamp": index_stamp(loc),
        "lance_path": attempt(lambda: lance_path(loc)),
        "identity": index_identity(loc),
        "milvus": attempt(lambda: milvus_address(loc)),
        "local": local_index(loc),
        "lock": lock_path(loc),
    }


@pytest.mark.parametrize("prefix", ["", "milvus:"])
def test_a_milvus_lite_location_with_hashes_reads_the_same_everywhere(tmp_path: Path, prefix: str) -> None:
    d = tmp_path / "a#b"
    loc = f"{prefix}{d}/x.db#shop"
    got = _readers(loc)
    db = d.resolve() / "x.db"
    assert got == {
        "kind": "milvus",
        "stamp": None,
        "lance_path": "StoreError",
        "identity": f"milvus:{db}#shop",
        "milvus": (f"{d}/x.db", "shop"),
        "local": db,
        "lock": d.resolve() / f"x.db.shop.{LOCK_NAME}",
    }


def test_a_hash_in_a_folder_name_is_part_of_the_path(tmp_path: Path) -> None:
    d = tmp_path / "a#b"
    lite = _readers(f"{d}/x.db")  # no collection: the '#' is followed by a '/'
    assert (lite["kind"], lite["milvus"], lite["local"]) == ("milvus", (f"{d}/x.db", "mmrag"), d.resolve() / "x.db")
    assert lite["identity"] == f"milvus:{d.resolve()}/x.db"
    assert lite["lock"] == d.resolve() / f"x.db.{LOCK_NAME}"
    # a LanceDB folder named with a '#': every reader keeps the whole name (there is no collection)
    for loc in (f"{tmp_path}/my#idx", f"lance:{tmp_path}/my#idx", f"{d}/idx.db#x/more"):
        got = _readers(loc)
        root = Path(loc.removeprefix("lance:")).resolve()
        assert (got["kind"], got["lance_path"], got["milvus"]) == ("lance", Path(root), "StoreError")
        assert (got["identity"], got["local"], got["lock"]) == (str(root), root, root / LOCK_NAME)


def test_the_change_stamp_watches_the_folder_the_store_opens(tmp_path: Path) -> None:
    from mmrag.lock import index_stamp

    root = tmp_path / "my#idx"
    before = index_stamp(str(root))
    root.mkdir()
    (root / "mmrag.json").write_text("{}")
    after = index_stamp(f"lance:{root}")
    assert before == (0, 0) and after is not None and after[1] == (root / "mmrag.json").stat().st_mtime_ns


def test_a_server_location_keeps_its_collection_after_the_last_hash() -> None:
    for loc in ("milvus://host:19530#team", "http://host:19530#team"):
        got = _readers(loc)
        assert got["kind"] == "milvus" and got["stamp"] is None and got["local"] is None and got["lock"] is None
        assert got["milvus"] == ("http://host:19530", "team") and got["identity"] == "http://host:19530#team"
        assert got["lance_path"] == "StoreError"
    assert _readers("http://host:19530")["identity"] == "http://host:19530"


def test_lance_prefix_wins_over_a_db_ending(tmp_path: Path) -> None:
    got = _readers(f"lance:{tmp_path}/idx.db")
    assert got["kind"] == "lance" and got["lance_path"] == tmp_path / "idx.db" and got["milvus"] == "StoreError"
