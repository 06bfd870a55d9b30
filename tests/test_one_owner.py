"""One owner per concept: each of these is written once in the package, and the other modules use that one."""

from __future__ import annotations

import re
from pathlib import Path

import airflow_provider_tencent_ocr

PACKAGE = Path(airflow_provider_tencent_ocr.__file__).parent


def _modules_matching(pattern: str) -> list[str]:
    regex = re.compile(pattern)
    return sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if regex.search(p.read_text()))


def test_one_reader_of_streamed_http_bodies():
    """API answers and image downloads are read by one function with one size cap and one deadline."""
    assert _modules_matching(r"\.read1\(") == ["io/http_body.py"]


def test_retries_have_one_owner():
    """Only run/retries.py decides how anything is retried (API calls and image downloads alike)."""
    assert _modules_matching(r"(?m)^\s*(from tenacity|import tenacity)") == ["run/retries.py"]


def test_the_size_limits_are_declared_once():
    """The 1 MiB answer cap and the 7 MB image limit are API facts, declared in actions/spec.py only."""
    assert _modules_matching(r"=\s*1024 \* 1024\b") == ["actions/spec.py"]
    assert _modules_matching(r"=\s*7 \* 1024 \* 1024\b") == ["actions/spec.py"]


def test_credential_free_uris_have_one_owner():
    """Which parts of a URI are credentials is decided in io/uris.py; messages, output and logs all use it."""
    assert _modules_matching(r"(?m)^def (redact_uri|display_uri|redact_text)\(") == ["io/uris.py"]


def test_the_limits_learn_from_call_outcomes_not_from_the_worker():
    """The worker reports each call's outcome once (run/limits.py); it calls no limiter's feedback hooks itself."""
    assert _modules_matching(r"\.on_(throttled|timeout|overload|latency)\(") == [
        "run/concurrency.py",
        "run/ratelimit.py",
    ]


def test_the_worker_uses_the_recogniser_interface_and_guesses_no_attribute():
    worker = (PACKAGE / "run" / "worker.py").read_text()
    assert "getattr(self.recogniser" not in worker and ".config.timeout" not in worker
