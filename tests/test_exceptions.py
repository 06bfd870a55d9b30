"""One base class: every exception the provider defines derives from TencentOcrError."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import airflow_provider_tencent_ocr
from airflow_provider_tencent_ocr.errors import TencentOcrError

# Signals between the provider's own threads, never raised to a caller: kept apart from
# TencentOcrError so that no ``except TencentOcrError`` can swallow one.
CONTROL_FLOW = {"airflow_provider_tencent_ocr.run.worker.Stopped"}


def _provider_exceptions() -> list[type[BaseException]]:
    found = []
    for module_info in pkgutil.walk_packages(airflow_provider_tencent_ocr.__path__, "airflow_provider_tencent_ocr."):
        module = importlib.import_module(module_info.name)
        for name, obj in vars(module).items():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseException)
                and obj.__module__ == module.__name__
                and not name.startswith("_")
            ):
                found.append(obj)
    return found


def test_every_public_provider_exception_shares_the_base() -> None:
    exceptions = _provider_exceptions()
    assert len(exceptions) >= 5, "the walk must have found the provider's exceptions"
    names = {f"{e.__module__}.{e.__qualname__}": e for e in exceptions}
    outside = sorted(
        name for name, e in names.items() if not issubclass(e, TencentOcrError) and name not in CONTROL_FLOW
    )
    assert not outside, f"not derived from TencentOcrError: {outside}"
