"""`python -m devise.engines.ray_watchdog NODE_ID [ROOT_PID ...]`: wait for the driver to go, then end its local Ray node's leftovers.

Started by engines.ray_runtime with a pipe on stdin. EOF on that pipe means the
driver has shut Ray down or died (even by kill -9). Ray's dashboard and
runtime-env agents can outlive a killed driver for ever: once their raylet is
gone they are orphans that nothing ties to the driver. So, while the pipe is
open, the watchdog keeps a record of the process tree under the roots the
driver passed (the processes `ray.init` started: GCS, raylet), each process
known by pid and start time so a reused pid is never mistaken for it. At EOF
it kills whatever of that record still runs, and every process that carries
this node's RAY_NODE_ID, or one of its raylets' RAY_RAYLET_PID, in its
environment (workers started after the last look). Only that Ray node is
touched, never a Ray the user started. Linux only (/proc); elsewhere it does
nothing.
"""
import os
import select
import signal
import sys
import time
from pathlib import Path

GRACE_S = 2.0  # let Ray's own shutdown finish first
LOOK_EVERY_S = 0.25


def _stat(pid):
    """(parent pid, start time) of a live process, or None when it is gone or a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else (int(fields[1]), int(fields[19]))


def _pids():
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def children_of(parent):
    """PIDs of the live children of process `parent`."""
    return [pid for pid in _pids() if (stat := _stat(pid)) and stat[0] == parent]


def tree_of(roots):
    """{pid: start time} of the live processes in the trees under `roots`, the roots included."""
    stats = {pid: stat for pid in _pids() if (stat := _stat(pid))}
    below = {}
    for pid, (parent, _) in stats.items():
        below.setdefault(parent, []).append(pid)
    found, todo = {}, [pid for pid in roots if pid in stats]
    while todo:
        pid = todo.pop()
        found[pid] = stats[pid][1]
        todo.extend(child for child in below.get(pid, []) if child not in found)
    return found


def is_ray_process(pid):
    """Whether `pid` runs one of Ray's programs (its command line names ray)."""
    try:
        return b"ray" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _tagged(node_id, raylets):
    """PIDs whose environment names this node or one of its raylets."""
    tags = {f"RAY_NODE_ID={node_id}".encode()} | {f"RAY_RAYLET_PID={pid}".encode() for pid in raylets}
    found = []
    for pid in _pids():
        if pid == os.getpid():
            continue
        try:
            if tags.intersection(Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")):
                found.append(pid)
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def _is_raylet(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].endswith(b"/raylet")
    except OSError:
        return False


class Record:
    """The processes seen under the roots (pid: start time), and which of them were raylets."""

    def __init__(self, roots):
        self.roots, self.seen, self.raylets = roots, {}, set()

    def look(self):
        tree = tree_of(self.roots)
        self.raylets |= {pid for pid in tree if pid not in self.seen and _is_raylet(pid)}
        self.seen.update(tree)

    def leftovers(self, node_id):
        """PIDs still running that were seen (same start time) or carry this node's tags."""
        alive = {pid for pid, start in self.seen.items() if (stat := _stat(pid)) and stat[1] == start}
        return sorted((alive | set(_tagged(node_id, self.raylets))) - {os.getpid()})


def _wait_for_eof(record):
    """Block until stdin reaches EOF, looking at the trees under the roots meanwhile."""
    while True:
        record.look()
        ready, _, _ = select.select([sys.stdin.buffer], [], [], LOOK_EVERY_S)
        if ready and not os.read(sys.stdin.fileno(), 4096):
            return


def main(node_id, roots):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if not Path("/proc").is_dir():
        sys.stdin.buffer.read()
        return
    record = Record(roots)
    _wait_for_eof(record)
    time.sleep(GRACE_S)
    for pid in record.leftovers(node_id):
        try:
            os.kill(pid, signal.SIGKILL)  # the agents ignore SIGTERM
        except OSError:
            continue


if __name__ == "__main__":
    main(sys.argv[1], [int(pid) for pid in sys.argv[2:]])
