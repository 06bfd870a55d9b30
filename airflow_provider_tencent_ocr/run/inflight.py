"""De-duplication of identical work in flight: the first caller does it, the others wait and share.

Two rows with the same image must never both pay. A cache alone cannot promise that (both can miss
it while the first call is still running), so the key is claimed before the cache is read and
released only after the result is stored.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

T = TypeVar("T")


class InFlight(Generic[T]):
    """Thread-safe map of keys being worked on to the future of their result."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._work: dict[str, Future[T]] = {}

    def __len__(self) -> int:
        with self._lock:
            return len(self._work)

    def once(self, key: str, work: Callable[[], T]) -> tuple[T, bool]:
        """``(result, owner)``: run ``work`` as the key's owner, or wait for the owner's result.

        An exception in the owner's ``work`` is raised to the waiters too.
        """
        with self._lock:
            shared = self._work.get(key)
            owner = shared is None
            if shared is None:
                shared = self._work[key] = Future()
        if not owner:
            return shared.result(), False
        try:
            result = work()
        except BaseException as err:
            shared.set_exception(err)
            raise
        else:
            shared.set_result(result)
            return result, True
        finally:
            with self._lock:
                self._work.pop(key, None)
