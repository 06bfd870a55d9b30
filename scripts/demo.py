"""The main job, end to end on this machine: no Tencent account, no network beyond loopback.

1. generate a handful of synthetic Singapore ID cards (front and back, some degraded), and a few
   mixed documents (Singapore IC, passport, MyKad) whose manifest names each row's action;
2. start the local emulator of the Tencent Cloud API (real OCR with the ``local`` recogniser, or
   the fixture table built from the generated truth);
3. run the example producer DAG with Airflow's embedded SQLite database, then the consumer DAG
   scheduled on its Asset, then the mixed-document DAG (each action at its own limit);
4. print where the Parquet table and the report are, and a short summary. No process is left.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run_dag(dag_id: str, log_file: Path) -> str:
    """``dag.test()`` with Airflow's own output sent to ``log_file`` so the summary stays readable."""
    from airflow.dag_processing.dagbag import DagBag

    with open(log_file, "a", encoding="utf-8") as log, redirect_stdout(log), redirect_stderr(log):
        bag = DagBag(str(ROOT / "dags"))
        if bag.import_errors:
            raise SystemExit(f"DAG import errors: {bag.import_errors}")
        state = str(bag.get_dag(dag_id).test().state)
    if not state.endswith("success"):
        print(f"{dag_id} ended {state}: see {log_file}")
    return state


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "demo_output"), help="folder for cards, Parquet and report")
    parser.add_argument("--cards", type=int, default=8, help="number of generated card images")
    parser.add_argument("--documents", type=int, default=6, help="mixed documents (SG IC, passport, MyKad); 0: none")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--recogniser",
        choices=("local", "fixture"),
        default="local",
        help="local: real offline OCR in the emulator (default); fixture: answers from the generated truth",
    )
    args = parser.parse_args()
    started = time.monotonic()
    out = Path(args.out).resolve()
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)

    from tencent_ocr_emulator.cards import fixture_table, generate_cards

    manifest = generate_cards(out / "cards", args.cards, args.seed)
    documents = None
    if args.documents:
        kinds = ("singapore", "passport", "mykad")
        documents = generate_cards(out / "documents", args.documents, args.seed + 1, documents=kinds)
    fixture = None
    if args.recogniser == "fixture":
        fixture = out / "fixture.json"
        table = {**fixture_table(manifest), **(fixture_table(documents) if documents else {})}
        fixture.write_text(json.dumps(table), encoding="utf-8")

    from tencent_ocr_emulator.process import emulator_process
    from tencent_ocr_emulator.server import connection_json

    flags = ["--recogniser", args.recogniser]
    if fixture is not None:
        flags += ["--fixture", str(fixture), "--unknown-images", "reject"]
    with emulator_process(*flags) as endpoint:
        airflow_env = {
            "AIRFLOW_HOME": str(out / "airflow_home"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "TENCENT_OCR_DEMO_OUTPUT_DIR": str(out),
            "AIRFLOW_CONN_TENCENTCLOUD_DEFAULT": connection_json(endpoint),
        }
        os.environ.update(airflow_env)
        print(f"emulator ({args.recogniser} recogniser) on {endpoint}; migrating the SQLite metadata database ...")
        subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        print("running example_tencent_ocr_singapore_id_cards ...")
        producer = _run_dag("example_tencent_ocr_singapore_id_cards", out / "airflow_run.log")
        print("running example_tencent_ocr_warn_report ...")
        consumer = _run_dag("example_tencent_ocr_warn_report", out / "airflow_run.log")
        mixed = "skipped"
        if documents is not None:
            print("running example_tencent_ocr_id_documents ...")
            mixed = _run_dag("example_tencent_ocr_id_documents", out / "airflow_run.log")

    from airflow_provider_tencent_ocr.report import build_warn_report, format_by_action, format_summary

    if not (producer.endswith("success") and consumer.endswith("success") and mixed.endswith(("success", "skipped"))):
        return 1
    report = json.loads((out / "report" / "warn_report.json").read_text(encoding="utf-8"))
    print()
    print(
        f"producer DAG: {producer}; consumer DAG: {consumer}; mixed-document DAG: {mixed}; "
        f"{time.monotonic() - started:.0f} s in all"
    )
    print(f"Parquet table: {out / 'singapore_id_cards.parquet'}")
    print(f"Report:        {out / 'report'} (warn_report.md, warn_report.json, warn_rates.png)")
    print()
    print(format_summary(report))
    print(_truth_check(out / "singapore_id_cards.parquet", manifest))
    if documents is not None:
        by_action = build_warn_report(str(out / "id_documents.parquet"), out / "report" / "id_documents")
        print()
        print(f"Mixed documents: {out / 'id_documents.parquet'} (personal data masked); report in report/id_documents")
        print(format_by_action(by_action))
    return 0


def _truth_check(parquet: Path, manifest: Path) -> str:
    """How many generated cards were read exactly, field by field (counts only: no personal data)."""
    import pandas as pd

    table = pd.read_parquet(parquet)
    truth = pd.read_csv(manifest, dtype=str, keep_default_na=False)
    merged = table.merge(truth, on="record_id", suffixes=("", "_manifest"))
    lines = ["Exact matches against the generated truth (non-empty truth values only):"]
    for column in ("id_number", "en_name", "ch_name", "birthday", "sex", "race", "address", "post_code"):
        expected = merged[f"truth_{column}"]
        mask = expected != ""
        if mask.any():
            hits = int((merged.loc[mask, column].fillna("") == expected[mask]).sum())
            lines.append(f"  {column:<12} {hits}/{int(mask.sum())}")
    expected_warns = merged["expected_warn_codes"].map(lambda v: sorted(int(c) for c in v.split(";") if c))
    got_warns = merged["warn_codes"].map(lambda v: sorted(int(c) for c in v) if v is not None else None)
    lines.append(f"  {'warn codes':<12} {int((expected_warns == got_warns).sum())}/{len(merged)}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
