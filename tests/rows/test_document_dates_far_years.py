"""A year past the Buddhist era's range is no Buddhist-era year: ``31/12/9999`` is not 9456-12-31.

``9999-12-31`` is the usual "does not expire" sentinel; the Buddhist-era rule (minus 543) read it as
a wrong date in 9456 for every action. Only years a living person's or current document's BE date
can have (2401-2700, CE 1858-2157) are converted.
"""

from __future__ import annotations

import datetime as dt

import pytest

from airflow_provider_tencent_ocr.rows.document_values import parse_document_date


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("31/12/9999", dt.date(9999, 12, 31)),
        ("9999-12-31", dt.date(9999, 12, 31)),
        ("99991231", dt.date(9999, 12, 31)),
        ("31 DEC 9999", dt.date(9999, 12, 31)),
        ("01/01/3000", dt.date(3000, 1, 1)),
        ("8 มิ.ย. 2528", dt.date(1985, 6, 8)),  # still Buddhist era
        ("01/01/2700", dt.date(2157, 1, 1)),
        ("01/01/2401", dt.date(1858, 1, 1)),
    ],
)
def test_far_years_are_read_as_printed_and_buddhist_era_years_converted(text, expected):
    assert parse_document_date(text) == expected
