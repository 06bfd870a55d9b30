"""A presigned manifest URL keeps its signature out of logs, errors, lineage, the report and XCom.

The manifest is served over real HTTP on loopback, addressed the way a user passes an S3 presigned
URL; every place the provider names a URI is then scanned for the credential and the signature.
"""

from __future__ import annotations

import collections
import http.server
import logging
import threading
import traceback
import types
from collections.abc import Iterator

import pytest
from helpers import make_png

from airflow_provider_tencent_ocr.io.manifest import ManifestError, open_manifest
from airflow_provider_tencent_ocr.io.uris import redact_text
from airflow_provider_tencent_ocr.operators.singapore_id_card import TencentOcrSingaporeIdCardOperator

CREDENTIAL = "AKIDCREDENTIAL0123"
SIGNATURE = "5f1c0ffee5ignature0123"
TOKEN = "SESSIONTOKEN0123"
SECRETS = (CREDENTIAL, SIGNATURE, TOKEN)
PRESIGNED = (
    f"?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={CREDENTIAL}%2F20261204%2Fap-singapore%2Fs3%2Faws4_request"
    f"&X-Amz-Date=20261204T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"
    f"&X-Amz-Security-Token={TOKEN}&X-Amz-Signature={SIGNATURE}"
)


class _Files(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        self._answer(with_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(with_body=False)

    def _answer(self, *, with_body: bool) -> None:
        body = self.files.get(self.path.split("?", 1)[0])
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "text/csv")
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server(tmp_path) -> Iterator[types.SimpleNamespace]:
    image = tmp_path / "card.png"
    image.write_bytes(make_png(8, 8, seed=3))
    files = {
        "/m.csv": f"record_id,image_uri\n1,{image}\n2,{tmp_path / 'missing.png'}\n".encode(),
        "/no_image_column.csv": b"record_id,picture\n1,a.png\n",
    }
    handler = type("Handler", (_Files,), {"files": files})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield types.SimpleNamespace(base=f"http://127.0.0.1:{httpd.server_address[1]}", tmp=tmp_path)
    finally:
        httpd.shutdown()
        httpd.server_close()


def _assert_no_secret(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} found in {where}"


def _full_traceback(exc: BaseException) -> str:
    """What a task log shows for ``exc``: its message and the whole chain of causes."""
    return "".join(traceback.format_exception(exc))


@pytest.mark.parametrize(
    "path",
    ["/gone.csv", "/no_image_column.csv", "/m.txt"],
    ids=["missing", "missing-column", "unknown-format"],
)
def test_manifest_errors_never_quote_the_signature(server, path):
    with pytest.raises(ManifestError) as info:
        open_manifest(server.base + path + PRESIGNED)
    _assert_no_secret(_full_traceback(info.value), "the ManifestError and its causes")
    assert f"{server.base}{path}" in str(info.value)  # still names the object


def test_redact_text_redacts_uris_and_stray_parameters():
    text = f"url=URL('http://h/m.csv{PRESIGNED}') and {PRESIGNED[1:]} and https://u:pw@h/x?a=1"
    shown = redact_text(text)
    _assert_no_secret(shown, "redact_text")
    assert "http://h/m.csv" in shown and "https://h/x?a=1" in shown and "pw" not in shown


def test_a_presigned_manifest_run_logs_and_reports_no_signature(
    server, tencent_ocr_emulator, tencent_ocr_conn_id, caplog
):
    from airflow_provider_tencent_ocr.report import build_warn_report

    caplog.set_level(logging.DEBUG)
    manifest = server.base + "/m.csv" + PRESIGNED
    output = server.tmp / "out" / "cards.parquet"
    op = TencentOcrSingaporeIdCardOperator(task_id="ocr", manifest=manifest, output=str(output), progress_interval=0.05)
    result = op.execute({"outlet_events": collections.defaultdict(types.SimpleNamespace)})
    assert result["rows"] == 2

    lineage = op.get_openlineage_facets_on_complete(None)
    assert lineage.inputs and f"127.0.0.1:{server.base.rsplit(':', 1)[1]}" in repr(lineage.inputs)
    report = build_warn_report(str(output), server.tmp / "report")
    report_files = "".join(p.read_text(errors="replace") for p in (server.tmp / "report").glob("*.[jm][sd]*"))

    logs = "\n".join([caplog.text, *(r.getMessage() for r in caplog.records)])
    assert "m.csv" in logs  # the run did log the manifest, redacted
    _assert_no_secret(logs, "the task log")
    _assert_no_secret(repr(lineage), "the lineage")
    _assert_no_secret(repr(result) + repr(report) + report_files, "XCom and the report")
    _assert_no_secret(repr(open_manifest(manifest)), "the manifest's repr")


def test_library_log_lines_and_their_tracebacks_are_redacted(caplog):
    from airflow_provider_tencent_ocr.io.uris import redact_library_logs

    redact_library_logs()
    caplog.set_level(logging.DEBUG)
    url = "http://127.0.0.1:9/m.csv" + PRESIGNED
    log = logging.getLogger("fsspec.http")
    log.debug("Retrieve file size for %s", url)
    try:
        raise OSError(f"400, url=URL('{url}')")
    except OSError:
        log.debug("fetch failed", exc_info=True)
    assert "Retrieve file size for http://127.0.0.1:9/m.csv" in caplog.text
    _assert_no_secret(caplog.text, "library log lines")


@pytest.mark.parametrize("where", ["manifest", "output", "cache", "image"])
def test_a_password_in_an_object_store_uri_never_reaches_airflow_or_the_logs(
    where, tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id, capfd, caplog
):
    """Airflow reads ``s3://user:password@bucket`` as connection id "user:password" and logged it:
    "Unable to find AWS Connection ID 'AKUSER:TOPSECRETPW'". Now refused before Airflow sees it."""
    password = "TOPSECRETPW0123"
    secret_uri = f"s3://AKUSER:{password}@bucket/x"
    image = tmp_path / "a.png"
    image.write_bytes(make_png(5, 5, seed=1))
    kwargs: dict = {"images": [str(image)], "output": str(tmp_path / "o.parquet")}
    if where == "manifest":
        kwargs = {"manifest": secret_uri + "/m.csv", "output": kwargs["output"]}
    elif where == "output":
        kwargs["output"] = secret_uri + "/o.parquet"
    elif where == "cache":
        kwargs["cache"] = secret_uri + "/cache"
    else:
        kwargs["images"] = [str(image), secret_uri + "/card.png"]
    op = TencentOcrSingaporeIdCardOperator(
        task_id="ocr", tencentcloud_conn_id=tencent_ocr_conn_id, progress_interval=60.0, **kwargs
    )
    texts = []
    with caplog.at_level(logging.DEBUG):
        try:
            result = op.execute({"outlet_events": collections.defaultdict(types.SimpleNamespace)})
        except Exception as err:  # the run's configuration: refused, naming what to do
            texts.append("".join(traceback.format_exception(err)))
            assert "storage_conn_id" in str(err) and "s3://bucket/x" in str(err)
        else:
            assert where == "image" and result["errors_by_code"] == {"InvalidManifestRow": 1}
    captured = capfd.readouterr()
    texts += [captured.out, captured.err, caplog.text]
    assert not any(password in text for text in texts)
