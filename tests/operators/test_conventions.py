"""Airflow provider conventions of the operator: template fields, their docs, lineage.

Airflow renders every name in ``template_fields`` with ``getattr``/``setattr``: a name that is not an
attribute set by ``__init__`` fails only when a DAG runs (or silently templates a class property).
Users learn which arguments take Jinja from the ``(templated)`` marks in the docstring.
"""

from __future__ import annotations

import inspect
import re

import pytest

from airflow_provider_tencent_ocr.operators.singapore_id_card import TencentOcrSingaporeIdCardOperator as Op

# Arguments stored under another attribute name (BaseOperator.output is the task's XComArg).
STORED_AS = {"output": "output_uri"}


def _params() -> dict[str, str]:
    """``:param name: text`` blocks of the class docstrings (the operator's and its bases'), lines joined."""
    params: dict[str, str] = {}
    for cls in reversed(Op.__mro__):
        doc = inspect.cleandoc(cls.__dict__.get("__doc__") or "")
        if ":param " not in doc or not cls.__module__.startswith("airflow_provider_tencent_ocr"):
            continue
        blocks = re.split(r"\n(?=:param )", doc[doc.index(":param ") :])
        params.update(
            {m.group(1): " ".join(m.group(2).split()) for b in blocks if (m := re.match(r":param (\w+):(.*)", b, re.S))}
        )
    return params


def test_every_template_field_is_an_attribute_set_by_init():
    op = Op(task_id="ocr", manifest="/m.csv", output="/out/cards.parquet", shard_index=0, shard_count=2)
    for name in Op.template_fields:
        assert name in vars(op), f"template field {name!r} is not an attribute of the operator"
    assert len(set(Op.template_fields)) == len(Op.template_fields)


def test_template_fields_are_exactly_the_arguments_marked_templated():
    marked = {STORED_AS.get(name, name) for name, text in _params().items() if "(templated)" in text}
    assert marked == set(Op.template_fields)


def test_every_argument_is_documented_and_every_documented_name_is_an_argument():
    arguments = set(inspect.signature(Op.__init__).parameters) - {"self", "kwargs"}
    assert set(_params()) == arguments


def test_rendering_fills_every_templated_argument():
    op = Op(
        task_id="ocr",
        manifest="/in/{{ ds }}/m.csv",
        output="/out/{{ ds }}/cards.parquet",
        image_column="{{ params.column }}",
        tencentcloud_conn_id="ocr_{{ ds_nodash }}",
        cache="/cache/{{ ds }}",
        shard_index="{{ params.index }}",
        shard_count="{{ params.count }}",
    )
    op.render_template_fields(
        {"ds": "2024-05-06", "ds_nodash": "20240506", "params": {"column": "uri", "index": 1, "count": 2}}
    )
    assert (op.manifest, op.output_uri, op.cache) == (
        "/in/2024-05-06/m.csv",
        "/out/2024-05-06/cards.parquet",
        "/cache/2024-05-06",
    )
    assert (op.image_column, op.tencentcloud_conn_id, op.shard_index, op.shard_count) == (
        "uri",
        "ocr_20240506",
        "1",
        "2",
    )


def test_lineage_method_is_the_one_the_openlineage_listener_calls():
    assert callable(getattr(Op, "get_openlineage_facets_on_complete", None))
    assert list(inspect.signature(Op.get_openlineage_facets_on_complete).parameters) == ["self", "task_instance"]


def test_word_arguments_share_one_literal_type_and_one_check():
    from typing import get_args, get_type_hints

    from airflow_provider_tencent_ocr.choices import PhotoOutput, PiiModeName, SendAs
    from airflow_provider_tencent_ocr.rows.pii import PiiMode, PiiProtector
    from airflow_provider_tencent_ocr.rows.postprocess import build_row_transform
    from airflow_provider_tencent_ocr.run.options import RunOptions

    assert get_args(PiiModeName) == tuple(mode.value for mode in PiiMode)
    hints = get_type_hints(Op.__init__)
    assert (hints["send_as"], hints["photo_output"]) == (SendAs, PhotoOutput)
    assert get_type_hints(RunOptions)["send_as"] == SendAs
    messages = []
    for make in (
        lambda: Op(task_id="ocr", manifest="/m.csv", output="/o.parquet", send_as="bytes"),
        lambda: RunOptions(send_as="bytes"),
        lambda: Op(task_id="ocr", manifest="/m.csv", output="/o.parquet", photo_output="both"),
        lambda: build_row_transform(protector=PiiProtector("plain"), photo_output="both"),
    ):
        with pytest.raises(ValueError) as caught:
            make()
        messages.append(str(caught.value))
    assert messages[0] == messages[1] == "send_as must be one of 'base64', 'url', not 'bytes'"
    assert messages[2] == messages[3] == "photo_output must be one of 'none', 'inline', 'files', not 'both'"


def test_pii_is_parsed_once_so_every_spelling_means_the_same():
    assert Op(task_id="ocr", manifest="/m.csv", output="/o.parquet", pii=" Mask ").pii == "mask"
    with pytest.raises(ValueError, match="pii_key_conn_id"):  # "HASH" is hash: it needs a key as well
        Op(task_id="ocr", manifest="/m.csv", output="/o.parquet", pii="HASH")
