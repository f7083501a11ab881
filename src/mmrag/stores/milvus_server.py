"""A real standalone Milvus server on loopback, for tests, benchmarks and trying the cluster path.

PyPI's ``milvus`` package (2.3.5) ships the same server binary a cluster runs,
in standalone mode with embedded etcd and local storage. ``LocalMilvus``
starts it on free loopback ports, waits until it answers, and stops it by
its own process group (SIGTERM, then SIGKILL after a grace period: the
server often ignores SIGTERM for many seconds). A small watchdog process does
the same if the owner dies without stopping it (``kill -9`` of a test run)::

    with LocalMilvus(tmp_dir) as server:
        store = open_store(server.uri + "#docs", 384)

The package is found in this interpreter, or in the Python named by
``MMRAG_MILVUS_PYTHON`` (a separate virtual environment, should its pins
ever conflict with the client's).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Self

from mmrag.errors import MissingDependency, StoreError

# every listening port the server's config template exposes (milvus 2.3.5)
PORT_KEYS = (
    "proxy_port",
    "etcd_port",
    "root_coord_port",
    "proxy_internal_port",
    "query_coord_port",
    "query_node_port",
    "index_coord_port",
    "index_node_port",
    "data_coord_port",
    "data_node_port",
)


def free_ports(n: int) -> list[int]:
    """``n`` distinct loopback ports that were free a moment ago."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def server_python() -> str:
    """The interpreter that has the ``milvus`` package, or ``MissingDependency``."""
    explicit = os.environ.get("MMRAG_MILVUS_PYTHON")
    if explicit:
        return explicit
    if importlib.util.find_spec("milvus") is None:
        raise MissingDependency("milvus", "dev", "a local Milvus server")
    return sys.executable


# Runs in its own small process: when the owner (the test run, the bench) dies without stopping the
# server (kill -9, a crash), it stops the server's process group, so no server outlives its owner.
WATCHDOG = """
import os, signal, sys, time
owner, group, grace = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
def alive(pid, group=False):
    try:
        (os.killpg if group else os.kill)(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
while alive(owner) and alive(group, True):
    time.sleep(1.0)
if alive(group, True):
    try:
        os.killpg(group, signal.SIGTERM)
        end = time.monotonic() + grace
        while time.monotonic() < end and alive(group, True):
            time.sleep(0.2)
        os.killpg(group, signal.SIGKILL)
    except ProcessLookupError:
        pass
"""


def watch_group(group: int, grace_s: float = 5.0, owner: int | None = None) -> subprocess.Popen[bytes]:
    """Start a watchdog that stops process group ``group`` once ``owner`` (this process) is gone."""
    return subprocess.Popen(
        [sys.executable, "-c", WATCHDOG, str(owner or os.getpid()), str(group), str(grace_s)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )


def _group_alive(proc: subprocess.Popen[bytes]) -> bool:
    proc.poll()  # reap the launcher if it is done; its group may live on in the server
    try:
        os.killpg(proc.pid, 0)
        return True
    except ProcessLookupError:
        return False


class LocalMilvus:
    """One standalone Milvus server process group; see the module docstring."""

    def __init__(self, data_dir: str | Path, grace_s: float = 5.0) -> None:
        self.data_dir = Path(data_dir)
        self.grace_s = grace_s
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._watchdog: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 300.0) -> Self:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        ports = free_ports(len(PORT_KEYS) + 1)
        self.port = ports[0]
        args = [server_python(), "-c", "import milvus; milvus.main()", "--data", str(self.data_dir)]
        for key, port in zip(PORT_KEYS, ports):
            args += ["--" + key.replace("_", "-"), str(port)]
        env = {**os.environ, "ETCD_CONFIG_PATH": str(self._etcd_config(ports[PORT_KEYS.index("etcd_port")], ports[-1]))}
        log = open(self.data_dir / "launcher.log", "wb")  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, env=env
        )
        log.close()
        self._watchdog = watch_group(self.proc.pid, self.grace_s)  # a killed owner leaks no server
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = (self.data_dir / "launcher.log").read_text(errors="replace")[-800:]
                raise StoreError(f"the Milvus server exited at start (status {self.proc.returncode}): {tail}")
            if self._answers():
                return self
            time.sleep(0.5)
        self.stop()
        raise StoreError(f"the Milvus server did not answer on port {self.port} within {timeout_s:.0f} s.")

    def _etcd_config(self, client_port: int, peer_port: int) -> Path:
        """The embedded etcd's own config (read through ``ETCD_CONFIG_PATH``): its client port, and its peer
        port, which the package's template leaves at etcd's fixed default 2380, so a second server on the
        machine (a test run beside a bench) failed to start ("bind: address already in use")."""
        client, peer = f"http://127.0.0.1:{client_port}", f"http://127.0.0.1:{peer_port}"
        path = self.data_dir / "embedEtcd.yaml"
        path.write_text(
            f"listen-client-urls: {client}\nadvertise-client-urls: {client}\n"
            f"listen-peer-urls: {peer}\ninitial-advertise-peer-urls: {peer}\ninitial-cluster: default={peer}\n"
            "quota-backend-bytes: 4294967296\nauto-compaction-mode: revision\nauto-compaction-retention: '1000'\n"
        )
        return path

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                pass
        except OSError:
            return False
        try:
            from pymilvus import MilvusClient

            client = MilvusClient(uri=self.uri, timeout=5)
            client.list_collections()
            client.close()
            return True
        except Exception:  # noqa: BLE001 - not ready yet (any client error)
            return False

    def stop(self) -> None:
        """SIGTERM the server's process group, SIGKILL it after ``grace_s``."""
        proc, self.proc = self.proc, None
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:
            watchdog.kill()
            watchdog.wait(timeout=10)
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + self.grace_s
            while time.monotonic() < deadline and _group_alive(proc):
                time.sleep(0.2)
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)

    def free_disk(self) -> None:
        """Remove a stopped server's unpacked binaries and its data (~0.5 GB: the package unpacks its
        binaries into every data folder; etcd and the message queue preallocate); the logs stay. A server
        that still runs is left alone."""
        if self.proc is not None:
            return
        for part in ("bin", "data"):
            shutil.rmtree(self.data_dir / part, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start() if self.proc is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["LocalMilvus", "free_ports", "server_python", "watch_group"]
