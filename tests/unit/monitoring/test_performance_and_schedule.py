"""The performance policy's tolerance and how label files are read (the label trigger: tests/functional)."""

import pytest

from chalicelib.core.monitoring.live import LabelsUnreadableError, read_labels
from chalicelib.core.monitoring.policy import judge_performance


def test_tolerance_is_absolute_for_scores_and_relative_for_errors():
    assert judge_performance("accuracy", 0.90, 0.86, 0.05, 100).status == "ok"
    assert judge_performance("accuracy", 0.90, 0.84, 0.05, 100).status == "degraded"
    assert judge_performance("rmse", 10.0, 10.4, 0.05, 100).status == "ok"
    assert judge_performance("rmse", 10.0, 10.6, 0.05, 100).status == "degraded"
    assert judge_performance("accuracy", 0.9, 0.1, 0.05, 5).status == "insufficient_data"


def test_labels_may_name_the_target_column_and_omit_the_record_index(tmp_path):
    path = tmp_path / "l.jsonl"
    path.write_text('{"request_id": "a", "label_col": 1}\n{"request_id": "a", "label_col": 0}\n')
    labels = read_labels(str(path), "label_col")
    assert labels.to_dict("records") == [{"request_id": "a", "label": 0, "record_index": 0}]
    with pytest.raises(LabelsUnreadableError):
        read_labels(str(path), "other")


def test_a_record_index_that_is_not_a_whole_number_is_rejected_not_a_crash(tmp_path):
    path = tmp_path / "l.csv"
    path.write_text("request_id,record_index,label\nr1,a,1\n")
    with pytest.raises(LabelsUnreadableError) as caught:
        read_labels(str(path), "label")
    assert caught.value.code == "labels_unreadable" and "record_index" in caught.value.message
