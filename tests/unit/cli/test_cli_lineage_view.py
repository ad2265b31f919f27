"""``sluice models lineage``: a feedback dataset version shows the labels object and the capture objects."""

from __future__ import annotations

from rich.console import Console

from sluice.cli.registry import lineage_view

UPLOAD = {"dataset": "rides", "version": 3, "found": True, "status": "passed", "rows": 300,
          "contract_version": 1, "curated_path": "s3://b/curated/rides/dataset_version=3/",
          "raw": {"bucket": "b", "key": "raw/rides/jan.csv", "sha256": "ab" * 32}}
FEEDBACK = {"dataset": "fare-feedback", "version": 2, "found": True, "status": "passed", "rows": 40,
            "contract_version": 1, "curated_path": "s3://b/curated/fare-feedback/dataset_version=2/",
            "raw": {"bucket": "b", "key": "feedback/fare/labels-1.parquet", "sha256": "cd" * 32},
            "feedback": {"labels": {"bucket": "b", "key": "labels/fare/week1.csv", "version_id": "v7"},
                         "captures": [{"key": "capture/fare/date=2026-07-01/hour=10/a.jsonl",
                                       "version_id": "x"}],
                         "captures_total": 12,
                         "captures_manifest": {"key": "feedback/fare/labels-1.captures.json"},
                         "join": {"labelled": 50, "matched": 40, "unmatched": 10, "window_hours": 168}}}


def rendered(result) -> str:
    console = Console(record=True, width=200, color_system=None)
    lineage_view(console, result)
    return console.export_text()


def test_a_feedback_version_names_its_labels_object_and_where_every_capture_object_is_listed():
    text = rendered({"model": "fare", "version": 5, "status": "approved", "run_id": "r", "spec_version": 2,
                     "artifact": {"sha256": "ef" * 32}, "datasets": [UPLOAD, FEEDBACK]})
    assert "labels s3://b/labels/fare/week1.csv (version v7): 40 of 50 labels matched" in text
    assert "12 capture objects, listed in feedback/fare/labels-1.captures.json" in text
    assert text.count("labels s3://") == 1  # an upload has no labels
