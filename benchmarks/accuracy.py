"""Accuracy of the local OCR engine on generated documents, over several seeds: Markdown tables.

    python benchmarks/accuracy.py [--documents singapore,passport,mykad] [--profile heldout]
                                  [--seeds 3001,3002,3003] [--n 100] [--direct]

For every document type and seed, generates synthetic documents (Singapore ICs front and back,
passport data pages with their MRZ, MyKad fronts; part of them degraded) into a temporary folder,
sends every image through the emulator (local recogniser) and the hook's ``recognize(action)``,
exactly as a DAG would, and compares the answers with the truth manifest: per-field exact match on
clean and degraded images, and precision / recall per warn code. Each figure is given as min / mean
/ max over the seeds, then pooled over all images; one table per document type.

The honest setting is the default: the ``heldout`` profile (other fonts, names, jitter and
degradation strengths than the heuristics were tuned on) and seeds no change was made after.
Singapore: development used the ``tuning`` profile, seeds 101-102; the held-out failures of seeds
1001 and 2001-2003 were looked at and fixed; 3001-3003 were measured once after the last change.
Passport and MyKad: development used the ``tuning`` profile, seeds 5, 101 and 102, only; no held-out
seed was looked at before 4001-4003 were measured once. Use new seeds to check a change.
``--direct`` skips HTTP and calls the recogniser's worker pool directly.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from airflow_provider_tencent_ocr.actions.singapore_id_card import BACK_FIELDS, FRONT_FIELDS
from tencent_ocr_emulator.cards import PROFILES, expected_warn_codes, generate_cards, read_manifest, truth_fields
from tencent_ocr_emulator.document_cards import DOCUMENT_ACTIONS, SCORED_FIELDS
from tencent_ocr_emulator.local_engine import LocalRecogniser

WARN_NAMES = {-9101: "covered", -9102: "photocopy", -9107: "reflective", -9108: "blurry"}
# The synthetic Singapore backs print no expiry date (a citizen's NRIC has none), so it is not scored.
SINGAPORE_SCORED = {"front": FRONT_FIELDS, "back": tuple(f for f in BACK_FIELDS if f != "DateOfExpiration")}
Result = tuple[dict[str, str], list[int], float]
Job = tuple[str, bytes]  # (action, image)


def scored_fields(document: str, side: str) -> tuple[str, ...]:
    """The fields scored for one image of ``document`` (API names)."""
    if document == "singapore":
        return tuple(SINGAPORE_SCORED[side])
    return SCORED_FIELDS[DOCUMENT_ACTIONS[document]]


def run_direct(recogniser: LocalRecogniser, jobs: list[Job]) -> list[Result]:
    futures = [recogniser.submit(image, action=action) for action, image in jobs]
    return [(o.fields, o.warn_codes, o.seconds) for o in (f.result() for f in futures)]


class HookRunner:
    """Emulator (local recogniser) + hook, kept up for every seed: images in, answers out."""

    def __init__(self, recogniser: LocalRecogniser) -> None:
        os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="bench-airflow-home-"))
        from tencent_ocr_emulator.server import EmulatorServer

        self.workers = recogniser.workers
        # Wait for a free engine rather than time out: accuracy is measured here, not capacity.
        self.emulator = EmulatorServer(recogniser=recogniser, rate_limit=0, queue_timeout=600)

    def __enter__(self) -> HookRunner:
        self.emulator.__enter__()
        os.environ["AIRFLOW_CONN_TENCENTCLOUD_DEFAULT"] = self.emulator.connection_json()
        return self

    def __exit__(self, *exc: object) -> None:
        self.emulator.__exit__(*exc)  # also closes the recogniser

    def __call__(self, jobs: list[Job]) -> list[Result]:
        from airflow_provider_tencent_ocr.exceptions import TencentCloudAPIError
        from airflow_provider_tencent_ocr.hooks.ocr import TencentOcrHook

        hook = TencentOcrHook()

        def one(job: Job) -> Result:
            action, image = job
            started = time.perf_counter()
            try:
                result = hook.recognize(action, image_base64=base64.b64encode(image).decode())
            except TencentCloudAPIError:
                return {}, [], time.perf_counter() - started
            return dict(result.fields), list(result.warn_codes), time.perf_counter() - started

        with ThreadPoolExecutor(max_workers=self.workers) as pool:  # no queueing: latency is real
            return list(pool.map(one, jobs))


@dataclass
class Score:
    """Counts for one seed (or pooled): exact fields per (field, kind), and tp/fp/fn per code."""

    exact: dict[tuple[str, str], list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    codes: dict[int, list[int]] = field(default_factory=lambda: {code: [0, 0, 0] for code in WARN_NAMES})
    errors: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def add(self, document: str, row: dict[str, str], result: Result) -> None:
        fields, codes, seconds = result
        kind = "degraded" if row["degradations"] else "clean"
        self.seconds.append(seconds)
        truth = truth_fields(row)
        for key in scored_fields(document, row["side"]):
            want, got = truth.get(key, ""), fields.get(key, "")
            score = self.exact[(key, kind)]
            score[0] += got == want
            score[1] += 1
            if got != want:  # synthetic cards: no real person's data
                self.errors.append(f"{row['record_id']} [{row['degradations'] or 'clean'}] {key}: {want!r} -> {got!r}")
        expected = set(expected_warn_codes(row))
        for code, tp_fp_fn in self.codes.items():
            got_code, want_code = code in codes, code in expected
            if got_code or want_code:
                tp_fp_fn[0 if got_code and want_code else 1 if got_code else 2] += 1
            if got_code != want_code:
                self.errors.append(
                    f"{row['record_id']} [{row['degradations'] or 'clean'}] {code}: {want_code} -> {got_code}"
                )

    def field_rate(self, key: str | None, kind: str) -> tuple[int, int]:
        pairs = [v for (k, kd), v in self.exact.items() if kd == kind and (key is None or k == key)]
        return sum(p[0] for p in pairs), sum(p[1] for p in pairs)

    def pr(self, code: int) -> tuple[float | None, float | None]:
        tp, fp, fn = self.codes[code]
        return (tp / (tp + fp) if tp + fp else None, tp / (tp + fn) if tp + fn else None)


def spread(values: list[float | None], fmt: str) -> str:
    """min / mean / max of the defined values."""
    vals = [v for v in values if v is not None]
    if not vals:
        return "-"
    return f"{fmt.format(min(vals))} / {fmt.format(statistics.mean(vals))} / {fmt.format(max(vals))}"


def report(document: str, per_seed: list[Score], pooled: Score) -> list[str]:
    """The Markdown table of one document type: per-seed spread, then the pooled figure with its counts."""
    out = ["| measure | clean: min / mean / max | clean: pooled | degraded: min / mean / max | degraded: pooled |"]
    out.append("|---|---|---|---|---|")

    def rate(score: Score, key: str | None, kind: str) -> float | None:
        ok, n = score.field_rate(key, kind)
        return 100 * ok / n if n else None

    def pooled_rate(key: str | None, kind: str) -> str:
        ok, n = pooled.field_rate(key, kind)
        return f"{100 * ok / n:.1f}% ({ok}/{n})" if n else "-"

    keys = (*FRONT_FIELDS, *SINGAPORE_SCORED["back"]) if document == "singapore" else scored_fields(document, "front")
    for key in (None, *keys):
        name = "all fields" if key is None else f"`{key}`"
        cells = [
            spread([rate(s, key, "clean") for s in per_seed], "{:.1f}%"),
            pooled_rate(key, "clean"),
            spread([rate(s, key, "degraded") for s in per_seed], "{:.1f}%"),
            pooled_rate(key, "degraded"),
        ]
        out.append(f"| {name} exact match | " + " | ".join(cells) + " |")
    out.append("")
    out.append("| warn code | precision: min / mean / max | recall: min / mean / max | pooled P / R (tp, fp, fn) |")
    out.append("|---|---|---|---|")
    for code, name in WARN_NAMES.items():
        p, r = pooled.pr(code)
        tp, fp, fn = pooled.codes[code]
        pooled_cell = (
            f"{p:.2f} / {r:.2f} ({tp}, {fp}, {fn})" if p is not None and r is not None else f"({tp}, {fp}, {fn})"
        )
        out.append(
            f"| {code} {name} | {spread([s.pr(code)[0] for s in per_seed], '{:.2f}')} "
            f"| {spread([s.pr(code)[1] for s in per_seed], '{:.2f}')} | {pooled_cell} |"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100, help="cards per seed")
    parser.add_argument(
        "--seeds",
        default=None,
        help="comma-separated seeds (not the tuning seeds; default: 3001-3003 for Singapore, 4001-4003 for the others)",
    )
    parser.add_argument(
        "--documents", default="singapore,passport,mykad", help="comma-separated: singapore, passport, mykad"
    )
    parser.add_argument("--profile", choices=sorted(PROFILES), default="heldout")
    parser.add_argument("--degraded-fraction", type=float, default=0.6)
    parser.add_argument("--back-fraction", type=float, default=0.25)
    parser.add_argument("--direct", action="store_true", help="call the worker pool, not emulator + hook")
    parser.add_argument("--workers", type=int, default=None, help="OCR processes (default: one per core)")
    parser.add_argument("--show-errors", action="store_true", help="list every wrong field / code (synthetic data)")
    args = parser.parse_args(argv)
    documents = [d.strip() for d in args.documents.split(",") if d.strip()]
    unknown = [d for d in documents if d not in DOCUMENT_ACTIONS]
    if unknown:
        parser.error(f"unknown documents {unknown}; choose from {sorted(DOCUMENT_ACTIONS)}")

    def seeds_for(document: str) -> list[int]:
        default = "3001,3002,3003" if document == "singapore" else "4001,4002,4003"
        return [int(s) for s in (args.seeds or default).split(",") if s.strip()]

    recogniser = LocalRecogniser(workers=args.workers, warm=True)
    started = time.perf_counter()
    tables: list[str] = []
    every: list[float] = []
    with contextlib.ExitStack() as stack:
        if args.direct:
            stack.callback(recogniser.close)
            run: Callable[[list[Job]], list[Result]] = functools.partial(run_direct, recogniser)
        else:
            run = stack.enter_context(HookRunner(recogniser))
        for document in documents:
            per_seed: list[Score] = []
            pooled = Score()
            action = DOCUMENT_ACTIONS[document]
            for seed in seeds_for(document):
                with tempfile.TemporaryDirectory(prefix="cards-") as tmp:
                    manifest = generate_cards(
                        tmp,
                        args.n,
                        seed,
                        degraded_fraction=args.degraded_fraction,
                        back_fraction=args.back_fraction,
                        profile=args.profile,
                        documents=(document,),
                    )
                    rows = read_manifest(manifest)
                    jobs = [(action, Path(row["image_uri"]).read_bytes()) for row in rows]
                results = run(jobs)
                score = Score()
                for row, result in zip(rows, results, strict=True):
                    score.add(document, row, result)
                    pooled.add(document, row, result)
                per_seed.append(score)
            every += pooled.seconds
            seeds = ",".join(map(str, seeds_for(document)))
            tables += [f"### {document} ({action}): seeds {seeds}", "", *report(document, per_seed, pooled), ""]
            if args.show_errors:
                tables += [*pooled.errors, ""]
    wall = time.perf_counter() - started

    mode = "direct" if args.direct else "emulator + hook"
    print(
        f"local OCR accuracy: profile={args.profile}, {args.n} documents per seed "
        f"({args.degraded_fraction:.0%} degraded), {recogniser.workers} workers, {mode}"
    )
    print()
    print("\n".join(tables))
    mean = statistics.mean(every) if every else 0.0
    print(f"seconds per image: {mean:.2f} latency (mean), {wall / max(1, len(every)):.2f} wall incl. generation")
    return 0


if __name__ == "__main__":
    sys.exit(main())
