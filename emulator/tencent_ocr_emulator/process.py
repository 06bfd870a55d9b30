"""Run the emulator CLI in a child process (demo, benchmarks): started on a free port, always stopped."""

from __future__ import annotations

import selectors
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def emulator_process(*flags: str, start_timeout: float = 120.0) -> Iterator[str]:
    """``python -m tencent_ocr_emulator --port 0 FLAGS``; yields its endpoint URL.

    ``FLAGS`` are the CLI's (``--capacity 1 --queue-timeout 2 --latency-ms 2500`` makes an
    overloaded service, for example). The child is stopped with SIGTERM (then killed) on the way
    out, whatever happened, so no emulator or OCR worker outlives the caller. Its stderr goes to a
    temporary file, quoted if it fails to start.
    """
    cmd = [sys.executable, "-m", "tencent_ocr_emulator", "--port", "0", *flags]
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr, text=True)
        assert proc.stdout is not None
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(proc.stdout, selectors.EVENT_READ)
                ready = selector.select(start_timeout)
            line = proc.stdout.readline() if ready else ""
            if "listening on " not in line:
                stderr.seek(0)
                tail = stderr.read().decode("utf-8", "replace").strip()[-2000:]
                raise RuntimeError(
                    f"the emulator did not start within {start_timeout:.0f} s (exit code {proc.poll()}): {tail}"
                )
            yield line.split("listening on ", 1)[1].split()[0]
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            proc.stdout.close()
