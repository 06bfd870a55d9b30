"""Bad ``action_column`` and rate arguments of the id-document operator: refused by name, before any call.

Cases beyond the issue's examples: a blank or non-text column name, per-action rates that are not
positive numbers, and a manifest that lacks the column ``action_column`` names (the error must
name ``action_column=``, the argument the user gave, not ``carry_columns=``, which they did not).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowFailException
from helpers import execute, image_file

from airflow_provider_tencent_ocr.operators.id_document import TencentOcrIdDocumentOperator

MY = "MLIDCardOCR"


def operator(tmp_path: Path, **kwargs) -> TencentOcrIdDocumentOperator:
    kwargs.setdefault("output", str(tmp_path / "out" / "documents.parquet"))
    kwargs.setdefault("progress_interval", 60.0)
    return TencentOcrIdDocumentOperator(task_id="documents", **kwargs)


@pytest.mark.parametrize("column", ["", "   ", 5])
def test_a_blank_or_non_text_action_column_is_refused_when_the_dag_is_parsed(tmp_path, column):
    # Accepted, "" made every row an UnsupportedAction error row and the task succeed.
    with pytest.raises(ValueError, match="action_column must name the manifest column"):
        operator(tmp_path, manifest="/m.csv", action_column=column)


def test_a_non_text_action_is_refused_by_name(tmp_path):
    with pytest.raises(ValueError, match="action must be an API action name"):
        operator(tmp_path, manifest="/m.csv", action=5)


@pytest.mark.parametrize(
    "rates",
    [0, -1.0, float("nan"), True, "5", {MY: 0}, {MY: -2}, {MY: "x"}, {MY: float("inf")}],
)
def test_rates_that_are_not_positive_numbers_are_refused_when_the_dag_is_parsed(tmp_path, rates):
    with pytest.raises(ValueError, match="max_requests_per_second.* must be a positive number"):
        operator(tmp_path, manifest="/m.csv", action=MY, max_requests_per_second=rates)


def test_a_templated_action_column_rendering_blank_fails_before_any_call(
    tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id
):
    path = tmp_path / "m.csv"
    path.write_text(f"image_uri,kind\n{image_file(tmp_path / 'img', 1)},{MY}\n")
    op = operator(tmp_path, manifest=str(path), action_column="{{ params.column }}")
    op.render_template_fields({"params": {"column": " "}})
    with pytest.raises(AirflowFailException, match="action_column must name the manifest column"):
        execute(op)
    assert tencent_ocr_emulator.stats.requests == 0


@pytest.mark.parametrize("carried", [[], ["branch"]])
def test_a_manifest_without_the_action_column_names_action_column(
    tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id, carried
):
    path = tmp_path / "m.csv"
    path.write_text(f"image_uri,Kind,branch\n{image_file(tmp_path / 'img', 1)},{MY},north\n")
    op = operator(tmp_path, manifest=str(path), action_column="kind", carry_columns=carried)
    with pytest.raises(AirflowFailException) as caught:
        execute(op)
    message = str(caught.value)
    assert "has no action_column 'kind'" in message and "Did you mean 'Kind'" in message
    assert "Pass action_column= with the right name" in message and "carry_columns" not in message
    assert tencent_ocr_emulator.stats.requests == 0


@pytest.mark.parametrize(
    ("argument", "value", "message"),
    [
        ("max_in_flight", 0, "max_in_flight must be a whole number of at least 1"),
        ("max_attempts", 0, "max_attempts must be a whole number of at least 1"),
        ("max_attempts", 2.5, "max_attempts must be a whole number of at least 1"),
        ("batch_rows", -5, "batch_rows must be a whole number of at least 1"),
        ("max_error_rate", 1.5, "max_error_rate must be between 0 and 1"),
        ("max_error_rate", -0.1, "max_error_rate must be between 0 and 1"),
        ("max_error_rate", "5%", "max_error_rate must be between 0 and 1"),
    ],
)
def test_counts_and_shares_that_cannot_work_are_refused_when_the_dag_is_parsed(tmp_path, argument, value, message):
    # Were accepted at parse time (0 in flight, 150% errors) and failed only when the task ran.
    with pytest.raises(ValueError, match=message) as raised:
        operator(tmp_path, manifest="/m.csv", action=MY, **{argument: value})
    assert repr(value) in str(raised.value)


def test_the_singapore_operator_also_refuses_a_rate_for_an_action_that_does_not_exist(tmp_path):
    # Was accepted silently: the typo's rate applied to nothing and Singapore kept its default pace.
    from airflow_provider_tencent_ocr.operators.singapore_id_card import TencentOcrSingaporeIdCardOperator

    with pytest.raises(ValueError, match="does not serve: RecognizeSingaporeOCR"):
        TencentOcrSingaporeIdCardOperator(
            task_id="ocr",
            images=["/a.png"],
            output=str(tmp_path / "out.parquet"),
            max_requests_per_second={"RecognizeSingaporeOCR": 5},
        )
