"""The one place a run is assembled from an operator's rendered arguments.

Where it writes (a shard's part file, the cache beside it), the manifest, the hook, the cache, the
row transform, the options, the runner and the writer are all derived here, as values of one
:class:`AssembledRun`. The operator's own attributes are only read: a run never changes them, so
a retried or re-rendered task starts from its arguments again.
"""

from __future__ import annotations

import logging
import os
import posixpath
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_tencent_ocr.exceptions import OutputPathRefused
from airflow_provider_tencent_ocr.io.storage import PERSONAL_DATA, Permissions, make_dirs
from airflow_provider_tencent_ocr.io.uris import local_path, redact_uri

if TYPE_CHECKING:
    import pyarrow as pa

    from airflow_provider_tencent_ocr.hooks.ocr import TencentOcrHook
    from airflow_provider_tencent_ocr.io.cache import ResultCache
    from airflow_provider_tencent_ocr.io.manifest import Manifest
    from airflow_provider_tencent_ocr.io.parquet import ColumnMetadata, ParquetOutputWriter
    from airflow_provider_tencent_ocr.lineage import RunLineage
    from airflow_provider_tencent_ocr.run.documents import DocumentFormat
    from airflow_provider_tencent_ocr.run.runner import OcrRunner, RunSummary

log = logging.getLogger(__name__)


class RunArguments(Protocol):
    """The rendered operator arguments the factory reads (``TencentOcrBaseOperator`` has them all)."""

    output_uri: str
    manifest: str | None
    images: list[str] | str | None
    manifest_format: str | None
    image_column: str
    id_column: str | None
    carry_columns: Any
    tencentcloud_conn_id: str
    storage_conn_id: str | None
    send_as: Any
    photo_output: Any
    photo_dir: str | None
    pii: Any
    allow_portrait: bool
    file_mode: int
    dir_mode: int
    pii_key_conn_id: str | None
    pii_key_variable: str | None
    cache: str | None
    max_requests_per_second: Any
    max_in_flight: int
    max_attempts: int
    timeout: float | None
    connect_timeout: float | None
    image_timeout: float
    image_deadline: float
    retry_deadline: float | None
    max_error_rate: float | None
    batch_rows: int
    progress_interval: float
    shard_index: Any
    shard_count: Any
    allow_link_local_images: bool

    def output_schema(self, carry_fields: list[pa.Field]) -> pa.Schema: ...

    def document(self) -> DocumentFormat: ...

    def metadata_at_commit(self) -> ColumnMetadata | None: ...

    def manifest_columns(self) -> dict[str, str]: ...


@dataclass(frozen=True)
class Target:
    """Where this task writes: its output file, the dataset it is part of, and its cache (None: no cache)."""

    output: str
    dataset: str
    cache: str | None


@dataclass
class AssembledRun:
    """Everything one run needs, built from the arguments; :meth:`run` runs it and closes what it opened."""

    target: Target
    manifest: Manifest
    schema: pa.Schema
    lineage: RunLineage
    hook: TencentOcrHook
    runner: OcrRunner
    cache: ResultCache | None
    storage_conn_id: str | None
    permissions: Permissions = PERSONAL_DATA
    metadata_at_commit: ColumnMetadata | None = None
    _scope: ExitStack = field(default_factory=ExitStack, repr=False)
    _writer: ParquetOutputWriter | None = field(default=None, repr=False)

    def run(self) -> RunSummary:
        """Run every row into the Parquet output, published atomically only when the run succeeds.

        A failed run (``max_error_rate`` exceeded included) leaves the published output as it was;
        its rows go beside it (see ``run.publish``).
        """
        from airflow_provider_tencent_ocr.io.parquet import ParquetOutputWriter
        from airflow_provider_tencent_ocr.run.publish import run_and_publish

        with self._scope:
            if self.cache is not None:
                self._scope.callback(self.cache.close)
            out = self.target.output
            writer = self._writer = ParquetOutputWriter(
                out,
                self.schema,
                storage_conn_id=self.storage_conn_id,
                permissions=self.permissions,
                metadata_at_commit=self.metadata_at_commit,
            )
            return run_and_publish(self.runner, self.manifest, writer, output=out)

    def stop(self) -> None:
        """The task is being killed: no call leaves any more, and the temporary output file goes now.

        Calls already on the wire finish and their results reach the cache if the process lives
        long enough; the temporary file is removed at once, in case it does not.
        """
        self.runner.stop()
        if self._writer is not None:
            self._writer.abort()


def wants_cache(cache: str | None) -> bool:
    """``cache=None`` (the default) means "next to the output"; only the string ``"none"`` disables it."""
    return cache is None or str(cache).strip().lower() != "none"


def plan_target(args: RunArguments) -> Target:
    """The output file, dataset and cache of this task: a shard writes its part file, sharing one cache."""
    from airflow_provider_tencent_ocr.io.cache import default_cache_uri
    from airflow_provider_tencent_ocr.shards import parse_shard, part_uri, shard_cache_uri

    if args.shard_count is None:
        cache = (args.cache or default_cache_uri(args.output_uri)) if wants_cache(args.cache) else None
        return Target(args.output_uri, args.output_uri, cache)
    index, count = parse_shard(args.shard_index, args.shard_count)
    part = part_uri(args.output_uri, index, count)
    cache = (args.cache or shard_cache_uri(args.output_uri)) if wants_cache(args.cache) else None
    # Lineage: a sharded task reports the dataset folder it is a part of, not its part file.
    return Target(part, posixpath.dirname(part), cache)


def _images(args: RunArguments) -> list[str]:
    return [args.images] if isinstance(args.images, str) else list(args.images or [])


def storage_conn_for(args: RunArguments) -> str | None:
    """``storage_conn_id``, else the OCR connection when a location is on ``cos://`` (one connection serves both)."""
    from airflow_provider_tencent_ocr.io.cos_fs import default_storage_conn_id

    locations = [args.manifest, args.output_uri, args.cache, args.photo_dir, *_images(args)[:1]]
    return default_storage_conn_id(args.storage_conn_id, args.tencentcloud_conn_id, locations)


def open_manifest(args: RunArguments, storage_conn_id: str | None = None) -> Manifest:
    """The validated manifest (fails before any image is read or any call is paid for); a shard's slice."""
    from airflow_provider_tencent_ocr.io import manifest as manifests

    if args.manifest is None:
        images = _images(args)
        if len(images) == 1 and images[0].lstrip().startswith("["):
            raise ValueError(
                "images rendered to the text of a list; pass the XComArg itself (images=task.output) or "
                "set render_template_as_native_obj=True on the DAG"
            )
        manifest = manifests.manifest_from_images(images, batch_rows=args.batch_rows)
    else:
        carry, read = args.carry_columns, args.manifest_columns()
        if not isinstance(carry, str):  # a string stays a string: open_manifest refuses it, not splits it
            carry = list(carry or ())
            carry += [name for name in read if name not in carry]  # read, e.g. action_column
        manifest = manifests.open_manifest(
            args.manifest,
            manifest_format=args.manifest_format,
            image_column=args.image_column,
            id_column=args.id_column or None,  # empty (a blank form field) means row numbers
            carry_columns=carry,
            batch_rows=args.batch_rows,
            storage_conn_id=storage_conn_id or args.storage_conn_id,
            named_by=read,
        )
    if args.shard_count is None:
        return manifest
    from airflow_provider_tencent_ocr.shards import ShardManifest, parse_shard

    index, count = parse_shard(args.shard_index, args.shard_count)
    shard = ShardManifest(manifest, index, count)
    log.info("Shard %d of %d: manifest rows %d to %d", index, count, shard.start, shard.stop - 1)
    return shard


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


def refuse_overwriting_inputs(output: str, manifest: str | None, cache: str | None) -> None:
    """Before any call: the output must not replace the manifest, nor the cache either of them."""
    shown_output, shown_cache = redact_uri(output), redact_uri(cache)
    if _same_place(output, manifest):
        raise OutputPathRefused(
            f"output {shown_output!r} is the manifest itself: writing it would replace the manifest; "
            "choose another output path"
        )
    if _same_place(cache, output):
        raise OutputPathRefused(
            f"cache {shown_cache!r} is the output path: the cache's result files (raw personal data) would "
            "replace or sit inside the output; choose another cache path (or leave the default)"
        )
    if _same_place(cache, manifest):
        raise OutputPathRefused(f"cache {shown_cache!r} is the manifest itself: choose another cache path")


def hmac_key(args: RunArguments) -> bytes | None:
    """The key for ``pii="hash"``, from the connection or else the Variable; None otherwise."""
    if args.pii != "hash":
        return None
    from airflow_provider_tencent_ocr.rows.pii import resolve_hmac_key

    if args.pii_key_conn_id:
        return resolve_hmac_key(conn_id=args.pii_key_conn_id)
    return resolve_hmac_key(variable=args.pii_key_variable)


def _field_kinds(action: str) -> Mapping[str, str | None]:
    """The personal-data kind of each response field of ``action`` (none known: every field is masked)."""
    from airflow_provider_tencent_ocr.actions.registry import get_action

    spec = get_action(action)
    return spec.field_kinds if spec is not None else {}


def assemble_run(args: RunArguments) -> AssembledRun:
    """Build the run from the arguments; every check that needs no API call fails here, before any row."""
    from airflow_provider_tencent_ocr.hooks.ocr import TencentOcrHook
    from airflow_provider_tencent_ocr.io.cache import ResultCache
    from airflow_provider_tencent_ocr.lineage import RunLineage
    from airflow_provider_tencent_ocr.rows.pii import PiiProtector
    from airflow_provider_tencent_ocr.rows.postprocess import build_row_transform, default_photo_dir
    from airflow_provider_tencent_ocr.run.options import RunOptions
    from airflow_provider_tencent_ocr.run.runner import OcrRunner

    document = args.document()  # checks its rendered arguments (e.g. action_column) before the manifest
    target = plan_target(args)
    storage_conn_id = storage_conn_for(args)
    manifest = open_manifest(args, storage_conn_id)
    refuse_overwriting_inputs(target.output, args.manifest, args.cache if wants_cache(args.cache) else None)
    schema = args.output_schema(manifest.carry_fields)
    lineage = RunLineage(manifest=args.manifest, output=target.dataset, schema=schema)
    permissions = Permissions(args.file_mode, args.dir_mode)
    transform = build_row_transform(
        protector=PiiProtector(args.pii, hmac_key(args), allow_portrait=args.allow_portrait, field_kinds=_field_kinds),
        permissions=permissions,
        photo_output=args.photo_output,
        photo_dir=args.photo_dir or default_photo_dir(target.output),
        storage_conn_id=storage_conn_id,
    )
    options = RunOptions(
        send_as=args.send_as,
        return_head_image=args.photo_output != "none",
        max_requests_per_second=args.max_requests_per_second,
        max_in_flight=args.max_in_flight,
        max_attempts=args.max_attempts,
        retry_deadline=args.retry_deadline,
        max_error_rate=args.max_error_rate,
        progress_interval=args.progress_interval,
        image_timeout=args.image_timeout,
        image_deadline=args.image_deadline,
        storage_conn_id=storage_conn_id,
        cos_conn_id=args.tencentcloud_conn_id,  # cos:// images listed in a manifest that is not on COS
        write_rows=args.batch_rows,  # one output row group per manifest batch
        allow_link_local_images=args.allow_link_local_images,
    )
    # the runner reads the timeout back from the hook
    hook = TencentOcrHook(args.tencentcloud_conn_id, timeout=args.timeout, connect_timeout=args.connect_timeout)
    hook.config  # noqa: B018 - read the connection now: a missing one fails before any image is read
    output_dir = local_path(target.output)
    if output_dir is not None:  # before the cache beside it creates it with the cache's own mode
        make_dirs(os.path.dirname(os.path.abspath(output_dir)), permissions)
    cache = ResultCache(target.cache, storage_conn_id=storage_conn_id) if target.cache else None
    runner = OcrRunner(hook, options, cache=cache, row_transform=transform, document=document)
    return AssembledRun(
        target,
        lineage.watch(manifest),
        schema,
        lineage,
        hook,
        runner,
        cache,
        storage_conn_id,
        permissions,
        metadata_at_commit=args.metadata_at_commit(),
    )
