"""What users install: the provider's wheel, built from pyproject.toml, and that wheel alone in a fresh venv.

The wheel must carry the provider and nothing of the test tooling (emulator, card generator, offline
OCR engine, pytest plugin), declare no ``pytest11`` entry point, and be found by Airflow's
``airflow providers list``. The fresh venv is installed with this environment's own versions (so
from the uv cache, offline, and the same on the newest and the oldest supported Airflow).
Also: the lock files pin every requirement the two pyproject.toml files declare, within its range.
"""

from __future__ import annotations

import email
import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
UV = BIN / "uv"
PACKAGE = "airflow_provider_tencent_ocr"
TOOLING = ("tencent_ocr_emulator", "emulator", "pytest_plugin", "local_engine", "cards", "rapidocr")


def _run(*args: str | Path, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, env=env, timeout=timeout)
    assert done.returncode == 0, f"{args[:3]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The provider's wheel, built through its sdist without build isolation (setuptools from the lock)."""
    out = tmp_path_factory.mktemp("dist")
    _run(UV, "build", "--no-build-isolation", "--python", sys.executable, "--out-dir", out, ROOT)
    (built,) = out.glob("*.whl")
    return built


def _metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        return email.message_from_bytes(zf.read(name))


def _entry_points(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as zf:
        return zf.read(next(n for n in zf.namelist() if n.endswith(".dist-info/entry_points.txt"))).decode()


@pytest.mark.slow
def test_wheel_holds_the_provider_and_none_of_the_test_tooling(wheel: Path):
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    packages = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert packages == {PACKAGE}
    assert f"{PACKAGE}/operators/singapore_id_card.py" in names
    assert f"{PACKAGE}/get_provider_info.py" in names
    assert f"{PACKAGE}/py.typed" in names  # PEP 561: type checkers use the package's hints
    for name in names:
        parts = re.split(r"[/.]", name.lower())
        assert not any(tool in parts for tool in TOOLING), name
        assert not name.startswith(("tests/", "dags/", "benchmarks/", "scripts/")), name


@pytest.mark.slow
def test_wheel_declares_the_provider_entry_point_and_no_pytest_plugin(wheel: Path):
    entry_points = _entry_points(wheel)
    assert "[pytest11]" not in entry_points
    assert "[apache_airflow_provider]" in entry_points
    assert f"provider_info = {PACKAGE}.get_provider_info:get_provider_info" in entry_points


@pytest.mark.slow
def test_wheel_metadata_requires_the_supported_airflow_and_no_emulator(wheel: Path):
    meta = _metadata(wheel)
    assert meta["License-Expression"] == "Apache-2.0"
    requires = [Requirement(r) for r in meta.get_all("Requires-Dist")]
    core = {r.name: r for r in requires if r.marker is None}
    assert str(core["apache-airflow"].specifier) == "<4,>=3.2"
    assert "tencent-ocr-emulator" not in {r.name for r in requires}
    extras = set(meta.get_all("Provides-Extra"))
    assert {"report", "openlineage", "dev"} <= extras


@pytest.fixture(scope="module")
def fresh_env(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv holding the wheel and its dependencies only, pinned to this environment's versions."""
    root = tmp_path_factory.mktemp("fresh")
    pins = root / "constraints.txt"
    frozen = _run(UV, "pip", "freeze", "--python", sys.executable, "--exclude-editable")
    pins.write_text("\n".join(line for line in frozen.splitlines() if "==" in line) + "\n")
    venv = root / "venv"
    _run(UV, "venv", "--quiet", "--python", sys.executable, venv)
    _run(UV, "pip", "install", "--quiet", "--python", venv / "bin" / "python", "--constraint", pins, wheel)
    return venv


def _fresh_env_vars(venv: Path, home: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTHON", "VIRTUAL_ENV"))}
    return {**keep, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "VIRTUAL_ENV": str(venv)}


@pytest.mark.slow
def test_installed_alone_airflow_lists_the_provider(fresh_env: Path, tmp_path: Path):
    env = _fresh_env_vars(fresh_env, tmp_path)
    listed = _run(fresh_env / "bin" / "airflow", "providers", "list", "--output", "json", env=env)
    providers = {p["package_name"]: p for p in json.loads(listed[listed.index("[") :])}
    assert "airflow-provider-tencent-ocr" in providers
    hooks = _run(fresh_env / "bin" / "airflow", "providers", "hooks", "--output", "json", env=env)
    assert '"tencentcloud"' in hooks


@pytest.mark.slow
def test_installed_alone_brings_no_emulator_and_no_pytest_plugin(fresh_env: Path, tmp_path: Path):
    probe = (
        "import importlib.metadata as m, importlib.util as u\n"
        "print(sorted(e.value for e in m.entry_points(group='pytest11') if 'tencent' in e.value + e.dist.name))\n"
        "print(u.find_spec('tencent_ocr_emulator') is None, u.find_spec('pytest') is None)\n"
        "import airflow_provider_tencent_ocr.operators.singapore_id_card\n"
    )
    out = _run(fresh_env / "bin" / "python", "-c", probe, env=_fresh_env_vars(fresh_env, tmp_path))
    assert out.splitlines() == ["[]", "True True"]


def _pins(lock: Path) -> dict[str, list[tuple[str, str]]]:
    """name -> [(version, marker)] from a `uv pip compile --universal` output."""
    pins: dict[str, list[tuple[str, str]]] = {}
    for line in lock.read_text().splitlines():
        if m := re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)\s*(?:;\s*(.*))?$", line):
            name = re.sub(r"[-_.]+", "-", m.group(1)).lower()
            pins.setdefault(name, []).append((m.group(2), m.group(3) or ""))
    return pins


def _declared() -> list[Requirement]:
    found = []
    for path in (ROOT / "pyproject.toml", ROOT / "emulator" / "pyproject.toml"):
        project = tomllib.loads(path.read_text())["project"]
        found += [Requirement(r) for r in project.get("dependencies", [])]
        for extra in project.get("optional-dependencies", {}).values():
            found += [Requirement(r) for r in extra]
    return found


@pytest.mark.parametrize("lock", ["lock.txt", "lock-oldest.txt"])
def test_lock_pins_every_declared_requirement_within_its_range(lock: str):
    """A pyproject.toml edited without `bash scripts/lock.sh` fails here, naming what to relock."""
    pins = _pins(ROOT / "requirements" / lock)
    stale = []
    for req in _declared():
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        versions = [v for v, marker in pins.get(name, []) if "python_full_version >= '3.12'" not in marker]
        if not versions or not all(req.specifier.contains(v, prereleases=True) for v in versions):
            stale.append(f"{req} (locked: {versions or 'nothing'})")
    assert not stale, f"requirements/{lock} is stale, run `bash scripts/lock.sh`: {stale}"


def test_oldest_lock_pins_the_floor_of_the_provider():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    airflow = next(Requirement(r) for r in pyproject["dependencies"] if Requirement(r).name == "apache-airflow")
    floor = next(s.version for s in airflow.specifier if s.operator == ">=")
    oldest = _pins(ROOT / "requirements" / "lock-oldest.txt")["apache-airflow"]
    assert [v for v, _ in oldest] == [floor if floor.count(".") == 2 else f"{floor}.0"]
    newest = _pins(ROOT / "requirements" / "lock.txt")["apache-airflow"]
    assert all(airflow.specifier.contains(v) for v, _ in newest)
