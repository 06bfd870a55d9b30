"""The Airflow UI's "Test Connection" button on a ``tencentcloud`` connection, in a real browser.

Starts everything on loopback and stops it again: a throwaway AIRFLOW_HOME (SQLite, migrated),
the emulator, ``airflow api-server`` (Simple auth manager, every user admin, connection testing
enabled) and Debian's Chromium driven by Selenium. Two stored connections are tested from the
connection list, as a user would:

- ``ui_host_port``: the destination in Host / Port / Protocol (the provider's form since 0.2):
  the test must succeed.
- ``ui_endpoint_extra``: the destination only in the old ``endpoint`` extra, Port left empty:
  Airflow 3.3's UI sends ``port: 0`` for the empty port, its server compares that with the stored
  empty port and refuses ("Bad Request"). Recorded, not hidden: the documented way for such
  connections is ``airflow connections test`` or filling in Host and Port.

Writes a PNG screenshot of each toast to ``--out`` (default ``ui-connection-test/``) and exits
non-zero unless the first succeeds and the second shows the refusal.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

SECRET_ID = "AKIDuitest"
SECRET_KEY = "ui-test-secret-key-0123456789"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_http(url: str, seconds: float, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the api-server exited with {process.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - loopback only
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise RuntimeError(f"{url} did not answer within {seconds:g} s")


def _store_connections(emulator_endpoint: str) -> None:
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session

    host, port = emulator_endpoint.removeprefix("http://").split(":")
    extra = json.dumps({"region": "ap-singapore"})
    with create_session() as session:
        session.add_all(
            [
                Connection(
                    conn_id="ui_host_port",
                    conn_type="tencentcloud",
                    host=host,
                    port=int(port),
                    schema="http",
                    login=SECRET_ID,
                    password=SECRET_KEY,
                    extra=extra,
                ),
                Connection(
                    conn_id="ui_endpoint_extra",
                    conn_type="tencentcloud",
                    login=SECRET_ID,
                    password=SECRET_KEY,
                    extra=json.dumps({"region": "ap-singapore", "endpoint": emulator_endpoint}),
                ),
            ]
        )


def _browser(chromium: str, driver: str, profile: Path) -> object:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1400,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


def _test_from_list(browser: object, base: str, conn_id: str, screenshot: Path) -> str:
    """Click the row's Test button in the connection list; the toast's text (title and message)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver = browser  # a selenium WebDriver
    driver.get(f"{base}/connections")  # type: ignore[attr-defined]
    wait = WebDriverWait(driver, 120)
    row = wait.until(ec.presence_of_element_located((By.XPATH, f"//tr[.//*[normalize-space()='{conn_id}']]")))
    button = row.find_element(By.XPATH, ".//button[@aria-label='Test Connection' or @title='Test Connection']")
    button.click()
    toast = wait.until(
        ec.visibility_of_element_located(
            (
                By.XPATH,
                "//*[contains(., 'Test Connection Successful') or contains(., 'Test Connection Failed')]"
                "[@role='status' or @role='alert' or contains(@class, 'toast') or @data-scope='toast']",
            )
        )
    )
    time.sleep(1)  # the toast's message renders after its title
    text = " ".join(toast.text.split())
    driver.save_screenshot(str(screenshot))  # type: ignore[attr-defined]
    for close in driver.find_elements(By.XPATH, "//*[@data-scope='toast']//button"):  # type: ignore[attr-defined]
        try:
            close.click()
        except Exception:  # noqa: BLE001 - a toast that already went away
            pass
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("ui-connection-test"))
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--driver", default=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    work = Path(tempfile.mkdtemp(prefix="ui-connection-test-"))
    port = _free_port()
    os.environ.update(
        {
            "AIRFLOW_HOME": str(work / "airflow"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__DAGS_FOLDER": str(work / "dags"),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        }
    )
    (work / "dags").mkdir()
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "db", "migrate"], check=True, capture_output=True, timeout=900)

    from tencent_ocr_emulator.server import EmulatorServer

    results: dict[str, str] = {}
    api_log = (work / "api-server.log").open("wb")
    with EmulatorServer(secret_id=SECRET_ID, secret_key=SECRET_KEY, rate_limit=1000) as emulator:
        _store_connections(emulator.endpoint)
        server = subprocess.Popen(
            [airflow, "api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            stdout=api_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        browser = None
        try:
            _wait_http(f"http://127.0.0.1:{port}/api/v2/monitor/health", 300, server)
            browser = _browser(args.chromium, args.driver, work / "chromium-profile")
            for conn_id in ("ui_host_port", "ui_endpoint_extra"):
                results[conn_id] = _test_from_list(
                    browser, f"http://127.0.0.1:{port}", conn_id, args.out / f"{conn_id}.png"
                )
                print(f"{conn_id}: {results[conn_id]}", flush=True)
            probes = emulator.stats.requests
        finally:
            if browser is not None:
                browser.quit()  # type: ignore[attr-defined]
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            api_log.close()
    shutil.copy(work / "api-server.log", args.out / "api-server.log")
    shutil.rmtree(work, ignore_errors=True)

    ok = "Test Connection Successful" in results.get("ui_host_port", "")
    refused = "Test Connection Failed" in results.get("ui_endpoint_extra", "")
    print(f"emulator requests (connection probes that reached it): {probes}")
    print(
        f"host/port connection: {'tested OK' if ok else 'NOT OK'}; endpoint-extra connection: "
        f"{'refused by Airflow as documented' if refused else 'NOT as documented'}; screenshots in {args.out}"
    )
    return 0 if ok and refused and probes == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
