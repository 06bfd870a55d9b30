"""TencentOcrSingaporeIdCardOperator: an image manifest in, one analyst-ready Parquet table out.

Every argument, its check and ``execute`` live in ``base.py``; this operator only names its
table (the Singapore columns, a contract that stays as it is).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_tencent_ocr.operators.assembly import OutputPathRefused
from airflow_provider_tencent_ocr.operators.base import TencentOcrBaseOperator, output_asset

if TYPE_CHECKING:
    import pyarrow as pa

    from airflow_provider_tencent_ocr.run.documents import DocumentFormat

__all__ = ["OutputPathRefused", "TencentOcrSingaporeIdCardOperator", "output_asset"]


class TencentOcrSingaporeIdCardOperator(TencentOcrBaseOperator):
    """Run ``RecognizeSingaporeIDCardOCR`` over every row of a manifest and write Parquet.

    Takes every argument of :class:`~airflow_provider_tencent_ocr.operators.base.TencentOcrBaseOperator`;
    ``pii`` covers id_number, ch_name, en_name, address and nric_code, and the API's limit
    (the default of ``max_requests_per_second``) is 20 per second per account.
    """

    def output_schema(self, carry_fields: list[pa.Field]) -> pa.Schema:
        from airflow_provider_tencent_ocr.io.parquet import output_schema

        return output_schema(carry_fields)

    def document(self) -> DocumentFormat:
        from airflow_provider_tencent_ocr.run.documents import SingaporeFormat

        return SingaporeFormat()
