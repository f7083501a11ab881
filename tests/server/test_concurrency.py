"""One writer at a time, readers never blocked, and a long-lived server sees what other writers add."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from tests.server.conftest import TOKEN, Corpus, Server, _env, cli, first_by_source

from mmrag.errors import IndexLocked

HOLD = "import sys, time; from mmrag.lock import WriterLock; WriterLock(sys.argv[1], 'test hold').acquire(); print('held', flush=True); time.sleep(120)"


def test_second_writer_gets_a_clear_error_and_a_dead_holder_is_taken_over(server: Server, corpus: Corpus) -> None:
    import mmrag

    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(server.index)], stdout=subprocess.PIPE, text=True, env=_env())
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        engine = mmrag.open(str(server.index))
        with pytest.raises(IndexLocked) as err:
            engine.add([corpus.note])
        assert err.value.pid == holder.pid
        message = str(err.value)
        assert f"process {holder.pid}" in message and "wait for it to finish" in message and f"kill {holder.pid}" in message
        with pytest.raises(IndexLocked):
            engine.remove([corpus.note])
        # over HTTP: 409 naming the holder, while reads go on
        r = httpx.post(server.url + "/add", data={"path": str(corpus.note)}, headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 409 and r.json()["holder_pid"] == holder.pid
        s = httpx.post(server.url + "/search", data={"q": "a tabby cat", "k": "3"})
        assert s.status_code == 200 and s.json()["hits"][0]["source"] == str(corpus.cat)
        # the CLI: exit status 2 and the same message
        env = {**_env(), "MMRAG_NO_SERVER": "1"}
        done = cli("remove", str(corpus.note), "--index", str(server.index), env=env)
        assert done.returncode == 2 and f"process {holder.pid}" in done.stderr
        # the holder dies without cleaning up: its lock is stale and the next writer takes it over
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
        assert engine.remove([str(corpus.root / "never-indexed.txt")]) == []
        engine.close()
    finally:
        if holder.poll() is None:
            holder.kill()


def test_readers_keep_working_while_another_process_adds(server: Server, corpus: Corpus, tmp_path: Path) -> None:
    new = tmp_path / "new-notes"
    new.mkdir()
    for i in range(6):
        (new / f"note{i}.md").write_text(f"# Trip {i}\n\nOn day {i} the caravan crossed the salt desert of Uyuni number {i}.\n")
    statuses: list[int] = []
    cat_first: list[bool] = []
    stop = threading.Event()

    def reader() -> None:
        with httpx.Client(base_url=server.url, timeout=60) as c:
            while not stop.is_set():
                r = c.post("/search", data={"q": "a tabby cat", "k": "3"})
                statuses.append(r.status_code)
                if r.status_code == 200:
                    cat_first.append(r.json()["hits"][0]["source"] == str(corpus.cat))
                s = c.post("/search", data={"q": "caravan crossed the salt desert", "k": "3"})
                statuses.append(s.status_code)
                time.sleep(0.05)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        env = {**_env(), "MMRAG_NO_SERVER": "1"}
        done = cli("add", str(new), "--index", str(server.index), env=env)  # a separate writer process
    finally:
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert statuses and set(statuses) == {200}, sorted(set(statuses))
    assert cat_first and all(cat_first)
    # the server catches up with the other process's commits without a restart
    hits = httpx.post(server.url + "/search", data={"q": "caravan crossed the salt desert Uyuni", "k": "6"}).json()["hits"]
    assert first_by_source(hits, new / "note0.md") >= 0 or hits[0]["source"].startswith(str(new))
    sources = {s["source"] for s in httpx.get(server.url + "/sources").json()}
    assert {str(new / f"note{i}.md") for i in range(6)} <= sources
