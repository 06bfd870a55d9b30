"""``python -m tencent_ocr_emulator``: run the local Tencent Cloud OCR emulator."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from tencent_ocr_emulator.actions import ACTIONS
from tencent_ocr_emulator.recognisers import load_recogniser
from tencent_ocr_emulator.server import (
    DEFAULT_MAX_PIXELS,
    DEFAULT_QUEUE_TIMEOUT,
    DEFAULT_SECRET_ID,
    DEFAULT_SECRET_KEY,
    DEFAULT_SOCKET_TIMEOUT,
    EmulatorServer,
    Faults,
    rate_limits,
)

EPILOG = f"""\
credentials: unless --secret-id / --secret-key are given, the emulator accepts exactly one key pair,
  SecretId  {DEFAULT_SECRET_ID}
  SecretKey {DEFAULT_SECRET_KEY}
(and no STS token unless --token is given). Any other key is refused with AuthFailure.SecretIdNotFound
or AuthFailure.SignatureFailure, as the real service does.

requests: POST application/json signed with TC3-HMAC-SHA256; GET (query string) signed with
TC3-HMAC-SHA256, HmacSHA1 or HmacSHA256; POST application/x-www-form-urlencoded signed with HmacSHA1
or HmacSHA256. Every answer is {{"Response": {{...}}, "RequestId"}} with the API's error codes.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tencent_ocr_emulator",
        description="A local Tencent Cloud OCR API (ID document actions) that verifies signatures.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument("--port", type=int, default=9000, help="0 picks a free port (printed on start)")
    parser.add_argument(
        "--secret-id", default=DEFAULT_SECRET_ID, help=f"the SecretId accepted (default: {DEFAULT_SECRET_ID})"
    )
    parser.add_argument(
        "--secret-key", default=DEFAULT_SECRET_KEY, help=f"its SecretKey (default: {DEFAULT_SECRET_KEY})"
    )
    parser.add_argument("--token", default=None, help="require this STS token (temporary credentials)")
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=None,
        help="requests per second per SecretId for every action (0: none; default: each action's own limit, "
        "see --list-actions)",
    )
    parser.add_argument(
        "--action-rate-limit",
        action="append",
        default=[],
        metavar="ACTION=RPS",
        help="requests per second per SecretId for one action (repeatable; overrides --rate-limit for it)",
    )
    parser.add_argument("--list-actions", action="store_true", help="print the actions served and their limits")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every recognition, inside its slot")
    parser.add_argument(
        "--capacity",
        type=int,
        default=None,
        help="recognitions at once (default: the local engine's worker count; unlimited for the fixture recogniser)",
    )
    parser.add_argument(
        "--queue-timeout",
        type=float,
        default=DEFAULT_QUEUE_TIMEOUT,
        help="seconds a request may wait for a free slot before FailedOperation.EngineRecognizeTimeout "
        f"(default: {DEFAULT_QUEUE_TIMEOUT:g})",
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="local recogniser: OCR processes (default: one per core)"
    )
    parser.add_argument(
        "--max-pixels",
        type=int,
        default=DEFAULT_MAX_PIXELS,
        help="largest image (width x height, read from its header) decoded; larger ones get "
        f"FailedOperation.ImageDecodeFailed (default: {DEFAULT_MAX_PIXELS})",
    )
    parser.add_argument(
        "--socket-timeout",
        type=float,
        default=DEFAULT_SOCKET_TIMEOUT,
        help=f"seconds a connection may stay silent before it is closed (default: {DEFAULT_SOCKET_TIMEOUT:g})",
    )
    parser.add_argument("--fault-internal-error", type=float, default=0.0, help="probability of InternalError")
    parser.add_argument("--fault-http-5xx", type=float, default=0.0, help="probability of HTTP 502")
    parser.add_argument("--fault-drop", type=float, default=0.0, help="probability of a dropped connection")
    parser.add_argument("--fault-throttle", type=float, default=0.0, help="probability of RequestLimitExceeded")
    parser.add_argument("--recogniser", choices=("fixture", "local"), default="fixture")
    parser.add_argument("--fixture", help="JSON table {sha256: {Fields, WarnCardInfos}} for the fixture recogniser")
    parser.add_argument(
        "--unknown-images",
        choices=("synthesise", "reject"),
        default="synthesise",
        help="fixture recogniser: answer for images missing from the table",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed for fault injection")
    return parser


def _limits(every: float | None, per_action: list[str]) -> dict[str, float]:
    """The rate limit of every action from ``--rate-limit`` and ``--action-rate-limit NAME=RPS``."""
    limits = rate_limits(every)
    overrides: dict[str, float] = {}
    for item in per_action:
        name, _, rate = item.partition("=")
        try:
            overrides[name.strip()] = float(rate)
        except ValueError:
            raise ValueError(f"--action-rate-limit takes ACTION=RPS, e.g. MLIDCardOCR=5; got {item!r}") from None
    rate_limits(overrides)  # refuses unknown action names
    return {**limits, **overrides}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print("the emulator listens on loopback only", file=sys.stderr)
        return 2
    if args.capacity is not None and args.capacity < 1:
        parser.error("--capacity must be at least 1")
    try:
        limits = _limits(args.rate_limit, args.action_rate_limit)
    except ValueError as err:
        parser.error(str(err))
    if args.list_actions:
        for name, rate in limits.items():
            facts = ACTIONS[name]
            print(f"{name:40} {rate:g}/s ({'stated' if facts.rate_stated else 'not stated'})  {facts.documents}")
        return 0
    server = EmulatorServer(
        recogniser=load_recogniser(
            args.recogniser, fixture=args.fixture, unknown=args.unknown_images, workers=args.workers
        ),
        secret_id=args.secret_id,
        secret_key=args.secret_key,
        token=args.token,
        host=args.host,
        port=args.port,
        rate_limit=limits,
        latency=args.latency_ms / 1000.0,
        faults=Faults(args.fault_internal_error, args.fault_http_5xx, args.fault_drop, args.fault_throttle),
        seed=args.seed,
        capacity=args.capacity,
        queue_timeout=args.queue_timeout,
        max_pixels=args.max_pixels,
        socket_timeout=args.socket_timeout,
    )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    server.start()
    slots = server.capacity.slots
    print(
        f"Tencent Cloud OCR emulator listening on {server.endpoint} ({args.recogniser} recogniser, "
        f"capacity {slots if slots is not None else 'unlimited'})",
        flush=True,
    )
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
