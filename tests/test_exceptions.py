"""One exceptions module: every exception the provider defines lives there and derives from TencentOcrError."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import airflow_provider_tencent_ocr
from airflow_provider_tencent_ocr import exceptions
from airflow_provider_tencent_ocr.exceptions import TencentOcrError

# Signals between the provider's own threads, never raised to a caller: kept apart from
# TencentOcrError so that no ``except TencentOcrError`` can swallow one, and private to their module.
CONTROL_FLOW = {"airflow_provider_tencent_ocr.run.worker.Stopped"}
PACKAGE = Path(airflow_provider_tencent_ocr.__file__).parent


def _provider_exceptions() -> list[type[BaseException]]:
    found = []
    for module_info in pkgutil.walk_packages(airflow_provider_tencent_ocr.__path__, "airflow_provider_tencent_ocr."):
        if module_info.name == "airflow_provider_tencent_ocr.errors":
            continue  # the deprecated alias defines nothing (it warns on import)
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
    exceptions_found = _provider_exceptions()
    assert len(exceptions_found) >= 5, "the walk must have found the provider's exceptions"
    names = {f"{e.__module__}.{e.__qualname__}": e for e in exceptions_found}
    outside = sorted(
        name for name, e in names.items() if not issubclass(e, TencentOcrError) and name not in CONTROL_FLOW
    )
    assert not outside, f"not derived from TencentOcrError: {outside}"


def test_every_provider_exception_is_defined_in_the_exceptions_module() -> None:
    elsewhere = sorted(
        f"{e.__module__}.{e.__qualname__}"
        for e in _provider_exceptions()
        if e.__module__ != exceptions.__name__ and f"{e.__module__}.{e.__qualname__}" not in CONTROL_FLOW
    )
    assert not elsewhere, f"define these in airflow_provider_tencent_ocr/exceptions.py: {elsewhere}"


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("io.manifest", "ManifestError"),
        ("io.manifest_text", "TextError"),
        ("io.images", "ImageDownloadError"),
        ("io.uris", "NotARegularFile"),
        ("io.storage", "StorageBackendMissing"),
        ("run.runner", "RunAborted"),
        ("run.runner", "ErrorRateExceeded"),
        ("operators.singapore_id_card", "OutputPathRefused"),
        ("shards", "PartsIncomplete"),
    ],
)
def test_the_old_import_paths_still_give_the_same_class(module: str, name: str) -> None:
    old = getattr(importlib.import_module(f"airflow_provider_tencent_ocr.{module}"), name)
    assert old is getattr(exceptions, name)


def test_the_errors_module_is_a_deprecated_alias() -> None:
    with pytest.warns(DeprecationWarning, match="airflow_provider_tencent_ocr.exceptions"):
        errors = importlib.reload(importlib.import_module("airflow_provider_tencent_ocr.errors"))
    assert errors.TencentCloudAPIError is exceptions.TencentCloudAPIError
    assert errors.TencentOcrError is exceptions.TencentOcrError


def test_no_provider_module_imports_the_deprecated_alias() -> None:
    users = sorted(
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name != "errors.py" and "airflow_provider_tencent_ocr.errors" in path.read_text()
    )
    assert not users, f"import from airflow_provider_tencent_ocr.exceptions instead: {users}"
