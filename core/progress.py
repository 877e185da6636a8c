"""A small progress bar on stderr, throttled so logs stay readable when not a TTY."""
import sys
import time


class Progress:
    def __init__(self, total, label="", unit="img", stream=None, enabled=True):
        self.total, self.label, self.unit = total, label, unit
        self.stream = stream or sys.stderr
        self.enabled = enabled and total > 0
        self.done = 0
        self.start = self._last = time.perf_counter()
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._interval = 0.2 if self._tty else 10.0

    def rate(self):
        elapsed = time.perf_counter() - self.start
        return self.done / elapsed if elapsed > 0 else 0.0

    def update(self, n=1):
        self.done += n
        now = time.perf_counter()
        if self.enabled and (now - self._last >= self._interval or self.done >= self.total):
            self._last = now
            self._draw()

    def _draw(self):
        rate = self.rate()
        eta = (self.total - self.done) / rate if rate > 0 else 0
        width = 30
        filled = int(width * self.done / max(self.total, 1))
        line = (f"{self.label} [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} "
                f"{rate:.1f} {self.unit}/s eta {eta:.0f}s")
        if self._tty:
            self.stream.write("\r" + line)
            if self.done >= self.total:
                self.stream.write("\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.enabled and self._tty and self.done < self.total:
            self.stream.write("\n")


def warn(message):
    print(f"warning: {message}", file=sys.stderr)
