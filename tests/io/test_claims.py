"""Claims on cache keys: one holder at a time, released or expired, taken over when the holder is gone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from airflow_provider_tencent_ocr.io.cache import ResultCache
from airflow_provider_tencent_ocr.io.claims import ClaimBook

KEY = "ab" + "0" * 62


def test_one_holder_at_a_time_until_released(tmp_path):
    first, second = ClaimBook(str(tmp_path)), ClaimBook(str(tmp_path))
    try:
        assert first.claim(KEY)
        assert not second.claim(KEY)  # held by a live process (this one) with a fresh lease
        first.release(KEY)
        assert second.claim(KEY)
        assert oct(os.stat(tmp_path / "ab" / (KEY + ".claim")).st_mode & 0o777) == "0o600"
    finally:
        first.close()
        second.close()
    assert not (tmp_path / "ab" / (KEY + ".claim")).exists()  # close releases what is held


def test_a_claim_of_a_dead_process_is_taken_over_at_once(tmp_path):
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from airflow_provider_tencent_ocr.io.claims import ClaimBook; "
            f"ClaimBook({str(tmp_path)!r}).claim({KEY!r})",
        ],
        check=True,
    )  # the child exits without releasing, like a task killed with SIGKILL
    assert child.returncode == 0 and (tmp_path / "ab" / (KEY + ".claim")).exists()
    book = ClaimBook(str(tmp_path), lease_seconds=3600)
    try:
        assert book.claim(KEY)  # not after an hour: its holder is gone
    finally:
        book.close()


def test_an_expired_lease_of_another_host_is_taken_over(tmp_path):
    claim = tmp_path / "ab" / (KEY + ".claim")
    claim.parent.mkdir()
    other = {"holder": "x", "host": "another-worker", "pid": 1, "pid_started": "1", "expires_at": time.time() + 60}
    claim.write_text(json.dumps(other))
    book = ClaimBook(str(tmp_path))
    try:
        assert not book.claim(KEY)  # another host's lease, still running
        claim.write_text(json.dumps({**other, "expires_at": time.time() - 1}))
        assert book.claim(KEY)
    finally:
        book.close()


def test_the_holder_renews_its_lease_while_it_works(tmp_path):
    holder, other = ClaimBook(str(tmp_path), lease_seconds=0.6), ClaimBook(str(tmp_path), lease_seconds=0.6)
    other._holder = {**other._holder, "host": "another-worker"}  # judged by its lease only
    holder._holder = {**holder._holder, "host": "another-worker"}
    try:
        assert holder.claim(KEY)
        time.sleep(1.5)  # more than two leases: renewed meanwhile
        assert not other.claim(KEY)
    finally:
        holder.close()
        other.close()


def test_a_waiting_task_gets_the_holders_result_without_calling(tmp_path):
    holder, waiter = ResultCache(str(tmp_path)), ResultCache(str(tmp_path))
    stop = threading.Event()
    try:
        assert holder.get(KEY) is None and holder.claim(KEY)
        assert waiter.get(KEY) is None
        found: list = []
        thread = threading.Thread(target=lambda: found.append(waiter.claim_or_wait(KEY, stop)))
        thread.start()
        time.sleep(0.3)
        assert thread.is_alive()  # waiting for the holder's result, not calling
        holder.put(KEY, {"EnName": "SYNTHETIC"}, 1.0)
        holder.release(KEY)
        thread.join(5)
        assert found == [({"EnName": "SYNTHETIC"}, 1.0)]
    finally:
        stop.set()
        holder.close()
        waiter.close()


def test_a_holder_that_stores_nothing_hands_the_key_to_the_waiter(tmp_path):
    holder, waiter = ResultCache(str(tmp_path)), ResultCache(str(tmp_path))
    stop = threading.Event()
    try:
        assert holder.claim(KEY)
        found: list = []
        thread = threading.Thread(target=lambda: found.append(waiter.claim_or_wait(KEY, stop)))
        thread.start()
        time.sleep(0.2)
        holder.release(KEY)  # its call failed: no result
        thread.join(5)
        assert found == [None]  # the waiter holds the claim now and calls itself
        assert not holder.claim(KEY)
    finally:
        stop.set()
        holder.close()
        waiter.close()


def test_claims_on_object_storage_are_conditional_creates(s3, monkeypatch):
    for name, value in s3.env.items():
        monkeypatch.setenv(name, value)
    uri = s3.uri("claims-test/cache")
    first = ClaimBook(uri, conn_id=s3.conn_id)
    second = ClaimBook(uri, conn_id=s3.conn_id)
    try:
        assert first.claim(KEY)
        assert not second.claim(KEY)  # If-None-Match: * refused the second create
        first.release(KEY)
        assert second.claim(KEY)
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize("content", [b"", b'{"holder": "cut sho'])
def test_a_claim_that_stays_unreadable_for_a_lease_is_taken_over(tmp_path, content):
    """An emptied or truncated claim (a crash, a full disk) used to be held forever: every rerun waited."""
    claim = tmp_path / "ab" / (KEY + ".claim")
    claim.parent.mkdir()
    claim.write_bytes(content)
    book = ClaimBook(str(tmp_path), lease_seconds=0.5)
    try:
        assert not book.claim(KEY)  # maybe being written just now: held for the moment
        deadline = time.monotonic() + 5
        while not book.claim(KEY):
            assert time.monotonic() < deadline, "an unreadable claim blocked the key for good"
            time.sleep(0.1)
    finally:
        book.close()
