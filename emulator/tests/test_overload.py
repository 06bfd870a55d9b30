"""The emulator behaves like an overloaded service, not a black hole (issue 9, item 4).

At most ``capacity`` recognitions run at once; a request that cannot start within
``queue_timeout`` is answered ``FailedOperation.EngineRecognizeTimeout`` at once, and one whose
client has hung up before its turn is never recognised nor billed. Over real HTTP, with a
recogniser slow enough that the queue is certain to form.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from emulator_client import Client, code, send
from sample_images import make_png

from tencent_ocr_emulator.process import emulator_process
from tencent_ocr_emulator.recognisers import FixtureRecogniser, Recognition
from tencent_ocr_emulator.server import EmulatorServer


class SlowRecogniser:
    """The fixture recogniser, taking ``seconds`` per image; counts the recognitions it starts."""

    name = "slow"

    def __init__(self, seconds: float, workers: int | None = None) -> None:
        self.seconds = seconds
        self.started = 0
        self._inner = FixtureRecogniser()
        self._lock = threading.Lock()
        if workers is not None:
            self.workers = workers

    def recognise(self, image: bytes, *, return_head_image: bool) -> Recognition:
        with self._lock:
            self.started += 1
        time.sleep(self.seconds)
        return self._inner.recognise(image, return_head_image=return_head_image)

    def close(self) -> None:
        return None


def _body(seed: int) -> dict:
    return {"ImageBase64": base64.b64encode(make_png(8, 8, seed=seed)).decode()}


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"never happened: {what}")
        time.sleep(0.02)


def test_capacity_defaults_to_the_recognisers_workers() -> None:
    with EmulatorServer(recogniser=SlowRecogniser(0, workers=3)) as server:
        assert server.capacity.slots == 3
    with EmulatorServer() as server:  # the fixture recogniser: unlimited
        assert server.capacity.slots is None
    with EmulatorServer(recogniser=SlowRecogniser(0, workers=3), capacity=1) as server:
        assert server.capacity.slots == 1


def test_requests_that_cannot_start_in_time_get_engine_recognize_timeout() -> None:
    recogniser = SlowRecogniser(2.5)  # far longer than the queue timeout, even on a loaded machine
    with EmulatorServer(recogniser=recogniser, rate_limit=1000, capacity=1, queue_timeout=0.3) as server:
        client = Client(server.endpoint, server.secret_id, server.secret_key)
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda seed: client.tc3_post(_body(seed)), range(4)))
        codes = sorted(str(code(answer)) for _, answer in answers)
        assert codes == ["FailedOperation.EngineRecognizeTimeout"] * 3 + ["None"]
        assert all(status == 200 for status, _ in answers)
        assert recogniser.started == 1 and server.stats.billed == 1
        assert server.stats.max_recognising == 1
        # Capacity is back: the next request is recognised.
        assert code(client.tc3_post(_body(9))[1]) is None and server.stats.billed == 2


def test_a_client_that_hangs_up_before_its_turn_is_not_recognised_nor_billed() -> None:
    recogniser = SlowRecogniser(1.0)
    with EmulatorServer(recogniser=recogniser, rate_limit=1000, capacity=1, queue_timeout=30) as server:
        client = Client(server.endpoint, server.secret_id, server.secret_key)
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(client.tc3_post, _body(1))
            _wait_for(lambda: server.stats.recognising == 1, "the first recognition started")

            body = json.dumps(_body(2)).encode()
            headers = {**client.tc3_headers(body=body), "Content-Length": str(len(body))}
            head = "POST / HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
            host, port = server.endpoint.removeprefix("http://").split(":")
            with socket.create_connection((host, int(port)), timeout=10) as gone:
                gone.sendall(head.encode() + body)
                _wait_for(lambda: server.stats.waiting == 1, "the second request queued")
            # ... and its client has hung up while it waited.
            assert code(first.result()[1]) is None
        _wait_for(lambda: server.stats.abandoned == 1, "the abandoned request left the queue")
        assert recogniser.started == 1 and server.stats.billed == 1
        assert server.stats.codes.get("ClientGone") == 1
        assert code(client.tc3_post(_body(3))[1]) is None and recogniser.started == 2


def test_waiting_requests_are_served_in_arrival_order() -> None:
    recogniser = SlowRecogniser(0.3)
    with EmulatorServer(recogniser=recogniser, rate_limit=1000, capacity=1, queue_timeout=30) as server:
        client = Client(server.endpoint, server.secret_id, server.secret_key)
        finished: list[int] = []

        def call(seed: int) -> None:
            assert code(client.tc3_post(_body(seed))[1]) is None
            finished.append(seed)

        threads = []
        for seed in range(4):
            threads.append(threading.Thread(target=call, args=(seed,)))
            threads[-1].start()
            _wait_for(lambda n=seed: server.stats.waiting + server.stats.recognising == n + 1, "queued in turn")
        for thread in threads:
            thread.join(30)
        assert finished == [0, 1, 2, 3]


def test_capacity_and_queue_timeout_on_the_command_line() -> None:
    flags = ("--capacity", "1", "--queue-timeout", "0.2", "--latency-ms", "2500", "--rate-limit", "0")
    with emulator_process(*flags) as endpoint:
        client = Client(endpoint, "AKIDLOCALEMULATOR000000000000000000", "local-emulator-secret-key-not-a-real-one")
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda seed: client.tc3_post(_body(seed)), range(2)))
        codes = sorted(str(code(answer)) for _, answer in answers)
        assert codes == ["FailedOperation.EngineRecognizeTimeout", "None"]
        stats = send(endpoint, "GET", "/__emulator__/stats", {})[1]
        assert stats["billed"] == 1 and stats["max_recognising"] == 1


def test_the_local_engine_withdraws_work_no_worker_has_taken() -> None:
    """Inside the local engine's pool: queued work of a gone client is cancelled, started work finishes."""
    from concurrent.futures import Future

    from tencent_ocr_emulator.local_engine.engine import LocalRecogniser, Outcome
    from tencent_ocr_emulator.recognisers import RecognitionAbandoned

    queued: Future[Outcome] = Future()
    with pytest.raises(RecognitionAbandoned):
        LocalRecogniser._wait(queued, lambda: True)
    assert queued.cancelled()

    running: Future[Outcome] = Future()
    running.set_running_or_notify_cancel()
    threading.Timer(0.3, running.set_result, args=(Outcome(fields={"ID": "S1234567D"}),)).start()
    assert LocalRecogniser._wait(running, lambda: True).fields == {"ID": "S1234567D"}


def test_a_failed_start_says_why() -> None:
    with pytest.raises(RuntimeError, match="--capacity must be at least 1"), emulator_process("--capacity", "0"):
        pass
