"""``python -m tencent_ocr_emulator``: run the local Tencent Cloud OCR emulator."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from tencent_ocr_emulator.recognisers import load_recogniser
from tencent_ocr_emulator.server import (
    DEFAULT_SECRET_ID,
    DEFAULT_SECRET_KEY,
    EmulatorServer,
    Faults,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tencent_ocr_emulator",
        description="A local Tencent Cloud OCR API (RecognizeSingaporeIDCardOCR) that verifies signatures.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument("--port", type=int, default=9000, help="0 picks a free port (printed on start)")
    parser.add_argument("--secret-id", default=DEFAULT_SECRET_ID)
    parser.add_argument("--secret-key", default=DEFAULT_SECRET_KEY)
    parser.add_argument("--token", default=None, help="require this STS token (temporary credentials)")
    parser.add_argument("--rate-limit", type=float, default=20.0, help="requests per second per SecretId (0: none)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every recognition")
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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print("the emulator listens on loopback only", file=sys.stderr)
        return 2
    server = EmulatorServer(
        recogniser=load_recogniser(args.recogniser, fixture=args.fixture, unknown=args.unknown_images),
        secret_id=args.secret_id,
        secret_key=args.secret_key,
        token=args.token,
        host=args.host,
        port=args.port,
        rate_limit=args.rate_limit,
        latency=args.latency_ms / 1000.0,
        faults=Faults(args.fault_internal_error, args.fault_http_5xx, args.fault_drop, args.fault_throttle),
        seed=args.seed,
    )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    server.start()
    print(
        f"Tencent Cloud OCR emulator listening on {server.endpoint} ({args.recogniser} recogniser)",
        flush=True,
    )
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
