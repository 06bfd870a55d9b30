"""Warn-code report over an OCR Parquet: the numbers an analyst asks first, as JSON, Markdown and a chart.

Only status, error, warn and typed columns are read, never the personal-data columns, so the
report (and the dict returned for XCom) cannot carry personal data. DuckDB, pyarrow and
matplotlib are imported inside the functions so DAG files that import this module parse fast.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from airflow_provider_tencent_ocr.actions.singapore_id_card import WARN_CODES, WARN_MEANINGS
from airflow_provider_tencent_ocr.io import storage
from airflow_provider_tencent_ocr.io.uris import local_path, redact_uri

if TYPE_CHECKING:
    import pyarrow as pa

REPORT_JSON = "warn_report.json"
REPORT_MD = "warn_report.md"
REPORT_PNG = "warn_rates.png"
# Card problems; -9109 only says the warning capability is off, so it is not a card warning.
CARD_WARN_COLUMNS = tuple(column for code, column in WARN_CODES.items() if code != -9109)
_WANTED = ("status", "error_code", "action", "number_valid", "id_type", "id_checksum_valid", *WARN_CODES.values())


def _rate(count: int, total: int) -> float | None:
    return count / total if total else None


def _read_columns(parquet_uri: str, storage_conn_id: str | None = None) -> pa.Table:
    """The report's columns only: a local file or dataset folder via pyarrow, anything else via the storage adapter."""
    import pyarrow.parquet as pq

    path = local_path(parquet_uri)
    if path is not None and (os.path.isdir(path) or "*" in path):  # a sharded dataset: every part file
        import glob

        import pyarrow.dataset as ds

        files = sorted(glob.glob(os.path.join(path, "*.parquet") if os.path.isdir(path) else path))
        if not files:
            raise FileNotFoundError(f"no Parquet files in {parquet_uri}")
        dataset = ds.dataset(files, format="parquet")
        return dataset.to_table(columns=[c for c in _WANTED if c in set(dataset.schema.names)])
    if path is not None:
        names = set(pq.read_schema(path).names)
        return pq.read_table(path, columns=[c for c in _WANTED if c in names])
    with storage.open_read(parquet_uri, conn_id=storage_conn_id) as handle:  # streamed, with the connection
        parquet = pq.ParquetFile(handle)
        names = set(parquet.schema_arrow.names)
        return parquet.read(columns=[c for c in _WANTED if c in names])


def _warn_rates(
    fetch: Callable[..., tuple[Any, ...]],
    ok: int,
    columns: set[str],
    where: str = "",
    params: list[Any] | None = None,
) -> list[dict[str, Any]]:
    """Count and rate (over ``ok``) of each warn column among ok rows matching ``where``."""
    present = [column for column in WARN_CODES.values() if column in columns]
    counts: dict[str, int] = {}
    if present:
        select = ", ".join(f'count(*) FILTER (WHERE "{c}")' for c in present)
        counts = dict(zip(present, fetch(f"SELECT {select} FROM ocr WHERE status = 'ok' {where}", params), strict=True))
    return [
        {
            "code": code,
            "column": column,
            "meaning": WARN_MEANINGS[code],
            "count": counts.get(column),
            "rate": _rate(counts[column], ok) if column in counts else None,
        }
        for code, column in WARN_CODES.items()
    ]


def _compute(table: pa.Table) -> dict[str, Any]:
    import duckdb

    columns = set(table.column_names)
    con = duckdb.connect()
    try:
        con.register("ocr", table)

        def fetch(sql: str, params: list[Any] | None = None) -> tuple[Any, ...]:
            row = con.execute(sql, params or []).fetchone()
            if row is None:  # an aggregate query always returns one row
                raise RuntimeError("the report query returned no row")
            return row

        rows, ok, errors = fetch(
            "SELECT count(*), count(*) FILTER (WHERE status = 'ok'), count(*) FILTER (WHERE status = 'error') FROM ocr"
        )
        report: dict[str, Any] = {
            "rows": rows,
            "ok": ok,
            "errors": errors,
            "error_rate": _rate(errors, rows),
            "errors_by_code": [
                {"error_code": code, "count": count, "rate": _rate(count, rows)}
                for code, count in con.execute(
                    "SELECT coalesce(error_code, '(none)') AS code, count(*) AS n FROM ocr "
                    "WHERE status = 'error' GROUP BY code ORDER BY n DESC, code"
                ).fetchall()
            ]
            if "error_code" in columns
            else [],
            "warn_rates": _warn_rates(fetch, ok, columns),
        }
        card = [c for c in CARD_WARN_COLUMNS if c in columns]
        if card:
            condition = " OR ".join(f'"{c}"' for c in card)
            (any_warn,) = fetch(f"SELECT count(*) FILTER (WHERE {condition}) FROM ocr WHERE status = 'ok'")
            report["ok_with_card_warning"] = {"count": any_warn, "rate": _rate(any_warn, ok)}
        if "id_checksum_valid" in columns:
            valid, invalid, unknown = fetch(
                "SELECT count(*) FILTER (WHERE id_checksum_valid), "
                "count(*) FILTER (WHERE NOT id_checksum_valid), "
                "count(*) FILTER (WHERE id_checksum_valid IS NULL) FROM ocr WHERE status = 'ok'"
            )
            report["id_checksum"] = {
                "valid": valid,
                "invalid": invalid,
                "unknown": unknown,
                "invalid_rate": _rate(invalid, valid + invalid),
            }
        if "id_type" in columns:
            report["by_id_type"] = _by_group(con, fetch, columns, "id_type")
        if "action" in columns:  # the id-document table: one group per API action (a mixed manifest)
            report["by_action"] = _by_group(con, fetch, columns, "action")
        return report
    finally:
        con.close()


def _by_group(con: Any, fetch: Callable[..., tuple[Any, ...]], columns: set[str], column: str) -> list[dict[str, Any]]:
    """Rows, errors and warn rates per value of ``column`` (``id_type`` or ``action``); null is ``unknown``."""
    groups = []
    for value, n, n_ok, n_err in con.execute(
        f"SELECT coalesce(\"{column}\", 'unknown') AS value, count(*), "
        "count(*) FILTER (WHERE status = 'ok'), count(*) FILTER (WHERE status = 'error') "
        "FROM ocr GROUP BY value ORDER BY value"
    ).fetchall():
        where, params = (f'AND "{column}" IS NULL', []) if value == "unknown" else (f'AND "{column}" = ?', [value])
        group = {
            column: value,
            "rows": n,
            "ok": n_ok,
            "errors": n_err,
            "error_rate": _rate(n_err, n),
            "warn_rates": {item["column"]: item["rate"] for item in _warn_rates(fetch, n_ok, columns, where, params)},
        }
        if "number_valid" in columns:  # a failed check digit on an ok row: a fraud or misreading signal
            (invalid,) = fetch(
                f"SELECT count(*) FILTER (WHERE NOT number_valid) FROM ocr WHERE status = 'ok' {where}", params
            )
            group["number_invalid"] = invalid
        groups.append(group)
    return groups


def _group_table(report: dict[str, Any], key: str, title: str) -> list[str]:
    """The Markdown table of one breakdown (``by_id_type`` or ``by_action``)."""
    groups = report.get(f"by_{key}")
    if not groups:
        return []
    columns = list(WARN_CODES.values())
    lines = [
        "",
        f"## By {title}",
        "",
        f"| {title} | rows | ok | errors | error rate | " + " | ".join(str(c) for c in WARN_CODES) + " |",
        "|---|---:|---:|---:|---:|" + "---:|" * len(columns),
    ]
    for group in groups:
        rates = " | ".join(_pct(group["warn_rates"].get(c)) for c in columns)
        lines.append(
            f"| {group[key]} | {group['rows']} | {group['ok']} | {group['errors']} | "
            f"{_pct(group['error_rate'])} | {rates} |"
        )
    return lines


def _pct(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate:.1%}"


def _markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Tencent OCR warning report",
        "",
        f"Source: `{report['source']}`  ",
        f"Generated: {report['generated_at']}",
        "",
        "| rows | ok | errors | error rate |",
        "|---:|---:|---:|---:|",
        f"| {report['rows']} | {report['ok']} | {report['errors']} | {_pct(report['error_rate'])} |",
        "",
        "## Errors by code (rate over all rows)",
        "",
    ]
    if report["errors_by_code"]:
        lines += ["| error code | count | rate |", "|---|---:|---:|"]
        lines += [f"| `{e['error_code']}` | {e['count']} | {_pct(e['rate'])} |" for e in report["errors_by_code"]]
    else:
        lines.append("No errors.")
    lines += [
        "",
        "## Warnings (rate over ok rows)",
        "",
        "| code | column | meaning | count | rate |",
        "|---:|---|---|---:|---:|",
    ]
    lines += [
        f"| {w['code']} | `{w['column']}` | {w['meaning']} | "
        f"{'n/a' if w['count'] is None else w['count']} | {_pct(w['rate'])} |"
        for w in report["warn_rates"]
    ]
    if "ok_with_card_warning" in report:
        any_warn = report["ok_with_card_warning"]
        lines += [
            "",
            f"Ok rows with any card warning (all but -9109): {any_warn['count']} ({_pct(any_warn['rate'])}).",
        ]
    if "id_checksum" in report:
        check = report["id_checksum"]
        lines += [
            f"ID check letter on ok rows: {check['valid']} valid, {check['invalid']} invalid, "
            f"{check['unknown']} unknown (masked or unread); invalid rate {_pct(check['invalid_rate'])}.",
        ]
    lines += _group_table(report, "id_type", "id type")
    lines += _group_table(report, "action", "action")
    return "\n".join(lines) + "\n"


def _chart(report: dict[str, Any]) -> bytes:
    """A horizontal bar chart of warn rates as PNG bytes; Figure without pyplot, so no global backend state."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    warns = report["warn_rates"]
    labels = [f"{w['code']}  {w['meaning']}" for w in warns]
    values = [100 * (w["rate"] or 0.0) for w in warns]
    figure = Figure(figsize=(8, 3.6), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    colors = ["#9e9e9e" if w["code"] == -9109 else "#d9822b" for w in warns]  # -9109: not a card problem
    bars = axes.barh(labels, values, color=colors)
    axes.invert_yaxis()
    axes.bar_label(bars, labels=[_pct(w["rate"]) for w in warns], padding=3, fontsize=8)
    axes.set_xlim(0, max([*values, 1.0]) * 1.2)
    axes.set_xlabel("share of ok rows (%)")
    axes.set_title(f"Tencent OCR warning rates ({report['ok']} ok of {report['rows']} rows)", fontsize=10)
    axes.tick_params(axis="y", labelsize=8)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def build_warn_report(
    parquet_uri: str, out_dir: str | os.PathLike[str], *, storage_conn_id: str | None = None
) -> dict[str, Any]:
    """Write ``warn_report.json``, ``warn_report.md`` and ``warn_rates.png`` into ``out_dir``.

    Both the Parquet and ``out_dir`` may be local or on object storage (read and written with
    ``storage_conn_id``); each file is replaced atomically. Returns the JSON dict: counts and rates
    only, small and free of personal data (fit for XCom).
    """
    report: dict[str, Any] = {
        "source": redact_uri(str(parquet_uri)),
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    report.update(_compute(_read_columns(str(parquet_uri), storage_conn_id)))
    out = os.fspath(out_dir)
    report["files"] = {
        "json": storage.join(out, REPORT_JSON),
        "markdown": storage.join(out, REPORT_MD),
        "chart": storage.join(out, REPORT_PNG),
    }
    storage.write_bytes(report["files"]["chart"], _chart(report), conn_id=storage_conn_id)
    storage.write_bytes(report["files"]["markdown"], _markdown(report).encode("utf-8"), conn_id=storage_conn_id)
    document = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    storage.write_bytes(report["files"]["json"], document.encode("utf-8"), conn_id=storage_conn_id)
    return report


def format_summary(report: dict[str, Any]) -> str:
    """A short fixed-width table of the report for a terminal."""
    lines = [
        f"rows {report['rows']}  ok {report['ok']}  errors {report['errors']} ({_pct(report['error_rate'])})",
    ]
    if report.get("errors_by_code"):
        lines.append(f"{'error code':<48} {'count':>6} {'rate':>7}")
        lines += [f"{e['error_code']:<48} {e['count']:>6} {_pct(e['rate']):>7}" for e in report["errors_by_code"]]
    lines.append(f"{'warning (share of ok rows)':<48} {'count':>6} {'rate':>7}")
    for w in report["warn_rates"]:
        label = f"{w['code']} {w['meaning']}"
        count = "n/a" if w["count"] is None else w["count"]
        lines.append(f"{label:<48} {count:>6} {_pct(w['rate']):>7}")
    if report.get("by_action"):
        lines.append(format_by_action(report))
    return "\n".join(lines)


def format_by_action(report: dict[str, Any]) -> str:
    """The per-action lines of an id-document report (rows, ok, errors, highest card-warning rate)."""
    lines = [f"{'action':<36} {'rows':>5} {'ok':>5} {'errors':>6} {'card warnings':>13}"]
    for group in report.get("by_action") or ():
        card = [rate or 0.0 for column, rate in group["warn_rates"].items() if column in CARD_WARN_COLUMNS]
        lines.append(
            f"{group['action']:<36} {group['rows']:>5} {group['ok']:>5} {group['errors']:>6} "
            f"{'max ' + _pct(max(card, default=0.0)):>13}"
        )
    return "\n".join(lines)
