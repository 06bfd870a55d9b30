"""The base of every OCR operator: the shared arguments, their checks, and a thin ``execute``.

Arguments are templated and checked here; ``assembly.assemble_run`` builds the run from them and
``run/`` does the work. Nothing heavy is imported and nothing is read until ``execute``, so DAG
files parse fast. Each run default is declared once, in ``RunOptions``, and read from there.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow.sdk import Asset, BaseOperator
from airflow.sdk.exceptions import AirflowFailException, AirflowNotFoundException

from airflow_provider_tencent_ocr.choices import PhotoOutput, PiiModeName, SendAs, check_choice
from airflow_provider_tencent_ocr.io.storage import Permissions
from airflow_provider_tencent_ocr.io.uris import redact_uri
from airflow_provider_tencent_ocr.rows.pii import PiiMode, check_portrait_allowed
from airflow_provider_tencent_ocr.run.options import (
    RunOptions,
    check_counts,
    check_error_rate,
    check_rates,
    check_seconds,
)

if TYPE_CHECKING:
    import pyarrow as pa
    from airflow.sdk import Context

    from airflow_provider_tencent_ocr.io.parquet import ColumnMetadata
    from airflow_provider_tencent_ocr.operators.assembly import AssembledRun
    from airflow_provider_tencent_ocr.run.documents import DocumentFormat
    from airflow_provider_tencent_ocr.run.runner import RunSummary

#: The defaults of every run argument, declared once (in ``RunOptions``).
DEFAULTS = RunOptions()


def output_asset(output: str) -> Asset:
    """The Asset a run of ``output`` updates.

    A templated output (``.../ds={{ ds }}/cards.parquet``) maps to the folder above its first
    template (``s3://kyc/ocr/ds={{ ds }}/...`` -> ``s3://kyc/ocr``), so every run updates the same
    Asset and the event's ``extra`` names the file. The name is the URI exactly as Airflow
    normalises it (no trailing slash, no ``conn_id@``), so a consumer's ``Asset("s3://kyc/ocr")``
    is this Asset. Characters that are not allowed in a URI path are percent-encoded:
    ``/x/run#1/cards.parquet`` is ``file:///x/run%231/cards.parquet``.
    """
    uri = output
    if "{{" in uri:
        uri = posixpath.dirname(uri[: uri.index("{{")]) + "/"
    local = "://" not in uri
    if uri in ("/", "") or uri.endswith("://") or (local and not posixpath.isabs(uri)):
        raise ValueError(
            f"cannot derive an Asset from output={redact_uri(output)!r}: give an absolute path or a URI whose "
            "folder is fixed (templates after it are fine), or pass outlets=[Asset(...)] yourself"
        )
    # Percent-encoded: a "#" or "?" in a folder name is part of the path, not a fragment or a query
    # (unencoded, /x/run#1/ and /x/run#2/ would both be file:///x/run and trigger each other's consumers).
    if local:  # normalised like the consumer DAG's Asset, so /a/./b and /a/b are one Asset
        uri = "file://" + quote(posixpath.abspath(uri), safe="/")
    else:
        scheme, _, rest = uri.partition("://")
        netloc, slash, path = rest.partition("/")
        uri = f"{scheme}://{netloc}{slash}{quote(path, safe='/%=&?:@')}"
    normalised = Asset(redact_uri(uri) or uri).uri  # Airflow's own normalisation (scheme, slashes, query)
    return Asset(name=normalised, uri=normalised)


def _check_rate_actions(rates: object) -> None:
    """A ``{action: rate}`` key naming no served action (a typo) would pace nothing: refuse it."""
    from airflow_provider_tencent_ocr.actions.registry import ACTIONS

    unknown = sorted(set(rates) - set(ACTIONS)) if isinstance(rates, Mapping) else []
    if unknown:
        raise ValueError(
            f"max_requests_per_second names action(s) the provider does not serve: {', '.join(unknown)}; "
            f"use API action names: {', '.join(ACTIONS)}"
        )


class TencentOcrBaseOperator(BaseOperator):
    """Run one Tencent Cloud OCR action per manifest row and write one Parquet table.

    Subclasses say which rows they write (``output_schema``) and which action each row gets.

    :param manifest: path or URI of a CSV, Parquet or JSON Lines manifest (templated).
    :param images: instead of ``manifest``, a list of image URIs, e.g. from XCom (templated).
    :param output: path or URI of the Parquet file to write, replaced atomically (templated).
    :param manifest_format: ``csv``, ``parquet`` or ``jsonl`` when the extension does not say (templated).
    :param image_column: manifest column holding image URIs (templated).
    :param id_column: manifest column used as ``record_id``, by default the row number (templated).
    :param carry_columns: manifest columns copied into the output after the OCR columns (templated).
    :param tencentcloud_conn_id: the ``tencentcloud`` connection (templated).
    :param storage_conn_id: connection for object storage manifests, images and outputs; by default the
        ``tencentcloud_conn_id`` when any of them is on ``cos://`` (templated).
    :param send_as: ``base64`` (read the bytes and send them) or ``url``: http(s) URIs go as ImageUrl, and
        object-storage images (``cos://``, ``s3://``, ``gs://``) as a presigned URL the service downloads.
    :param photo_output: ``none`` (default; the portrait is not even requested), ``inline`` (binary
        ``photo`` column) or ``files`` (one file per portrait under ``photo_dir``, path in ``photo_path``).
    :param photo_dir: where ``photo_output="files"`` writes, by default ``photos/`` beside the output (templated).
    :param pii: ``plain``, ``mask`` or ``hash``: what the personal-data columns hold (names and numbers
        masked or keyed-hashed; dates cut to the year, postcodes to their sector; see docs/personal-data.md).
    :param allow_portrait: with ``pii="mask"`` or ``"hash"``, write portraits anyway (``photo_output``
        other than ``none`` is refused in those modes without it).
    :param file_mode: mode of the local files with personal data this task writes: the output (or
        shard part, or a failed run's rows) and portrait files (default ``0o640``: no access for others).
    :param dir_mode: mode of the local folders created for them (default ``0o750``). Object storage
        keeps the bucket's permissions. Use ``0o644`` / ``0o755`` to let every local user read them.
    :param pii_key_conn_id: connection whose password is the HMAC key for ``pii="hash"`` (templated).
    :param pii_key_variable: or an Airflow Variable holding that key (templated).
    :param cache: result cache folder, local or object storage, safe to share between tasks (default:
        ``<output>.ocr-cache/``); ``"none"`` disables it (templated).
    :param max_requests_per_second: ceiling of the pacing shared by all workers, per action: a number
        for every action, or a mapping ``{action: rate}`` (actions not in it keep their documented
        default, see ``docs/operators.md``). Throttling answers lower the pace and it recovers
        slowly, so several tasks on one account share each action's limit fairly.
    :param max_in_flight: ceiling of the calls in flight per action; below it, the number follows the
        service's latency (fewer when answers slow down), so a slow service is not sent more than it
        can answer within ``timeout``.
    :param max_attempts: attempts per image for errors that may pass (5xx, timeouts, dropped
        connections); throttling answers do not use them up.
    :param timeout: seconds to wait for one answer (default: the connection's ``timeout`` extra, else 30).
        A read timeout may still be billed, so it is retried only after a wait, and with fewer calls at once.
    :param connect_timeout: seconds to open a connection to the API (default: the smaller of ``timeout``
        and 10). A connect failure never reached the service, so it is resent at once.
    :param image_timeout: seconds an image server may stay silent (before its first byte, and
        between reads) before the download is retried (default 30).
    :param image_deadline: seconds for a whole image download, headers included (default 60): a
        server trickling its answer is cut off there, and the download retried.
    :param retry_deadline: seconds from the start of the task after which nothing is retried any more
        (default 6 hours): a row still throttled then becomes an error row. None waits without limit.
    :param max_error_rate: fail the task (after writing the output) above this share of error rows.
    :param batch_rows: manifest rows read and written per batch (bounds memory).
    :param progress_interval: seconds between progress lines (counts, rate, ETA) in the task log.
    :param shard_index: with ``shard_count``, process only this contiguous slice of the manifest,
        0-based; usually ``.expand(shard_index=range(shard_count))`` (templated).
    :param shard_count: split the manifest into this many slices; ``output`` is then the dataset folder,
        this task writes ``<output>/part-<index>-of-<count>.parquet`` and emits no Asset event itself
        (see ``airflow_provider_tencent_ocr.shards.check_parts``) (templated).
    :param allow_link_local_images: let http(s) image URLs, and redirects from image servers, reach
        link-local addresses (169.254.0.0/16, fe80::/10, where cloud metadata services answer);
        refused by default (error code ``ImageAddressRefused``).
    """

    template_fields: Sequence[str] = (
        "manifest",
        "images",
        "output_uri",
        "manifest_format",
        "image_column",
        "id_column",
        "carry_columns",
        "tencentcloud_conn_id",
        "storage_conn_id",
        "photo_dir",
        "cache",
        "pii_key_conn_id",
        "pii_key_variable",
        "shard_index",
        "shard_count",
    )
    ui_color = "#00a3ff"

    def __init__(
        self,
        *,
        output: str,
        manifest: str | None = None,
        images: list[str] | str | None = None,
        manifest_format: str | None = None,
        image_column: str = "image_uri",
        id_column: str | None = None,
        carry_columns: Sequence[str] = (),
        tencentcloud_conn_id: str = "tencentcloud_default",
        storage_conn_id: str | None = DEFAULTS.storage_conn_id,
        send_as: SendAs = DEFAULTS.send_as,
        photo_output: PhotoOutput = "none",
        photo_dir: str | None = None,
        pii: PiiMode | PiiModeName = "plain",
        allow_portrait: bool = False,
        file_mode: int = 0o640,
        dir_mode: int = 0o750,
        pii_key_conn_id: str | None = None,
        pii_key_variable: str | None = None,
        cache: str | None = None,
        max_requests_per_second: float | Mapping[str, float] | None = DEFAULTS.max_requests_per_second,
        max_in_flight: int = DEFAULTS.max_in_flight,
        max_attempts: int = DEFAULTS.max_attempts,
        timeout: float | None = DEFAULTS.timeout,
        connect_timeout: float | None = None,
        image_timeout: float = DEFAULTS.image_timeout,
        image_deadline: float = DEFAULTS.image_deadline,
        retry_deadline: float | None = DEFAULTS.retry_deadline,
        max_error_rate: float | None = DEFAULTS.max_error_rate,
        batch_rows: int = DEFAULTS.write_rows,
        progress_interval: float = DEFAULTS.progress_interval,
        shard_index: int | str | None = None,
        shard_count: int | str | None = None,
        allow_link_local_images: bool = DEFAULTS.allow_link_local_images,
        **kwargs: Any,
    ) -> None:
        if (manifest is None) == (images is None):
            raise ValueError("give exactly one of manifest= (a file) or images= (a list of image URIs)")
        # Each checked here, when the DAG is parsed, by the one check its owner also uses.
        check_choice("send_as", send_as, SendAs)
        check_choice("photo_output", photo_output, PhotoOutput)
        pii = PiiMode.parse(pii)  # "HASH" and " hash " are hash too, everywhere below
        if isinstance(carry_columns, str) and "{{" not in carry_columns:
            raise ValueError(f"carry_columns must be a list of column names, e.g. [{carry_columns!r}], not a string")
        check_portrait_allowed(pii, wants_portrait=photo_output != "none", allow_portrait=allow_portrait)
        Permissions(file_mode, dir_mode)  # refuses a mode that is not one, or that locks the owner out
        if pii == "hash" and not (pii_key_conn_id or pii_key_variable):
            raise ValueError("pii='hash' needs pii_key_conn_id= or pii_key_variable= holding the HMAC key")
        for name, seconds in (
            ("timeout", timeout),
            ("connect_timeout", connect_timeout),
            ("retry_deadline", retry_deadline),
        ):
            check_seconds(name, seconds, optional=True)
        for name, seconds in (
            ("progress_interval", progress_interval),
            ("image_timeout", image_timeout),
            ("image_deadline", image_deadline),
        ):
            check_seconds(name, seconds)
        check_rates(max_requests_per_second)
        _check_rate_actions(max_requests_per_second)
        check_counts(max_in_flight=max_in_flight, max_attempts=max_attempts, batch_rows=batch_rows)
        check_error_rate(max_error_rate)
        if (shard_index is None) != (shard_count is None):
            raise ValueError("give both shard_index= and shard_count=, or neither")
        if "outlets" not in kwargs and shard_count is None:  # a shard's part is not the whole dataset
            kwargs["outlets"] = [output_asset(output)]
        super().__init__(**kwargs)
        # BaseOperator.output is the XComArg of this task: the argument is stored as output_uri.
        self.output_uri = output
        self.manifest = manifest
        self.images = images
        self.manifest_format = manifest_format
        self.image_column = image_column
        self.id_column = id_column
        self.carry_columns = carry_columns
        self.tencentcloud_conn_id = tencentcloud_conn_id
        self.storage_conn_id = storage_conn_id
        self.send_as = send_as
        self.photo_output = photo_output
        self.photo_dir = photo_dir
        self.pii = pii
        self.allow_portrait = allow_portrait
        self.file_mode = file_mode
        self.dir_mode = dir_mode
        self.pii_key_conn_id = pii_key_conn_id
        self.pii_key_variable = pii_key_variable
        self.cache = cache
        self.max_requests_per_second = max_requests_per_second
        self.max_in_flight = max_in_flight
        self.max_attempts = max_attempts
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.image_timeout = image_timeout
        self.image_deadline = image_deadline
        self.retry_deadline = retry_deadline
        self.max_error_rate = max_error_rate
        self.batch_rows = batch_rows
        self.progress_interval = progress_interval
        self.shard_index = shard_index
        self.shard_count = shard_count
        self.allow_link_local_images = allow_link_local_images

    def output_schema(self, carry_fields: list[pa.Field]) -> pa.Schema:
        """The Parquet schema this operator writes: its row's columns, then the carried ones."""
        raise NotImplementedError

    def document(self) -> DocumentFormat:
        """Which action each row gets, the call, and the row written (see ``run/documents.py``)."""
        raise NotImplementedError

    def metadata_at_commit(self) -> ColumnMetadata | None:
        """File metadata known only once every row is written (None: all of it is in ``output_schema``)."""
        return None

    def manifest_columns(self) -> dict[str, str]:
        """Manifest columns this operator reads besides the image, id and carried ones, each with its argument."""
        return {}

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_tencent_ocr.operators.assembly import assemble_run
        from airflow_provider_tencent_ocr.run.runner import RunAborted

        try:
            run = self._run = assemble_run(self)  # on_kill stops it
            self._lineage = run.lineage  # read by get_openlineage_facets_on_complete after the run
            self.log.info("OCR of %s into %s", redact_uri(run.manifest.source), redact_uri(run.target.output))
            summary = run.run()
        except (ValueError, AirflowNotFoundException, RunAborted) as err:
            # Lasting: a bad manifest or argument, a refused path, a missing connection, Variable or key,
            # a fatal API code. No retry can fix them. Network, storage and throttling errors, and
            # ErrorRateExceeded, stay retryable.
            # Printed once: the original traceback under the message, with no chained copy of it
            # ("the above exception was the direct cause"); the typed error stays in __context__.
            raise AirflowFailException(f"{type(err).__name__}: {err}").with_traceback(err.__traceback__) from None
        self._report(context, run, summary)
        return summary.to_dict()

    def on_kill(self) -> None:
        """Airflow's SIGTERM (the task stopped in the UI, a pod terminated): stop sending at once.

        Results already paid for stay in the cache, nothing is published and no temporary file is
        left; the run then fails with ``RunStopped``.
        """
        run: AssembledRun | None = getattr(self, "_run", None)
        if run is not None:
            run.stop()

    def _report(self, context: Context, run: AssembledRun, summary: RunSummary) -> None:
        """The task log's last line and the Asset event (a shard's part emits none: see ``shards``)."""
        self.log.info(
            "Wrote %d rows (%d ok, %d errors; %d API calls, %d from cache) to %s",
            *(summary.rows, summary.ok, summary.errors, summary.api_calls, summary.cache_hits),
            redact_uri(run.target.output),
        )
        for asset in self.outlets:
            if isinstance(asset, Asset):
                context["outlet_events"][asset].extra = {"uri": redact_uri(run.target.output), "rows": summary.rows}

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage (``openlineage`` extra): the manifest and the images' folders in, the Parquet out.

        Called by the OpenLineage listener after ``execute``; the output dataset carries the column
        schema that was written. Locations only: no row values, image folders rather than file names.
        """
        from airflow_provider_tencent_ocr.lineage import RunLineage

        lineage = getattr(self, "_lineage", None) or RunLineage(manifest=self.manifest, output=self.output_uri)
        return lineage.operator_lineage()
