"""OpenLineage for one OCR run: the manifest and the images' folders in, the Parquet output out.

Lineage tools and Airflow's asset views then show where ID data flows. Datasets are named as the
OpenLineage naming spec says (``file`` + absolute path; ``s3://bucket`` + key; ``scheme://host`` +
path). Only locations and the output's column names and types are reported: image file names can
carry an ID number, so images are reported by folder, and URIs lose credentials and signatures.
The ``openlineage`` extra (``apache-airflow-providers-openlineage``) is imported only when lineage
is asked for.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from airflow_provider_tencent_ocr.io.manifest import Manifest, ManifestRow
from airflow_provider_tencent_ocr.io.uris import local_path, redact_uri, scheme

if TYPE_CHECKING:
    import pyarrow as pa

# Object stores whose namespace is "scheme://bucket" and whose name is the key (no leading slash).
_BUCKET_SCHEMES = {"s3", "s3a", "s3n", "gs", "gcs", "abfs", "abfss", "wasbs", "az", "oss", "cos", "hdfs"}
MAX_IMAGE_FOLDERS = 20


def dataset_id(uri: str) -> tuple[str, str]:
    """OpenLineage ``(namespace, name)`` of a path or URI, without credentials or signatures."""
    path = local_path(uri)
    if path is not None:
        return "file", os.path.abspath(path)
    kind = scheme(uri)
    parts = urlsplit(redact_uri(uri) or uri)
    host = parts.netloc.rpartition("@")[2]
    if kind in _BUCKET_SCHEMES:
        return f"{'gs' if kind == 'gcs' else kind}://{host}", unquote(parts.path).lstrip("/")
    return f"{kind}://{host}", unquote(parts.path) or "/"


def folder_of(uri: str) -> str:
    """The folder holding a file (a path or URI of the same kind; query and fragment dropped)."""
    path = local_path(uri)
    if path is not None:
        return os.path.dirname(os.path.abspath(path))
    parts = urlsplit(redact_uri(uri) or uri)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{posixpath.dirname(parts.path)}"


class _Watched(Manifest):
    """A manifest passed through unchanged, noting the folder of every image it yields."""

    def __init__(self, inner: Manifest, lineage: RunLineage) -> None:
        super().__init__(inner.source, inner.carry_fields, inner.batch_rows)
        self.format = inner.format
        self.inner = inner
        self.lineage = lineage

    def iter_batches(self) -> Iterator[list[ManifestRow]]:
        for batch in self.inner.iter_batches():
            for row in batch:
                if row.image_uri:
                    self.lineage.add_image(row.image_uri)
            yield batch

    def count_rows(self) -> int:
        return self.inner.count_rows()

    def __repr__(self) -> str:
        return repr(self.inner)


class RunLineage:
    """What one run read and wrote, collected while it runs, turned into ``OperatorLineage`` after."""

    def __init__(self, *, manifest: str | None, output: str, schema: pa.Schema | None = None) -> None:
        self.manifest = manifest
        self.output = output
        self.schema = schema
        self.image_folders: dict[str, None] = {}  # insertion-ordered set
        self.more_folders = False

    def watch(self, manifest: Manifest) -> Manifest:
        """``manifest`` unchanged, except that the folders of the images it yields are noted."""
        return _Watched(manifest, self)

    def add_image(self, uri: str) -> None:
        try:
            folder = folder_of(uri)
        except ValueError:  # an unparseable URI is an error row already; it names no location
            return
        if folder in self.image_folders:
            return
        if len(self.image_folders) >= MAX_IMAGE_FOLDERS:
            self.more_folders = True
            return
        self.image_folders[folder] = None

    def operator_lineage(self) -> Any:
        """``OperatorLineage``: inputs manifest + image folders, output the Parquet with its schema."""
        from airflow.providers.common.compat.openlineage.facet import (
            Dataset,
            SchemaDatasetFacet,
            SchemaDatasetFacetFields,
        )
        from airflow.providers.openlineage.extractors import OperatorLineage

        def dataset(uri: str, **facets: Any) -> Any:
            namespace, name = dataset_id(uri)
            return Dataset(namespace=namespace, name=name, facets=facets)

        inputs = [dataset(self.manifest)] if self.manifest else []
        inputs += [dataset(folder) for folder in self.image_folders]
        facets = {}
        if self.schema is not None:
            fields = [SchemaDatasetFacetFields(name=f.name, type=str(f.type)) for f in self.schema]
            facets["schema"] = SchemaDatasetFacet(fields=fields)
        return OperatorLineage(inputs=inputs, outputs=[dataset(self.output, **facets)])
