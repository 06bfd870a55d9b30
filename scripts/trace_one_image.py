"""Trace one image end to end through the provider, against the emulator, and print the path it took.

Runs the Singapore operator's ``execute`` on a one-row manifest (no cache, the emulator in-process
on loopback) under ``sys.setprofile`` / ``threading.setprofile``, and records every call whose code
lives in ``airflow_provider_tencent_ocr``. A call counts as a cross-module call when the nearest
provider frame above it belongs to another provider module (calls made through the standard
library, such as a thread pool running the worker, are attributed to the provider frame that
started them). ARCHITECTURE.md is written from this script's output.

    .venv/bin/python scripts/trace_one_image.py            # a summary
    .venv/bin/python scripts/trace_one_image.py --json trace.json   # also every module, edge and call
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType
from typing import Any

PACKAGE = "airflow_provider_tencent_ocr"
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # helpers.make_png: a small valid PNG

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="tencent-ocr-trace-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")


class Tracer:
    """Provider modules in first-visit order, and cross-module calls between them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.first_visit: dict[str, int] = {}
        self.calls: collections.Counter[str] = collections.Counter()  # calls into each module
        self.edges: collections.Counter[tuple[str, str]] = collections.Counter()
        self.cross_calls = 0
        self.returns = 0  # cross-module calls into a module visited before (not the caller's own)
        self.sequence: list[tuple[str, str, str]] = []  # (caller module, callee module, callee function)

    @staticmethod
    def _module(frame: FrameType | None) -> str | None:
        name = frame.f_globals.get("__name__", "") if frame is not None else ""
        return name[len(PACKAGE) + 1 :] or "__init__" if name.startswith(PACKAGE) else None

    def profile(self, frame: FrameType, event: str, arg: Any) -> None:
        if event != "call":
            return
        callee = self._module(frame)
        if callee is None or _importing(frame):
            return  # not the provider's code, or a module body running at import (the lazy imports)
        caller_frame = frame.f_back
        while caller_frame is not None and self._module(caller_frame) is None:
            caller_frame = caller_frame.f_back
        caller = self._module(caller_frame)
        with self.lock:
            self.calls[callee] += 1
            seen_before = callee in self.first_visit
            self.first_visit.setdefault(callee, len(self.first_visit))
            if caller is not None and caller != callee:
                self.cross_calls += 1
                self.returns += seen_before
                self.edges[(caller, callee)] += 1
                self.sequence.append((caller, callee, frame.f_code.co_name))


def _importing(frame: FrameType | None) -> bool:
    """Whether this call runs inside a module body (an import), anywhere up the stack."""
    while frame is not None:
        if frame.f_code.co_name == "<module>" and frame.f_globals.get("__name__") != "__main__":
            return True
        frame = frame.f_back
    return False


def layer(module: str) -> str:
    """The folder a module sits in (``run``, ``io``, ...), or the module itself at the top level."""
    return module.split(".")[0]


def run_one_image(tracer: Tracer) -> dict[str, Any]:
    from helpers import make_context, make_png

    from airflow_provider_tencent_ocr.operators.singapore_id_card import TencentOcrSingaporeIdCardOperator
    from tencent_ocr_emulator.server import EmulatorServer

    work = Path(tempfile.mkdtemp(prefix="tencent-ocr-trace-run-"))
    image = work / "card.png"
    image.write_bytes(make_png(8, 8, seed=1))
    manifest = work / "manifest.csv"
    manifest.write_text(f"record_id,image_uri\nr1,{image}\n")
    with EmulatorServer(rate_limit=1000) as emulator:
        os.environ["AIRFLOW_CONN_TENCENTCLOUD_DEFAULT"] = emulator.connection_json()
        operator = TencentOcrSingaporeIdCardOperator(
            task_id="ocr", manifest=str(manifest), output=str(work / "out.parquet"), cache="none"
        )
        context = make_context()
        threading.setprofile(tracer.profile)
        sys.setprofile(tracer.profile)
        try:
            summary = operator.execute(context)
        finally:
            sys.setprofile(None)
            threading.setprofile(None)  # type: ignore[arg-type]
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", metavar="PATH", help="also write every module, edge and call, as JSON")
    args = parser.parse_args()
    tracer = Tracer()
    summary = run_one_image(tracer)
    modules = sorted(tracer.first_visit, key=tracer.first_visit.__getitem__)
    layer_edges: collections.Counter[tuple[str, str]] = collections.Counter()
    for (a, b), n in tracer.edges.items():
        if layer(a) != layer(b):
            layer_edges[(layer(a), layer(b))] += n
    provider = (name for name, module in sys.modules.items() if name.startswith(PACKAGE + "."))
    loaded = sorted(name for name in provider if not hasattr(sys.modules[name], "__path__"))  # modules, not folders
    report = {
        "loaded_modules": loaded,
        "rows": summary.get("rows"),
        "ok": summary.get("ok"),
        "modules": [{"module": m, "calls": tracer.calls[m]} for m in modules],
        "cross_module_calls": tracer.cross_calls,
        "distinct_edges": len(tracer.edges),
        "calls_into_a_module_already_visited": tracer.returns,
        "edges": [{"from": a, "to": b, "calls": n} for (a, b), n in tracer.edges.most_common()],
        "layer_edges": [{"from": a, "to": b, "calls": n} for (a, b), n in sorted(layer_edges.items())],
        "path": [f"{a} -> {b}.{fn}" for a, b, fn in tracer.sequence],
    }
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    print(f"one image: rows={report['rows']} ok={report['ok']} (import-time calls left out)")
    print(f"{len(loaded)} provider modules loaded; {len(modules)} of them run for the image, in first-visit order:")
    for m in modules:
        print(f"  {tracer.first_visit[m] + 1:2d}. {m:40s} {tracer.calls[m]:6d} calls")
    print(
        f"{tracer.cross_calls} cross-module calls over {len(tracer.edges)} distinct edges; "
        f"{tracer.returns} of them into a module already visited"
    )
    print("between layers (caller layer -> callee layer: calls):")
    for (a, b), n in sorted(layer_edges.items()):
        print(f"  {a} -> {b}: {n}")
    print("edges (caller -> callee: calls):")
    for (a, b), n in sorted(tracer.edges.items()):
        print(f"  {a} -> {b}: {n}")
    print("path (cross-module calls in order, first 80):")
    for step in report["path"][:80]:
        print(f"  {step}")


if __name__ == "__main__":
    main()
