"""Publishing a run's output: only a run that succeeds replaces it; a failed run's rows go beside it.

An endpoint typo or a run above ``max_error_rate`` must not replace yesterday's good table with a
table of error rows. Its rows are still worth reading (which images, which codes), so they are
published under a sibling name that dataset readers skip (``_failed_<name>``: Arrow, Spark and Hive
ignore files whose name starts with ``_``), and the error names that path.
"""

from __future__ import annotations

import posixpath
from typing import Protocol

from airflow_provider_tencent_ocr.exceptions import RunStopped, TencentOcrError
from airflow_provider_tencent_ocr.io.manifest import Manifest
from airflow_provider_tencent_ocr.io.uris import redact_uri
from airflow_provider_tencent_ocr.run.runner import OcrRunner, RowSink, RunSummary

FAILED_PREFIX = "_failed_"


class OutputWriter(RowSink, Protocol):
    """What publishing needs of the writer (``ParquetOutputWriter`` satisfies it)."""

    @property
    def rows_received(self) -> int: ...

    def commit(self, uri: str | None = None) -> None: ...

    def abort(self) -> None: ...


def failed_output_uri(output: str) -> str:
    """Where a failed run's rows go: ``<folder>/_failed_<name>`` beside ``output`` (any URI or path)."""
    folder, name = posixpath.split(output.rstrip("/"))
    return posixpath.join(folder, FAILED_PREFIX + name) if folder else FAILED_PREFIX + name


def run_and_publish(runner: OcrRunner, manifest: Manifest, writer: OutputWriter, *, output: str) -> RunSummary:
    """Run ``manifest`` into ``writer``; publish at ``output`` only when the run succeeds.

    When the run fails with one of the provider's errors (``max_error_rate`` exceeded, the service
    unreachable, a fatal answer, a manifest that changed), the rows written so far go to
    :func:`failed_output_uri` instead, and the error's message names that path. Any other failure
    (a bug, a kill) drops the temporary file. Either way the published output stays as it was.
    """
    try:
        summary = runner.run(manifest, writer, output=output)
        runner.check_error_rate(summary)
    except RunStopped:  # killed: no diagnosis copy (the process may not live long enough), no temp file
        writer.abort()
        raise
    except TencentOcrError as exc:
        aside = _set_aside(writer, output)
        where = (
            f" The rows of this run are in {redact_uri(aside)} for diagnosis" if aside else " This run wrote no rows"
        )
        exc.args = (f"{exc.args[0] if exc.args else exc}{where}; the output {redact_uri(output)} was left as it was.",)
        raise
    except BaseException:
        writer.abort()
        raise
    writer.commit()
    return summary


def _set_aside(writer: OutputWriter, output: str) -> str | None:
    """Publish the failed run's rows beside the output; None when there are none (or they cannot be)."""
    if writer.rows_received == 0:
        writer.abort()
        return None
    aside = failed_output_uri(output)
    try:
        writer.commit(aside)
    except Exception:  # the diagnosis copy must never hide the run's own error
        writer.abort()
        return None
    return aside
