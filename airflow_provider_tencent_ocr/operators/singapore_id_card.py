"""TencentOcrSingaporeIdCardOperator: an image manifest in, one analyst-ready Parquet table out.

Thin glue: arguments are templated and checked here, the work happens in ``runner.py``. Nothing
heavy is imported and nothing is read until ``execute``, so DAG files parse fast.
"""

from __future__ import annotations

import functools
import os
import posixpath
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from airflow.sdk import Asset, BaseOperator
from airflow.sdk.exceptions import AirflowFailException, AirflowNotFoundException

from airflow_provider_tencent_ocr.choices import PhotoOutput, PiiModeName, SendAs, check_choice
from airflow_provider_tencent_ocr.errors import TencentOcrError
from airflow_provider_tencent_ocr.io.uris import local_path, redact_uri
from airflow_provider_tencent_ocr.rows.pii import PiiMode, check_portrait_allowed

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_tencent_ocr.io.manifest import Manifest


def output_asset(output: str) -> Asset:
    """The Asset a run of ``output`` updates.

    A templated output (``.../ds={{ ds }}/cards.parquet``) maps to the folder above its first
    template (``s3://kyc/ocr/ds={{ ds }}/...`` -> ``s3://kyc/ocr``), so every run updates the same
    Asset and the event's ``extra`` names the file. The name is the URI exactly as Airflow
    normalises it (no trailing slash, no ``conn_id@``), so a consumer's ``Asset("s3://kyc/ocr")``
    is this Asset.
    """
    uri = output
    if "{{" in uri:
        uri = posixpath.dirname(uri[: uri.index("{{")]) + "/"
    local = "://" not in uri
    if uri in ("/", "") or uri.endswith("://") or (local and not posixpath.isabs(uri)):
        raise ValueError(
            f"cannot derive an Asset from output={output!r}: give an absolute path or a URI whose folder is "
            "fixed (templates after it are fine), or pass outlets=[Asset(...)] yourself"
        )
    if local:  # normalised like the consumer DAG's Asset, so /a/./b and /a/b are one Asset
        uri = "file://" + posixpath.abspath(uri)
    normalised = Asset(redact_uri(uri) or uri).uri  # Airflow's own normalisation (scheme, slashes, query)
    return Asset(name=normalised, uri=normalised)


class OutputPathRefused(TencentOcrError, ValueError):
    """The output or cache would overwrite an input (or each other): refused before any call."""


def _same_place(a: str | None, b: str | None) -> bool:
    """Whether two paths or URIs name the same file (symlinks and ``./`` resolved for local paths)."""
    if not a or not b:
        return False
    local_a, local_b = local_path(a), local_path(b)
    if local_a is not None and local_b is not None:
        return os.path.realpath(local_a) == os.path.realpath(local_b)
    if local_a is None and local_b is None:
        return (redact_uri(a) or a).rstrip("/").lower() == (redact_uri(b) or b).rstrip("/").lower()
    return False


# A bad manifest or argument, a refused path, a missing connection, Variable or key.
_NO_RETRY = (ValueError, AirflowNotFoundException)


def _fail_without_retry(exc: BaseException) -> BaseException:
    """``exc`` as an AirflowFailException (Airflow does not retry those) that is still ``type(exc)``.

    Callers and tests that catch ``ManifestError``, ``ValueError`` or ``RunAborted`` keep working.
    """
    cls = type(exc)
    combined = type(cls.__name__, (AirflowFailException, cls), {"__module__": cls.__module__})
    failed = combined.__new__(combined)
    failed.args = exc.args
    failed.__dict__.update(getattr(exc, "__dict__", {}))
    return failed


_Execute = TypeVar("_Execute", bound=Callable[..., Any])


def _no_retry_for_lasting_failures(execute: _Execute) -> _Execute:
    """Raise failures that no retry can fix as AirflowFailException; transient ones stay retryable.

    Lasting: a bad manifest or argument, a missing connection or key, a refused output path
    (``ValueError`` or ``AirflowNotFoundException``), and a fatal API code (``RunAborted``). Network, storage
    and throttling errors, and ``ErrorRateExceeded``, are left to Airflow's retries.
    """

    @functools.wraps(execute)
    def wrapper(self: Any, context: Any) -> Any:
        from airflow_provider_tencent_ocr.run.runner import RunAborted

        try:
            return execute(self, context)
        except AirflowFailException:
            raise
        except (*_NO_RETRY, RunAborted) as exc:
            raise _fail_without_retry(exc) from exc

    return wrapper  # type: ignore[return-value]


class TencentOcrSingaporeIdCardOperator(BaseOperator):
    """Run ``RecognizeSingaporeIDCardOCR`` over every row of a manifest and write Parquet.

    :param manifest: path or URI of a CSV, Parquet or JSON Lines manifest (templated).
    :param images: instead of ``manifest``, a list of image URIs, e.g. from XCom (templated).
    :param output: path or URI of the Parquet file to write, replaced atomically (templated).
    :param manifest_format: ``csv``, ``parquet`` or ``jsonl`` when the extension does not say (templated).
    :param image_column: manifest column holding image URIs (templated).
    :param id_column: manifest column used as ``record_id``, by default the row number (templated).
    :param carry_columns: manifest columns copied into the output after the OCR columns (templated).
    :param tencentcloud_conn_id: the ``tencentcloud`` connection (templated).
    :param storage_conn_id: connection for object storage manifests, images and outputs (templated).
    :param send_as: ``base64`` (read the bytes and send them) or ``url`` (pass http(s) URIs as ImageUrl).
    :param photo_output: ``none`` (default; the portrait is not even requested), ``inline`` (binary
        ``photo`` column) or ``files`` (one file per portrait under ``photo_dir``, path in ``photo_path``).
    :param photo_dir: where ``photo_output="files"`` writes, by default ``photos/`` beside the output (templated).
    :param pii: ``plain``, ``mask`` or ``hash``: what the personal-data columns hold (names and numbers
        masked or keyed-hashed; dates cut to the year, postcodes to their sector; see docs/personal-data.md).
    :param allow_portrait: with ``pii="mask"`` or ``"hash"``, write portraits anyway (``photo_output``
        other than ``none`` is refused in those modes without it).
    :param pii_key_conn_id: connection whose password is the HMAC key for ``pii="hash"`` (templated).
    :param pii_key_variable: or an Airflow Variable holding that key (templated).
    :param cache: result cache folder, local or object storage, safe to share between tasks (default:
        ``<output>.ocr-cache/``); ``"none"`` disables it (templated).
    :param max_requests_per_second: ceiling of the pacing shared by all workers (API limit: 20 per
        account). Throttling answers lower the pace and it recovers slowly, so several tasks on one
        account share its limit fairly.
    :param max_in_flight: ceiling of the calls in flight; below it, the number follows the service's
        latency (fewer when answers slow down), so a slow service is not sent more than it can
        answer within ``timeout``.
    :param max_attempts: attempts per image for errors that may pass (5xx, timeouts, dropped
        connections); throttling answers do not use them up.
    :param timeout: seconds to wait for one answer (default: the connection's ``timeout`` extra, else 30).
        A read timeout may still be billed, so it is retried only after a wait, and with fewer calls at once.
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
        storage_conn_id: str | None = None,
        send_as: SendAs = "base64",
        photo_output: PhotoOutput = "none",
        photo_dir: str | None = None,
        pii: PiiMode | PiiModeName = "plain",
        allow_portrait: bool = False,
        pii_key_conn_id: str | None = None,
        pii_key_variable: str | None = None,
        cache: str | None = None,
        max_requests_per_second: float = 20.0,
        max_in_flight: int = 16,
        max_attempts: int = 5,
        timeout: float | None = None,
        retry_deadline: float | None = 6 * 3600.0,
        max_error_rate: float | None = None,
        batch_rows: int = 5000,
        progress_interval: float = 10.0,
        shard_index: int | str | None = None,
        shard_count: int | str | None = None,
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
        if pii == "hash" and not (pii_key_conn_id or pii_key_variable):
            raise ValueError("pii='hash' needs pii_key_conn_id= or pii_key_variable= holding the HMAC key")
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
        self.pii_key_conn_id = pii_key_conn_id
        self.pii_key_variable = pii_key_variable
        self.cache = cache
        self.max_requests_per_second = max_requests_per_second
        self.max_in_flight = max_in_flight
        self.max_attempts = max_attempts
        self.timeout = timeout
        self.retry_deadline = retry_deadline
        self.max_error_rate = max_error_rate
        self.batch_rows = batch_rows
        self.progress_interval = progress_interval
        self.shard_index = shard_index
        self.shard_count = shard_count

    @_no_retry_for_lasting_failures
    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_tencent_ocr.hooks.ocr import TencentOcrHook
        from airflow_provider_tencent_ocr.io.cache import ResultCache, default_cache_uri
        from airflow_provider_tencent_ocr.io.parquet import ParquetOutputWriter, output_schema
        from airflow_provider_tencent_ocr.lineage import RunLineage
        from airflow_provider_tencent_ocr.rows.pii import PiiProtector
        from airflow_provider_tencent_ocr.rows.postprocess import build_row_transform, default_photo_dir
        from airflow_provider_tencent_ocr.run.runner import OcrRunner, RunOptions

        manifest = self._shard(self._open_manifest())
        self._refuse_overwriting_inputs()
        schema = output_schema(manifest.carry_fields)
        # Lineage: a sharded task reports the dataset folder it is a part of, not its part file.
        dataset = posixpath.dirname(self.output_uri) if self.shard_count is not None else self.output_uri
        self._lineage = RunLineage(manifest=self.manifest, output=dataset, schema=schema)
        manifest = self._lineage.watch(manifest)
        transform = build_row_transform(
            protector=PiiProtector(self.pii, self._hmac_key(), allow_portrait=self.allow_portrait),
            photo_output=self.photo_output,
            photo_dir=self.photo_dir or default_photo_dir(self.output_uri),
            storage_conn_id=self.storage_conn_id,
        )
        options = RunOptions(
            send_as=self.send_as,
            return_head_image=self.photo_output != "none",
            max_requests_per_second=self.max_requests_per_second,
            max_in_flight=self.max_in_flight,
            max_attempts=self.max_attempts,
            retry_deadline=self.retry_deadline,
            max_error_rate=self.max_error_rate,
            progress_interval=self.progress_interval,
            storage_conn_id=self.storage_conn_id,
            write_rows=self.batch_rows,  # one output row group per manifest batch
        )
        cache = None
        # cache=None (the default) means "next to the output"; only the string "none" disables it.
        if self.cache is None or str(self.cache).strip().lower() != "none":
            cache = ResultCache(self.cache or default_cache_uri(self.output_uri), storage_conn_id=self.storage_conn_id)
        hook = TencentOcrHook(self.tencentcloud_conn_id, timeout=self.timeout)  # the runner reads it back
        hook.config  # noqa: B018 - read the connection now: a missing one fails before any image is read
        runner = OcrRunner(hook, options, cache=cache, row_transform=transform)
        self.log.info("OCR of %s into %s", manifest.source, self.output_uri)
        try:
            with ParquetOutputWriter(self.output_uri, schema, storage_conn_id=self.storage_conn_id) as writer:
                summary = runner.run(manifest, writer, output=self.output_uri)
        finally:
            if cache is not None:
                cache.close()
        result = summary.to_dict()
        self.log.info(
            "Wrote %d rows (%d ok, %d errors; %d API calls, %d from cache) to %s",
            summary.rows,
            summary.ok,
            summary.errors,
            summary.api_calls,
            summary.cache_hits,
            self.output_uri,
        )
        for asset in self.outlets:
            if isinstance(asset, Asset):
                context["outlet_events"][asset].extra = {"uri": self.output_uri, "rows": summary.rows}
        runner.check_error_rate(summary)
        return result

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage (``openlineage`` extra): the manifest and the images' folders in, the Parquet out.

        Called by the OpenLineage listener after ``execute``; the output dataset carries the column
        schema that was written. Locations only: no row values, image folders rather than file names.
        """
        from airflow_provider_tencent_ocr.lineage import RunLineage

        lineage = getattr(self, "_lineage", None) or RunLineage(manifest=self.manifest, output=self.output_uri)
        return lineage.operator_lineage()

    def _refuse_overwriting_inputs(self) -> None:
        """Before any call: the output must not replace the manifest, nor the cache either of them."""
        cache = None if self.cache is not None and str(self.cache).strip().lower() == "none" else self.cache
        source = self.manifest
        if _same_place(self.output_uri, source):
            raise OutputPathRefused(
                f"output {self.output_uri!r} is the manifest itself: writing it would replace the manifest; "
                "choose another output path"
            )
        if _same_place(cache, self.output_uri):
            raise OutputPathRefused(
                f"cache {cache!r} is the output path: the cache's result files (raw personal data) would replace or "
                "sit inside the output; choose another cache path (or leave the default)"
            )
        if _same_place(cache, source):
            raise OutputPathRefused(f"cache {cache!r} is the manifest itself: choose another cache path")

    def _open_manifest(self) -> Manifest:
        """The validated manifest (fails before any image is read or any call is paid for)."""
        from airflow_provider_tencent_ocr.io.manifest import manifest_from_images, open_manifest

        if self.manifest is None:
            images = [self.images] if isinstance(self.images, str) else list(self.images or [])
            if len(images) == 1 and images[0].lstrip().startswith("["):
                raise ValueError(
                    "images rendered to the text of a list; pass the XComArg itself (images=task.output) or "
                    "set render_template_as_native_obj=True on the DAG"
                )
            return manifest_from_images(images, batch_rows=self.batch_rows)
        return open_manifest(
            self.manifest,
            manifest_format=self.manifest_format,
            image_column=self.image_column,
            id_column=self.id_column,
            # a string stays a string, so open_manifest refuses it instead of splitting it into letters
            carry_columns=self.carry_columns if isinstance(self.carry_columns, str) else list(self.carry_columns or ()),
            batch_rows=self.batch_rows,
            storage_conn_id=self.storage_conn_id,
        )

    def _shard(self, manifest: Manifest) -> Manifest:
        """This task's slice when sharded: output becomes its part file; the default cache is shared by all parts."""
        if self.shard_count is None:
            return manifest
        from airflow_provider_tencent_ocr.shards import ShardManifest, parse_shard, part_uri, shard_cache_uri

        index, count = parse_shard(self.shard_index, self.shard_count)
        folder = self.output_uri
        self.output_uri = part_uri(folder, index, count)
        if self.cache is None:
            self.cache = shard_cache_uri(folder)
        shard = ShardManifest(manifest, index, count)
        self.log.info("Shard %d of %d: manifest rows %d to %d", index, count, shard.start, shard.stop - 1)
        return shard

    def _hmac_key(self) -> bytes | None:
        """The key for ``pii="hash"``, from the connection or else the Variable; None otherwise."""
        if self.pii != "hash":
            return None
        from airflow_provider_tencent_ocr.rows.pii import resolve_hmac_key

        if self.pii_key_conn_id:
            return resolve_hmac_key(conn_id=self.pii_key_conn_id)
        return resolve_hmac_key(variable=self.pii_key_variable)
