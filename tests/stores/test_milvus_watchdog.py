"""A server started by a process that is killed (kill -9) does not outlive it: the watchdog stops its group."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

OWNER = """
import subprocess, sys, time
from mmrag.stores.milvus_server import watch_group
server = subprocess.Popen(["sleep", "600"], start_new_session=True)  # stands in for the server's group
watch_group(server.pid, grace_s=1.0)
print(server.pid, flush=True)
time.sleep(600)
"""


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    # a zombie still counts as a member until reaped; its parent (the owner) is gone, so init reaps it
    return True


def test_a_killed_owner_leaves_no_server_group_behind() -> None:
    owner = subprocess.Popen([sys.executable, "-c", OWNER], stdout=subprocess.PIPE, text=True)
    assert owner.stdout is not None
    group = int(owner.stdout.readline())
    assert _group_alive(group)
    time.sleep(1.5)
    assert _group_alive(group)  # the watchdog leaves a group alone while its owner lives
    owner.send_signal(signal.SIGKILL)
    owner.wait(timeout=10)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _group_alive(group):
        time.sleep(0.2)
    alive = _group_alive(group)
    if alive:
        os.killpg(group, signal.SIGKILL)
    assert not alive, "the watchdog did not stop the group of its dead owner"
