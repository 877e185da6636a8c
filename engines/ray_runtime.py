"""Ray start-up for every engine that runs on Ray: import it, join a cluster or start a quiet local one.

A local Ray started here is devise's to clean up. `ray.shutdown()` does that
on a normal exit; when the driver dies without it (kill -9), the raylet and
the GCS die with it (Ray ties them to their parent) but the node's dashboard
and runtime-env agents linger for ever. A small watchdog process, started
with the local Ray and holding a pipe from the driver, sees the pipe close
and ends whatever processes of that Ray node are still alive: only the
processes `ray.init` started here and their descendants, or those carrying
that node's id, never a Ray the user started.
"""
import contextlib
import logging
import os
import subprocess
import sys

from devise.core.errors import EngineError, option
from devise.engines.ray_watchdog import children_of, is_ray_process

INSTALL_HINT = "pip install 'devise[ray]'"
QUIET = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)


def import_ray():
    """The `ray` module with Ray Data, or an EngineError saying how to install it."""
    try:
        import ray
        import ray.data  # the [ray] extra ships the Data library, which indexing needs
    except ImportError as exc:
        raise EngineError(f"{option('engine', 'ray')} needs Ray with Ray Data: {INSTALL_HINT}") from exc
    return ray


def _one_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _children():
    return set(children_of(os.getpid())) if os.path.isdir("/proc") else set()


def _watch(ray, before):
    """The watchdog of the local Ray node just started; it waits while its stdin pipe stays open.

    Its roots are the children `ray.init` added to this process (GCS, raylet),
    so the user's own child processes are never among them.
    """
    node_id = ray.get_runtime_context().get_node_id()
    roots = [str(pid) for pid in sorted(_children() - before) if is_ray_process(pid)]
    return subprocess.Popen(
        [sys.executable, "-m", "devise.engines.ray_watchdog", node_id, *roots], stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # Ctrl-C must not reach it


@contextlib.contextmanager
def ray_session(address=None, num_cpus=None, notice=True):
    """Yield the `ray` module connected to `address`, or to a local Ray with `num_cpus` CPUs started here.

    A session the caller already opened (ray.is_initialized()) is used as it is
    and left running; one started here is shut down on the way out.
    """
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    if notice:  # one line on stderr; Ray's own start-up chatter goes to its log folder
        print(f"joining the Ray cluster at {address}" if address else
              f"starting a local Ray with {num_cpus or os.cpu_count()} CPU(s) (its logs: /tmp/ray/session_latest/logs)",
              file=sys.stderr)
    before = set() if address else _children()
    try:
        ray.init(address=address, **QUIET) if address else ray.init(num_cpus=num_cpus, **QUIET)
    except Exception as exc:  # connection and start-up failures surface as assorted types
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        raise EngineError(f"could not start {where}: {_one_line(exc)}.") from exc
    watchdog = None if address else _watch(ray, before)
    try:
        yield ray
    finally:
        ray.shutdown()
        if watchdog is not None:
            watchdog.stdin.close()  # it ends what shutdown left, then exits; no need to wait for it


def job_error(exc, what):
    """An EngineError of one line for a failed Ray job: Ray wraps worker failures in its own types."""
    cause = getattr(exc, "cause", None) or exc
    return EngineError(f"the Ray {what} job failed: {_one_line(cause)}")
