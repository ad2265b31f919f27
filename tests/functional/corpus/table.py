"""Print the corpus table of ``docs/corpus.md`` from a real run:
``python -m tests.functional.corpus.table [NAME ...]``.

Each dataset goes through the same loop as the corpus test (``tests.functional.corpus.loop``), in its own moto
world, and its checks (``tests.functional.corpus.checks``) are listed: ``=`` where every verdict equals its
reference, the issue 12 defect numbers (``#n``) of known symptoms, and ``NEW`` for anything else.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from typing import Any

from tests.functional.corpus.cases import BY_NAME, CASES, DATE_KEYED
from tests.functional.corpus.checks import Failure, close, date_key_failures, evaluate, live_reference
from tests.functional.corpus.loop import Record, run_case, upload_keyed_by

HEADER = ("| dataset | source | rows x cols | file | task · target | contract inferred | validation "
          "| primary metric: sluice / bare sklearn | gate (first version) | drift on the later 30 % "
          "| live metric on its labels: sluice / sklearn | checks |")
RULE = "|" + "---|" * 12


def _g(value: Any) -> str:
    return "-" if value is None else f"{value:.6g}"


def contract_cell(record: Record) -> str:
    if record.contract is None:
        return f"error: {record.infer_error}"
    kinds = Counter(record.types.values())
    text = ", ".join(f"{n} {k}" for k, n in kinds.most_common())
    key = record.contract["rules"].get("primary_key")
    nullable = [c["name"] for c in record.contract["columns"] if c.get("nullable")]
    if key:
        text += f"; key {', '.join(key['columns'])}"
    if nullable:
        text += f"; {len(nullable)} nullable"
    return text


def validation_cell(record: Record) -> str:
    if record.contract_put and record.contract_put[0] != 201:
        return f"PUT refused ({record.contract_put[0]})"
    upload = record.upload or {}
    if upload.get("status") != "passed":
        return f"{upload.get('status')} ({upload.get('code')})"
    return f"passed ({upload.get('rows')} rows)"


def metric_cell(record: Record) -> str:
    run = record.run or {}
    if run.get("status") != "succeeded":
        error = (run.get("error") or {}).get("code") or run.get("status") or "not trained"
        return f"run failed: {error}"
    primary = record.case.primary
    ours, theirs = run["metrics"].get(primary), record.reference.metrics.get(primary)
    return f"{primary} {_g(ours)} {'=' if close(ours, theirs) else '≠'} {_g(theirs)}"


def gate_cell(record: Record) -> str:
    run = record.run or {}
    if run.get("status") != "succeeded":
        return "-"
    primary = record.case.primary
    verdict = "promoted" if run["decision"]["promote"] else "rejected"
    return f"{verdict} (baseline {primary} {_g(run['baseline'].get(primary))})"


def drift_cell(record: Record) -> str:
    if record.drift is None:
        return "not served (rejected)" if record.run and record.run.get("status") == "succeeded" else "-"
    status, summary = record.drift
    if status != 200:
        return f"check failed ({status})"
    features = [f for f in summary["features"] if f["name"] != "prediction"]
    drifted = [f["name"] for f in features if f["status"] == "drift"]
    prediction = next((f["status"] for f in summary["features"] if f["name"] == "prediction"), "-")
    text = f"**{summary['status']}**: {len(drifted)}/{len(features)} features drift, prediction {prediction}"
    if 0 < len(drifted) <= 3:
        text += f" ({', '.join(drifted)})"
    return f"{text}; {summary['rows']} rows"


def live_cell(record: Record) -> str:
    summary = record.performance
    if not summary:
        return "-"
    expected = live_reference(record)
    sign = "=" if close(summary.get("live"), expected) else "≠"
    return f"{summary['status']}: {summary['metric']} {_g(summary.get('live'))} {sign} {_g(expected)}"


def checks_cell(failures: list[Failure]) -> str:
    if not failures:
        return "="
    known = sorted({f.known for f in failures if f.known})
    new = sorted({f.step for f in failures if not f.known})
    parts = [f"#{n}" for n in known] + ([f"**NEW** ({', '.join(new)})"] if new else [])
    return ", ".join(parts)


def row(record: Record, failures: list[Failure]) -> str:
    case = record.case
    cells = [case.name, case.source, f"{record.shape[0]} x {record.shape[1]}", case.file_format,
             f"{case.task} · {case.target}", contract_cell(record), validation_cell(record),
             metric_cell(record), gate_cell(record), drift_cell(record), live_cell(record),
             checks_cell(failures)]
    return "| " + " | ".join(c.replace("|", "/") for c in cells) + " |"


def main(names: list[str]) -> None:
    from threadpoolctl import threadpool_limits

    from tests.functional.corpus.world import world

    cases = [BY_NAME[n] for n in names] if names else list(CASES)
    rows, details, started = [], [], time.perf_counter()
    with threadpool_limits(limits=1):
        for case in cases:
            with world() as (client, resources):
                record = run_case(client, resources.bucket, resources.invoke_queue_url, case)
            failures = evaluate(record)
            rows.append(row(record, failures))
            details += [f"- {case.name}: {str(f)[:300]}" for f in failures if not f.known]
        keyed = []
        for name, key in DATE_KEYED:
            if names and name not in names:
                continue
            with world() as (client, resources):
                version = upload_keyed_by(client, resources.bucket, resources.invoke_queue_url,
                                          BY_NAME[name], key)
            failures = date_key_failures(version)
            keyed.append(f"| {name} | {key} | {version.get('status')} ({version.get('code') or 'ok'}) "
                         f"| {checks_cell(failures)} |")
    print(HEADER, RULE, *rows, sep="\n")
    if keyed:
        print("\nThe same files with the date column as the primary key (and `unique`):\n")
        print("| dataset | key | validation | checks |", "|---|---|---|---|", *keyed, sep="\n")
    if details:
        print("\nFailed checks that are not issue 12's known defects:\n", *details, sep="\n")
    print(f"\n({len(cases)} datasets in {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    import logging

    logging.disable(logging.INFO)  # the run's own log lines would drown the table
    main(sys.argv[1:])
