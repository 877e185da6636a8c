"""Progress bars and warnings, both on stderr so stdout stays free for results (--json)."""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from devise.core.text import printable

if TYPE_CHECKING:
    from tqdm import tqdm

# Redraw often on a terminal; on a log file every redraw is a new line, so seldom.
TTY_INTERVAL_S, LOG_INTERVAL_S = 0.2, 10.0


def progress_bar(total: int, label: str = "", enabled: bool = True, unit: str = "img") -> tqdm:
    """A tqdm bar counting `total` images (or other `unit`s) on stderr; silent when not enabled or there is
    nothing to count.

    Use it as a context manager and call `update(n)`.
    """
    from tqdm import tqdm  # imported here: `import devise` must stay fast

    stream = sys.stderr
    tty = hasattr(stream, "isatty") and stream.isatty()
    return tqdm(total=total, desc=label, unit=unit, file=stream, disable=not enabled or total <= 0,
                mininterval=TTY_INTERVAL_S if tty else LOG_INTERVAL_S)


def note(message: str) -> None:
    """One line of news on stderr (what is being built, what was done), control characters escaped."""
    print(printable(message), file=sys.stderr)


def warn(message: str) -> None:
    note(f"warning: {message}")
