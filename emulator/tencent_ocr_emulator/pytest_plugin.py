"""Pytest fixtures for testing DAGs and code against the emulator (registered via ``pytest11``).

``tencent_ocr_emulator`` runs a fresh emulator (fixture recogniser, no rate limit surprises for a
test: 1,000 requests per second) on a free loopback port; ``tencent_ocr_conn_id`` also points the
default ``tencentcloud`` connection at it through ``AIRFLOW_CONN_TENCENTCLOUD_DEFAULT``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tencent_ocr_emulator.server import EmulatorServer


@pytest.fixture
def tencent_ocr_emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(rate_limit=1000) as server:
        yield server


@pytest.fixture
def tencent_ocr_conn_id(tencent_ocr_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", tencent_ocr_emulator.connection_json())
    return "tencentcloud_default"
