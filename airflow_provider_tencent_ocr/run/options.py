"""RunOptions: how a run calls the API. Every number here is a user-facing operator argument."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from airflow_provider_tencent_ocr.choices import SendAs, check_choice

DEFAULT_RETRY_DEADLINE = 6 * 3600.0


@dataclass(frozen=True)
class RunOptions:
    """How to call the API.

    ``max_requests_per_second`` is the ceiling of each action's pacing; throttling lowers it (see
    ``ratelimit``): None gives every action its documented limit, a number sets every action, a
    mapping ``{action: rate}`` sets those actions (the others keep their documented limit).
    ``max_in_flight`` is the ceiling of each action's adaptive concurrency (see ``concurrency``).
    ``reorder_rows`` bounds the rows read ahead of the oldest unfinished one: rows of a fast action
    are sent while an earlier slow action's row waits, and still written in manifest order.
    ``max_attempts`` bounds the attempts that count (throttles do not count);
    ``retry_deadline`` (seconds from the start of the run) bounds all retrying, throttles
    included: after it, a call that still fails makes an error row. ``timeout`` is the hook's
    request timeout, used to keep answers well inside it; None reads it from the recogniser's
    ``config.timeout`` when it has one, else 30 s. ``write_rows`` is how many finished rows are
    handed to the sink at a time (one Parquet row group); the manifest's own ``batch_rows`` only
    sets how it is read (the operator's ``batch_rows`` sets both). ``image_timeout`` bounds the wait
    for an image server's first byte and each read after it; ``image_deadline`` the whole download,
    headers included (a server trickling one byte a second is cut off there).
    ``cos_conn_id`` (the OCR connection) reads ``cos://`` images when no ``storage_conn_id`` is given,
    wherever the manifest is: see :meth:`image_conn_id`.
    ``allow_link_local_images`` lets http(s) image downloads reach link-local addresses
    (169.254.0.0/16, fe80::/10: where cloud metadata services answer), refused by default.
    """

    send_as: SendAs = "base64"
    return_head_image: bool = False
    max_requests_per_second: float | Mapping[str, float] | None = None
    max_in_flight: int = 16
    max_attempts: int = 5
    retry_max_wait: float = 20.0
    retry_deadline: float | None = DEFAULT_RETRY_DEADLINE
    timeout: float | None = None
    max_error_rate: float | None = None
    progress_interval: float = 10.0
    storage_conn_id: str | None = None
    cos_conn_id: str | None = None
    image_timeout: float = 30.0
    image_deadline: float = 60.0
    write_rows: int = 5000
    reorder_rows: int = 20000
    allow_link_local_images: bool = False

    def __post_init__(self) -> None:
        check_choice("send_as", self.send_as, SendAs)
        check_counts(max_in_flight=self.max_in_flight, max_attempts=self.max_attempts, batch_rows=self.write_rows)
        if self.reorder_rows < 1:
            raise ValueError(f"reorder_rows must be at least 1, not {self.reorder_rows!r}")
        rates = self.max_requests_per_second
        check_rates(rates)
        if isinstance(rates, Mapping):
            object.__setattr__(self, "max_requests_per_second", dict(rates))  # a copy: later edits change nothing
        check_error_rate(self.max_error_rate)
        if self.retry_deadline is not None and self.retry_deadline <= 0:
            raise ValueError(f"retry_deadline must be positive seconds (or None), not {self.retry_deadline!r}")
        check_seconds("timeout", self.timeout, optional=True)
        check_seconds("progress_interval", self.progress_interval)
        check_seconds("image_timeout", self.image_timeout)
        check_seconds("image_deadline", self.image_deadline)

    def image_conn_id(self, uri: str) -> str | None:
        """The connection reading (or presigning) image ``uri``: ``storage_conn_id``, else for cos:// the OCR one."""
        from airflow_provider_tencent_ocr.io.cos_fs import default_storage_conn_id

        if self.cos_conn_id is None:
            return self.storage_conn_id
        return default_storage_conn_id(self.storage_conn_id, self.cos_conn_id, [uri])

    def rate_for(self, action: str, documented: float) -> float:
        """The pacing ceiling of ``action``: the option for it, else its documented limit."""
        rates = self.max_requests_per_second
        if isinstance(rates, Mapping):
            return float(rates.get(action, documented))
        return documented if rates is None else float(rates)


def check_counts(**counts: object) -> None:
    """Refuse a count argument (``max_in_flight``, ``max_attempts``, ``batch_rows``) below 1, naming it."""
    for name, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}")


def check_error_rate(rate: object) -> None:
    """Refuse a ``max_error_rate`` that is not a share between 0 and 1 (or None)."""
    if rate is None:
        return
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
        raise ValueError(f"max_error_rate must be between 0 and 1 (a share of the rows), or None, not {rate!r}")


def check_rates(rates: object) -> None:
    """Refuse a ``max_requests_per_second`` (a number, or one per action) that is not positive, naming it."""
    if isinstance(rates, Mapping):
        for action, rate in rates.items():
            _check_rate(f"max_requests_per_second[{action!r}]", rate)
    elif rates is not None:
        _check_rate("max_requests_per_second", rates)


def _check_rate(name: str, rate: object) -> None:
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not math.isfinite(rate) or rate <= 0:
        raise ValueError(f"{name} must be a positive number of requests per second, not {rate!r}")


def check_seconds(name: str, value: object, *, optional: bool = False) -> None:
    """Refuse a duration that is not a positive number of seconds, naming the argument.

    ``timeout=-1`` would make every call fail before it is sent (and each row would claim it may
    have been billed); ``progress_interval=0`` would log in a busy loop.
    """
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < float("inf"):
        hint = " (or None for the default)" if optional else ""
        raise ValueError(f"{name} must be a positive number of seconds{hint}, not {value!r}")
