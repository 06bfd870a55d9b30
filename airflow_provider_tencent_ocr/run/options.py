"""RunOptions: how a run calls the API. Every number here is a user-facing operator argument."""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_tencent_ocr.choices import SendAs, check_choice

DEFAULT_RETRY_DEADLINE = 6 * 3600.0


@dataclass(frozen=True)
class RunOptions:
    """How to call the API.

    ``max_requests_per_second`` is the ceiling of the pacing; throttling lowers it (see
    ``ratelimit``). ``max_in_flight`` is the ceiling of the adaptive concurrency (see
    ``concurrency``). ``max_attempts`` bounds the attempts that count (throttles do not count);
    ``retry_deadline`` (seconds from the start of the run) bounds all retrying, throttles
    included: after it, a call that still fails makes an error row. ``timeout`` is the hook's
    request timeout, used to keep answers well inside it; None reads it from the recogniser's
    ``config.timeout`` when it has one, else 30 s. ``write_rows`` is how many finished rows are
    handed to the sink at a time (one Parquet row group); the manifest's own ``batch_rows`` only
    sets how it is read (the operator's ``batch_rows`` sets both). ``image_timeout`` bounds the wait
    for an image server's first byte and each read after it; ``image_deadline`` the whole download,
    headers included (a server trickling one byte a second is cut off there).
    """

    send_as: SendAs = "base64"
    return_head_image: bool = False
    max_requests_per_second: float = 20.0
    max_in_flight: int = 16
    max_attempts: int = 5
    retry_max_wait: float = 20.0
    retry_deadline: float | None = DEFAULT_RETRY_DEADLINE
    timeout: float | None = None
    max_error_rate: float | None = None
    progress_interval: float = 10.0
    storage_conn_id: str | None = None
    image_timeout: float = 30.0
    image_deadline: float = 60.0
    write_rows: int = 5000

    def __post_init__(self) -> None:
        check_choice("send_as", self.send_as, SendAs)
        if self.max_in_flight < 1 or self.max_attempts < 1 or self.write_rows < 1:
            raise ValueError("max_in_flight, max_attempts and write_rows (batch_rows) must be at least 1")
        if self.max_requests_per_second <= 0:
            raise ValueError(f"max_requests_per_second must be positive, not {self.max_requests_per_second!r}")
        if self.max_error_rate is not None and not 0 <= self.max_error_rate <= 1:
            raise ValueError(f"max_error_rate must be between 0 and 1, not {self.max_error_rate!r}")
        if self.retry_deadline is not None and self.retry_deadline <= 0:
            raise ValueError(f"retry_deadline must be positive seconds (or None), not {self.retry_deadline!r}")
        check_seconds("timeout", self.timeout, optional=True)
        check_seconds("progress_interval", self.progress_interval)
        check_seconds("image_timeout", self.image_timeout)
        check_seconds("image_deadline", self.image_deadline)


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
