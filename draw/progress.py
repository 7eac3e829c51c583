"""Progress lines for long computations: done/total, elapsed time, time left."""

from __future__ import annotations

import time


def print_now(message: str) -> None:
    """Progress lines appear at once, also when stdout is a file or a pipe."""
    print(message, flush=True)


def format_duration(seconds: float) -> str:
    """`1h05m` or `3m07s`."""
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s"


class Progress:
    """Prints `label: done/total extra  elapsed ..  eta ..` at most every `every` seconds
    (and always when done reaches total). log=None silences it."""

    def __init__(self, label: str, total: int, log=print, every: float = 10.0):
        self.label, self.total, self.log, self.every = label, total, log, every
        self.started = self.last = time.perf_counter()

    def update(self, done: int, extra: str = "") -> None:
        now = time.perf_counter()
        if self.log is None or (now - self.last < self.every and done < self.total):
            return
        self.last = now
        elapsed = now - self.started
        eta = format_duration(elapsed * (self.total - done) / done) if done else "?"
        self.log(
            f"{self.label}: {done}/{self.total}{extra}  elapsed {format_duration(elapsed)}  "
            f"eta {eta}"
        )
