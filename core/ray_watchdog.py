"""`python -m devise.core.ray_watchdog NODE_ID [RAYLET_PID ...]`: wait for the driver to go, then end its local Ray node's leftovers.

Started by core.ray_runtime with a pipe on stdin. EOF on that pipe means the
driver has shut Ray down or died (even by kill -9); then every process still
carrying this node's RAY_NODE_ID, or the RAY_RAYLET_PID of its raylet, in its
environment (the node's agents and workers, which may be slow to notice the
raylet is gone) is killed. The driver finds its raylet (its child) and
passes its pid before anything can die: Ray gives the agents only
RAY_RAYLET_PID, and once the driver is gone they are orphans that nothing
else ties to it. Node id and raylet pid belong
to the Ray node devise started, so no other Ray is touched. Linux only
(/proc); elsewhere it does nothing.
"""
import os
import signal
import sys
import time
from pathlib import Path

GRACE_S = 2.0  # let Ray's own shutdown finish first


def _environments():
    """(pid, environment entries) of every process we may read, but this one."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                yield int(entry.name), (entry / "environ").read_bytes().split(b"\0")
            except OSError:  # gone meanwhile, or not ours to read
                continue


def raylets_of(driver):
    """PIDs of the raylets that process `driver` started (its children running Ray's raylet binary)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rpartition(")")[2].split()[1]) == driver \
                    and (entry / "cmdline").read_bytes().split(b"\0")[0].endswith(b"/raylet"):
                found.append(int(entry.name))
        except (OSError, IndexError, ValueError):  # gone meanwhile
            continue
    return found


def node_processes(node_id, raylets=()):
    """PIDs of Ray node `node_id`'s agents, and of the workers and agents of its raylet(s)."""
    marker, environments = f"RAY_NODE_ID={node_id}".encode(), list(_environments())
    agents = [(pid, env) for pid, env in environments if marker in env]
    tags = {e for _, env in agents for e in env if e.startswith(b"RAY_RAYLET_PID=")}
    tags |= {f"RAY_RAYLET_PID={pid}".encode() for pid in raylets}
    return sorted({pid for pid, _ in agents} | {pid for pid, env in environments if tags.intersection(env)})


def main(node_id, raylets):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.stdin.buffer.read()  # returns at EOF: the driver closed the pipe or died
    time.sleep(GRACE_S)
    if not Path("/proc").is_dir():
        return
    for pid in node_processes(node_id, raylets):
        try:
            os.kill(pid, signal.SIGKILL)  # the agents ignore SIGTERM
        except OSError:
            continue


if __name__ == "__main__":
    main(sys.argv[1], [int(pid) for pid in sys.argv[2:]])
