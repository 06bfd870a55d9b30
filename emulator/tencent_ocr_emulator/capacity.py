"""Bounded recognition capacity: a first-come, first-served gate with a wait limit.

An overloaded service that queues without bound turns every client timeout into a recognition that
is still performed (and billed) later. Here a request waits for a free slot at most
``queue_timeout`` seconds, then gives up with the API's ``FailedOperation.EngineRecognizeTimeout``;
while it waits, the caller's ``gone()`` is polled, so a request whose client has hung up leaves
the queue and is never recognised.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from enum import Enum

POLL_SECONDS = 0.05


class Admission(Enum):
    STARTED = "started"
    TIMED_OUT = "timed_out"
    CLIENT_GONE = "client_gone"


class Capacity:
    """``slots`` recognitions at a time (None: unlimited); waiting requests are served in order."""

    def __init__(self, slots: int | None) -> None:
        if slots is not None and slots < 1:
            raise ValueError("capacity must be at least 1 (or None for unlimited)")
        self.slots = slots
        self._free = slots or 0
        self._waiters: collections.deque[threading.Event] = collections.deque()
        self._lock = threading.Lock()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def acquire(self, timeout: float, gone: Callable[[], bool]) -> Admission:
        """Take a slot, or say why not; a :attr:`Admission.STARTED` caller must :meth:`release`."""
        if self.slots is None:
            return Admission.CLIENT_GONE if gone() else Admission.STARTED
        with self._lock:
            if self._free > 0 and not self._waiters:
                self._free -= 1
                return Admission.STARTED
            turn = threading.Event()
            self._waiters.append(turn)
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if turn.wait(max(0.0, min(POLL_SECONDS, remaining))):
                return Admission.STARTED
            outcome = Admission.CLIENT_GONE if gone() else Admission.TIMED_OUT if remaining <= 0 else None
            if outcome is None:
                continue
            with self._lock:
                if turn.is_set():  # the slot was handed over just now: pass it on
                    self._release_locked()
                else:
                    self._waiters.remove(turn)
            return outcome

    def release(self) -> None:
        if self.slots is None:
            return
        with self._lock:
            self._release_locked()

    def _release_locked(self) -> None:
        if self._waiters:
            self._waiters.popleft().set()  # hand the slot straight to the next in line
        else:
            self._free += 1
