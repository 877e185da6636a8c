"""The Ray watchdog's record: orphans of a killed tree are still found, a reused pid is not."""
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devise.engines import ray_watchdog

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="the watchdog reads /proc (Linux)")

# A parent that starts a grandchild ignoring SIGTERM (like Ray's agents), then waits.
TREE = (
    "import subprocess, sys, time\n"
    "subprocess.Popen([sys.executable, '-c', 'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "time.sleep(120)'])\n"
    "time.sleep(120)\n"
)


def _wait_for(predicate, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _kill(*pids):
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def test_orphans_of_a_killed_root_are_leftovers():
    root, orphan = subprocess.Popen([sys.executable, "-c", TREE]), None
    try:
        assert _wait_for(lambda: ray_watchdog.children_of(root.pid))
        record = ray_watchdog.Record([root.pid])
        record.look()
        (orphan,) = ray_watchdog.children_of(root.pid)
        os.kill(root.pid, signal.SIGKILL)
        root.wait()
        assert _wait_for(lambda: root.pid not in ray_watchdog.tree_of([root.pid]))
        assert orphan not in ray_watchdog.tree_of([root.pid])  # no longer below the root: only the record knows it
        assert record.leftovers("no-such-node") == [orphan]
    finally:
        _kill(root.pid, *([orphan] if orphan else []))


def test_a_reused_pid_is_not_a_leftover():
    record = ray_watchdog.Record([])
    record.seen = {os.getpid(): 1}  # this pid, but with another start time: some earlier process
    assert os.getpid() not in record.leftovers("no-such-node")
    record.seen = ray_watchdog.tree_of([os.getpid()])
    assert os.getpid() not in record.leftovers("no-such-node")  # never itself


def test_the_watchdog_kills_what_it_recorded_when_its_pipe_closes():
    root, orphan = subprocess.Popen([sys.executable, "-c", TREE]), None
    try:
        assert _wait_for(lambda: ray_watchdog.children_of(root.pid))
        (orphan,) = ray_watchdog.children_of(root.pid)
        watchdog = subprocess.Popen([sys.executable, "-m", "devise.engines.ray_watchdog", "no-such-node", str(root.pid)],
                                    stdin=subprocess.PIPE)
        time.sleep(1.0)  # let it look at the tree at least once
        os.kill(root.pid, signal.SIGKILL)
        root.wait()
        watchdog.stdin.close()
        watchdog.wait(timeout=30)
        assert _wait_for(lambda: ray_watchdog.tree_of([orphan]) == {})
    finally:
        _kill(root.pid, *([orphan] if orphan else []))
