"""The training window: which dataset versions a spec reads, how feedback rows join them (latest label
wins), the time-aware holdout, and whether anything new arrived since the champion's training data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from chalicelib.core.datasets.types import DatasetVersion
from chalicelib.core.training.errors import TrainingDataError
from chalicelib.core.training.features import resolve_features
from chalicelib.core.training.pipeline import split_rows
from chalicelib.core.training.spec import DataWindow, TrainingSpec
from chalicelib.core.training.trainer import train
from chalicelib.core.training.window import (
    FROM_FEEDBACK,
    INGESTED_AT,
    Part,
    join_rows,
    new_data,
    select_versions,
    trained_on,
)
from chalicelib.core.validation.contract import parse_contract
from tests.unit.training.conftest import CONTRACT, rides_frame, spec_body


def version(number: int, created_at: str = "2026-01-01T00:00:00.000Z", *, dataset: str = "rides",
            rows: int = 100, invalid_rows: int = 0) -> DatasetVersion:
    return DatasetVersion(dataset=dataset, version=number, status="passed",
                          raw={"bucket": "b", "key": f"raw/{dataset}/{number}.csv", "version_id": None,
                               "etag": "e", "sha256": "0" * 64, "size": 1},
                          report_key="r", created_at=created_at, rows=rows, invalid_rows=invalid_rows,
                          curated_path=f"s3://b/curated/{dataset}/dataset_version={number}/")


def window(**data) -> DataWindow:
    return TrainingSpec.model_validate(spec_body(data=data)).data


VERSIONS = [version(3, "2026-03-10T08:00:00.000Z"), version(1, "2026-01-05T08:00:00.000Z"),
            version(4, "2026-04-01T00:00:00.000Z"), version(2, "2026-02-28T23:59:59.999Z")]


@pytest.mark.parametrize(("versions", "chosen"), [
    ("latest", [4]), ("all", [1, 2, 3, 4]), ({"last": 2}, [3, 4]), ({"last": 9}, [1, 2, 3, 4]),
    ({"since": "2026-03-01"}, [3, 4]), ({"since": "2026-02-28"}, [2, 3, 4]), ({"since": "2027-01-01"}, []),
])
def test_the_window_chooses_versions_oldest_first(versions, chosen):
    assert [v.version for v in select_versions(VERSIONS, window(versions=versions))] == chosen


def test_the_default_window_is_the_latest_version_without_feedback():
    spec = TrainingSpec.model_validate(spec_body())
    assert spec.data.versions == "latest" and spec.data.feedback is False
    assert spec.data.describe() == "latest"
    assert window(versions={"since": "2026-03-01"}, feedback=True).describe() == "since 2026-03-01 + feedback"


@pytest.mark.parametrize("data", [{"versions": {"last": 0}}, {"versions": {"since": "last tuesday"}},
                                  {"versions": "newest"}, {"versions": {"last": 2, "since": "2026-01-01"}},
                                  {"window": "all"}])
def test_a_malformed_window_is_refused(data):
    with pytest.raises(ValidationError):
        TrainingSpec.model_validate(spec_body(data=data))


@pytest.mark.parametrize("versions", ["latest", "all", {"last": 2}])
def test_a_pinned_version_and_a_window_of_versions_are_refused_together(versions):
    with pytest.raises(ValidationError) as caught:
        TrainingSpec.model_validate(spec_body(dataset_version=3, data={"versions": versions}))
    assert "dataset_version pins version 3; data.versions chooses a window" in str(caught.value)
    pinned = TrainingSpec.model_validate(spec_body(dataset_version=3, data={"feedback": True}))
    assert pinned.dataset_version == 3 and pinned.data.feedback  # a pin with feedback rows is fine


def feedback_frame(keys: list[tuple[str, int]], labels: list[str], captured: list[str]) -> pd.DataFrame:
    base = rides_frame(len(keys), seed=11)
    base["tipped"] = labels
    base["_request_id"] = [k[0] for k in keys]
    base["_record_index"] = [k[1] for k in keys]
    base["_captured_at"] = pd.to_datetime(captured, utc=True)
    base["_labelled_at"] = pd.Timestamp("2026-07-01", tz="UTC")
    return base


COLUMNS = [c["name"] for c in CONTRACT["columns"] if c.get("pii") != "drop"]


def test_feedback_keeps_the_latest_label_of_each_key_and_no_metadata_column():
    first = feedback_frame([("a", 0), ("a", 1), ("b", 0), ("a", 1)], ["no", "no", "no", "yes"],
                           ["2026-06-01"] * 4)  # ("a", 1) twice in one file: the last row wins
    second = feedback_frame([("b", 0), ("c", 0)], ["yes", "yes"], ["2026-06-02", "2026-06-03"])
    dataset = rides_frame(10)
    joined = join_rows([Part(version(1, "2026-01-01T00:00:00.000Z"), dataset)],
                       [Part(version(2, dataset="tips-feedback"), second),
                        Part(version(1, dataset="tips-feedback"), first)], COLUMNS)

    assert joined.rows == {"dataset": 10, "feedback": 4, "feedback_replaced": 2}
    frame = joined.frame
    assert list(frame.columns) == [*COLUMNS, INGESTED_AT, FROM_FEEDBACK]  # no _request_id, _captured_at...
    feedback = frame[frame[FROM_FEEDBACK]]
    assert feedback["tipped"].tolist() == ["no", "yes", "yes", "yes"]  # a0, a1 (last row), b0 (v2), c0
    assert feedback[INGESTED_AT].dt.strftime("%Y-%m-%d").tolist() == ["2026-06-01", "2026-06-01",
                                                                     "2026-06-02", "2026-06-03"]
    assert (frame.loc[~frame[FROM_FEEDBACK], INGESTED_AT] == pd.Timestamp("2026-01-01", tz="UTC")).all()


def test_a_record_index_stored_as_float_in_one_version_still_matches_its_key():
    first = feedback_frame([("a", 0)], ["no"], ["2026-06-01"])
    second = feedback_frame([("a", 0)], ["yes"], ["2026-06-02"])
    second["_record_index"] = second["_record_index"].astype("float64")
    joined = join_rows([], [Part(version(1), first), Part(version(2), second)], COLUMNS)
    assert joined.frame["tipped"].tolist() == ["yes"] and joined.rows["feedback_replaced"] == 1


def test_a_column_a_version_lacks_is_missing_in_its_rows_and_feedback_needs_its_keys():
    old = rides_frame(5).drop(columns=["zone"])
    joined = join_rows([Part(version(1), old), Part(version(2), rides_frame(5))], [], COLUMNS)
    assert joined.frame["zone"].isna().sum() >= 5
    with pytest.raises(TrainingDataError, match="feedback version 1 lacks column"):
        join_rows([], [Part(version(1), rides_frame(3))], COLUMNS)


def test_the_recent_split_holds_out_the_newest_rows_by_ingestion_time():
    spec = TrainingSpec.model_validate(spec_body(split={"method": "recent", "test_size": 0.25}))
    dataset = rides_frame(30)
    recent = feedback_frame([(f"r{i}", 0) for i in range(10)], ["yes"] * 10,
                            [f"2026-06-{d:02d}" for d in range(10, 0, -1)])  # newest first in the file
    joined = join_rows([Part(version(1, "2026-01-01T00:00:00.000Z"), dataset)], [Part(version(1), recent)],
                       COLUMNS).frame
    train_rows, holdout = split_rows(joined, joined["tipped"], spec)
    assert len(holdout) == 10 and set(holdout) == set(range(30, 40))  # all the feedback rows
    stamps = joined[INGESTED_AT]
    assert stamps.iloc[holdout].min() >= stamps.iloc[train_rows].max()


def test_the_recent_split_of_one_version_holds_out_its_last_rows():
    spec = TrainingSpec.model_validate(spec_body(split={"method": "recent", "test_size": 0.2}))
    frame = join_rows([Part(version(1), rides_frame(50))], [], COLUMNS).frame
    _, holdout = split_rows(frame, frame["tipped"], spec)
    assert holdout.tolist() == list(range(40, 50))


def test_a_run_on_feedback_counts_the_feedback_rows_the_recent_holdout_holds():
    spec = TrainingSpec.model_validate(spec_body(split={"method": "recent", "test_size": 0.2}))
    contract = parse_contract(CONTRACT)
    recent = feedback_frame([(f"r{i}", 0) for i in range(40)], ["yes", "no"] * 20,
                            ["2026-06-01"] * 40)
    frame = join_rows([Part(version(1, "2026-01-01T00:00:00.000Z"), rides_frame(160))],
                      [Part(version(1), recent)], COLUMNS).frame
    result = train(spec, resolve_features(spec, contract), frame, importance=False)
    assert result.rows == {"total": 200, "train": 160, "holdout": 40, "train_feedback": 0,
                           "holdout_feedback": 40}


# ---- what is new ---------------------------------------------------------------------------------


def lineage(*refs: tuple[str, int]) -> dict:
    datasets = [{"dataset": d, "version": v} for d, v in refs if not d.endswith("-feedback")]
    feedback = [{"dataset": d, "version": v} for d, v in refs if d.endswith("-feedback")]
    return {"datasets": datasets, "feedback": {"versions": feedback}, "dataset": datasets[-1]}


def decide(trained, window_versions, feedback_versions=(), *, use_feedback=False, needed=30):
    return new_data("rides", window_versions, "tips-feedback", list(feedback_versions), trained,
                    use_feedback=use_feedback, min_new_feedback_rows=needed)


def test_nothing_new_since_the_champions_version_is_no_new_data():
    news = decide(trained_on(lineage(("rides", 3))), [version(3)])
    assert news.found is False and news.reason == "no new data since version 3"
    assert news.since_version == 3 and news.newer_versions == []


def test_a_newer_passing_version_in_the_window_is_new_data():
    news = decide(trained_on(lineage(("rides", 2), ("rides", 3))), [version(3), version(4), version(5)])
    assert news.found and news.newer_versions == [4, 5]
    assert news.reason == "new data: dataset rides version(s) 4, 5"


def test_new_feedback_counts_only_when_the_spec_trains_on_it_and_enough_rows_arrived():
    trained = trained_on(lineage(("rides", 3), ("tips-feedback", 2)))
    feedback = [version(2, dataset="tips-feedback", rows=500),  # trained on already
                version(3, dataset="tips-feedback", rows=20, invalid_rows=2),
                version(4, dataset="tips-feedback", rows=11)]
    few = decide(trained, [version(3)], feedback, use_feedback=True, needed=30)
    assert few.found is False and few.new_feedback_rows == 29 and few.reason == "no new data since version 3"
    enough = decide(trained, [version(3)], feedback, use_feedback=True, needed=29)
    assert enough.found and enough.reason == "new data: 29 new labelled feedback row(s)"
    ignored = decide(trained, [version(3)], feedback, use_feedback=False, needed=1)
    assert ignored.found is False and ignored.new_feedback_rows == 0


def test_a_version_with_no_lineage_finds_any_passing_version_new_and_an_empty_dataset_none():
    assert decide(trained_on(None), [version(1)]).found
    empty = decide(trained_on(None), [])
    assert not empty.found and "has no passing version" in empty.reason


def test_lineage_written_before_windows_names_one_dataset_version():
    old = {"dataset": {"dataset": "rides", "version": 7, "rows": 10}, "raw": {}, "spec_version": 1}
    assert trained_on(old).newest("rides") == 7
    assert trained_on(lineage(("rides", 2), ("rides", 5), ("tips-feedback", 4))).versions == {
        "rides": 5, "tips-feedback": 4}


def test_select_versions_refuses_a_window_past_the_run_limit(monkeypatch):
    from chalicelib.core.training import window as module

    monkeypatch.setattr(module, "MAX_WINDOW_VERSIONS", 3)
    with pytest.raises(TrainingDataError, match="the window holds 4 dataset versions"):
        select_versions(VERSIONS, window(versions="all"))
    assert len(select_versions(VERSIONS, window(versions={"last": 3}))) == 3


def test_ingestion_order_ties_keep_the_row_order():
    frame = pd.DataFrame({INGESTED_AT: pd.to_datetime(["2026-01-02"] * 3 + ["2026-01-01"] * 2, utc=True)})
    spec = TrainingSpec.model_validate(spec_body(split={"method": "recent", "test_size": 0.4}))
    train_rows, holdout = split_rows(frame, pd.Series(np.zeros(5)), spec)
    assert train_rows.tolist() == [0, 3, 4] and holdout.tolist() == [1, 2]  # the last rows of the newest time


def test_a_time_split_without_its_column_is_refused_and_a_recent_split_without_times_keeps_row_order():
    time_split = TrainingSpec.model_validate(spec_body(split={"method": "time", "column": "pickup_ts"}))
    with pytest.raises(TrainingDataError, match="lacks the split column 'pickup_ts'"):
        split_rows(pd.DataFrame({"other": range(10)}), pd.Series(np.zeros(10)), time_split)
    recent = TrainingSpec.model_validate(spec_body(split={"method": "recent", "test_size": 0.3}))
    _, holdout = split_rows(None, pd.Series(np.zeros(10)), recent)
    assert holdout.tolist() == [7, 8, 9]
