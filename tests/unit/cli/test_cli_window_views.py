"""What the CLI shows of a run's training window and of a drift check's sample sizes and retraining."""

from __future__ import annotations

from tests.unit.cli.test_cli_views import rendered, row_of


def test_a_run_shows_its_window_versions_and_the_feedback_rows_its_holdout_held():
    from sluice.cli.training import run_view

    run = {"model": "m", "run_id": "r1", "status": "succeeded",
           "rows": {"total": 350, "train": 280, "holdout": 70, "train_feedback": 0, "holdout_feedback": 50},
           "data": {"window": "all + feedback", "dataset_versions": [1, 2], "feedback_versions": [3],
                    "rows": {"dataset": 300, "feedback": 50, "feedback_replaced": 20}}}
    assert ("data: window all + feedback; dataset version(s) 1, 2 (300 rows); feedback version(s) 3 "
            "(50 rows, 20 older labels replaced); the holdout holds 50 of the 70 rows from feedback"
            ) in rendered(run_view, run)


def test_a_drift_check_shows_power_what_a_short_window_needs_and_why_no_run_started():
    from sluice.cli.monitoring import drift_view

    check = {"model": "m", "version": 1, "status": "insufficient_data", "rows": 20,
             "features": [{"name": "x", "status": "drift", "method": "ks",
                           "power": {"power": 0.125, "minimum_detectable_effect": 0.4561}},
                          {"name": "y", "status": "insufficient_data", "method": "ks", "power": None}],
             "reference": {"rows": 100, "prediction": {"method": "out_of_fold"}},
             "rows_needed": {"message": "1 feature(s) lack values for a verdict: 50 non-missing values are "
                                        "needed on each side, the window holds 20 row(s)"},
             "retrain": {"status": "skipped", "reason": "no new data since version 3",
                         "upload": "Upload a new version of dataset d to s3://b/raw/d/."}}
    text = rendered(drift_view, check)
    assert row_of(text, "x")[-1] == "0.125 (0.4561)" and row_of(text, "y")[-1] == "-"
    assert "reference: 100 rows; predictions out-of-fold" in text
    assert "insufficient data: 1 feature(s) lack values for a verdict: 50 non-missing values" in text
    assert ("retraining: skipped: no new data since version 3. Upload a new version of dataset d to "
            "s3://b/raw/d/.") in text
