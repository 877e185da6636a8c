"""Progress bars and warnings, both on stderr so stdout stays free for results (--json)."""
import sys

from devise.core.text import printable

# Redraw often on a terminal; on a log file every redraw is a new line, so seldom.
TTY_INTERVAL_S, LOG_INTERVAL_S = 0.2, 10.0


def progress_bar(total, label="", enabled=True):
    """A tqdm bar counting `total` images on stderr; silent when not enabled or there is nothing to count.

    Use it as a context manager and call `update(n)`.
    """
    from tqdm import tqdm  # imported here: `import devise` must stay fast

    stream = sys.stderr
    tty = hasattr(stream, "isatty") and stream.isatty()
    return tqdm(total=total, desc=label, unit="img", file=stream, disable=not enabled or total <= 0,
                mininterval=TTY_INTERVAL_S if tty else LOG_INTERVAL_S)


def note(message):
    """One line of news on stderr (what is being built, what was done), control characters escaped."""
    print(printable(message), file=sys.stderr)


def warn(message):
    note(f"warning: {message}")
