"""Small realistic files for the CLI's end-to-end tests: the demo's rides contract, data, spec and records.

Everything is written to a folder as a person would keep it on disk (a YAML and a JSON contract, a
CSV of rides, a training spec, prediction inputs as CSV and JSON) and handed to ``sluice`` by path.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sluice.demo.datasets import CONTRACT, rides_csv
from sluice.demo.models import spec
from sluice.demo.serving import ride_records

ROWS = 300  # enough for the contract's row_count rule (≥ 100) and a quick Ridge fit


@dataclass(frozen=True)
class CliFiles:
    """Paths of the files the tests pass to ``sluice``."""

    contract_yaml: Path
    contract_json: Path
    rides_csv: Path
    rides_more_csv: Path
    spec_yaml: Path
    spec_json: Path
    predict_csv: Path
    predict_json: Path


def contract_for(dataset: str) -> dict[str, Any]:
    return {**CONTRACT, "dataset": dataset}


def write_files(folder: Path, dataset: str) -> CliFiles:
    """Write every input file for ``dataset`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    files = CliFiles(
        contract_yaml=folder / "rides.contract.yaml", contract_json=folder / "rides.contract.json",
        rides_csv=folder / "rides-2026-11.csv", rides_more_csv=folder / "rides-2026-12.csv",
        spec_yaml=folder / "fare.spec.yaml", spec_json=folder / "fare.spec.json",
        predict_csv=folder / "to-score.csv", predict_json=folder / "to-score.json")
    contract = contract_for(dataset)
    files.contract_yaml.write_text(yaml.safe_dump(contract, sort_keys=False))
    stricter = {**contract, "description": "Completed taxi rides (v2: at least 150 rows)",
                "rules": {**contract["rules"], "row_count": {"min": 150}}}
    files.contract_json.write_text(json.dumps(stricter, indent=2))
    files.rides_csv.write_bytes(rides_csv(ROWS, seed=11))
    files.rides_more_csv.write_bytes(rides_csv(ROWS, seed=12))
    files.spec_yaml.write_text(yaml.safe_dump(spec(dataset, {"mode": "manual"}), sort_keys=False))
    files.spec_json.write_text(json.dumps(spec(dataset, {"mode": "manual"}) | {"seed": 8}, indent=2))
    records = ride_records(6, seed=21)
    files.predict_json.write_text(json.dumps({"records": records}, indent=2))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(records[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    files.predict_csv.write_text(out.getvalue())
    return files
