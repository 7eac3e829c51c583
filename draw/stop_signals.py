"""SIGINT and SIGTERM as requests to stop training at the next step boundary.

    with StopSignals() as stop:
        for batch in batches:
            if stop.received:
                save(); raise Interrupted(...)
            step(batch)

Inside the block, the first SIGINT (Ctrl-C) or SIGTERM (kill, a job scheduler's
pre-emption) only records its number in `stop.received`, so the step under way finishes
and the loop can save a checkpoint; it also restores the previous handlers, so a second
signal acts as usual (KeyboardInterrupt, termination). A signal the process ignores
(e.g. SIGINT in a background job of a script) stays ignored. Outside the main thread,
where Python cannot install handlers, the block changes nothing.
"""

from __future__ import annotations

import signal
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    def __init__(self):
        self.received: int | None = None
        self._previous: dict = {}

    @property
    def name(self) -> str:
        return signal.Signals(self.received).name if self.received else ""

    def _handle(self, signum, frame):
        self.received = signum
        self._restore()

    def _restore(self):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in SIGNALS:
                if signal.getsignal(signum) != signal.SIG_IGN:  # ignored stays ignored
                    self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        self._restore()
