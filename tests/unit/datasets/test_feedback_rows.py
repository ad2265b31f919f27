"""Feedback rows, pure: the derived contract, the join of labels to captured lines, the rows' frame, and
the differential: feedback rows come out of the validation engine exactly as the same rows uploaded."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.core.datasets.feedback import (
    CAPTURED_AT,
    KEY_COLUMNS,
    LABELLED_AT,
    METADATA_COLUMNS,
    RECORD_INDEX,
    REQUEST_ID,
    CaptureSource,
    FeedbackColumns,
    FeedbackContractError,
    feedback_contract,
    feedback_frame,
    join_labels,
    keep_latest,
    same_contract,
)
from chalicelib.core.validation.contract import parse_contract

KEY = b"k" * 32
TRAINING = parse_contract({
    "dataset": "rides",
    "columns": [
        {"name": "ride_id", "type": "string", "unique": True},
        {"name": "distance", "type": "float", "min": 0, "nullable": True},
        {"name": "zone", "type": "category", "allowed": ["north", "south"], "nullable": True},
        {"name": "night", "type": "bool", "nullable": True},
        {"name": "passengers", "type": "int", "min": 1, "max": 6, "nullable": True},
        {"name": "pickup_ts", "type": "timestamp", "nullable": True},
        {"name": "day", "type": "date"},
        {"name": "rider", "type": "string", "pii": "hash", "nullable": True},
        {"name": "tipped", "type": "category", "allowed": ["no", "yes"]},
    ],
    "rules": {"row_count": {"min": 1000}, "primary_key": {"columns": ["ride_id"]},
              "freshness": {"column": "pickup_ts", "max_age": "2d"}},
    "undeclared_pii": "error",
    "failure_policy": {"action": "quarantine_rows", "max_invalid_fraction": 0.3},
})
FEATURES = ("distance", "zone", "night", "passengers", "pickup_ts", "rider")
T0 = dt.datetime(2026, 7, 1, 12, 0, 0)


def line(request_id: str, index: int = 0, *, at: dt.datetime = T0, version: int = 1, **inputs) -> dict:
    return {"request_id": request_id, "record_index": index, "time": at.isoformat() + ".000Z",
            "version": version, "input": inputs, "prediction": 1}


# ---- the derived contract ------------------------------------------------------------------------


def test_the_derived_contract_keeps_each_columns_declaration_and_adds_the_keyed_metadata_columns():
    derived = feedback_contract(TRAINING, dataset="tips-feedback", features=FEATURES, target="tipped",
                                split_column="day", source="from rides v3")
    assert derived.column_names == [*FEATURES, "tipped", "day", *METADATA_COLUMNS]
    for name in (*FEATURES, "tipped"):
        assert derived.column(name) == TRAINING.column(name)  # rules, nullability and PII action as trained
    assert derived.column("rider").pii == "hash"
    assert derived.column("day").nullable and not TRAINING.column("day").nullable  # filled from capture time
    assert derived.rules.primary_key.columns == list(KEY_COLUMNS)
    assert derived.rules.row_count is None and derived.rules.freshness is None
    assert derived.format.type == "parquet"
    assert (derived.extra_columns, derived.missing_columns) == ("error", "error")
    assert derived.failure_policy == TRAINING.failure_policy and derived.undeclared_pii == "error"
    assert (derived.dataset, derived.description) == ("tips-feedback", "from rides v3")


def test_a_split_column_that_is_a_feature_keeps_its_declaration():
    derived = feedback_contract(TRAINING, dataset="f", features=("pickup_ts",), target="tipped",
                                split_column="pickup_ts")
    assert derived.column_names == ["pickup_ts", "tipped", *METADATA_COLUMNS]
    assert derived.column("pickup_ts") == TRAINING.column("pickup_ts")


@pytest.mark.parametrize(("features", "target", "named"), [
    (("distance", "gone"), "tipped", "gone"), (("distance",), "missing_target", "missing_target")])
def test_a_column_the_training_contract_does_not_declare_is_refused(features, target, named):
    with pytest.raises(FeedbackContractError, match=named) as caught:
        feedback_contract(TRAINING, dataset="f", features=features, target=target)
    assert caught.value.code == "feedback_contract_invalid"


def test_a_training_column_named_like_a_metadata_column_is_refused():
    clashing = parse_contract({"dataset": "d", "columns": [{"name": "x", "type": "int"},
                                                           {"name": REQUEST_ID, "type": "string"},
                                                           {"name": "y", "type": "int"}]})
    with pytest.raises(FeedbackContractError, match=REQUEST_ID):
        feedback_contract(clashing, dataset="f", features=("x",), target="y")


def test_deriving_twice_from_one_contract_gives_the_same_contract_and_a_changed_one_does_not():
    a = feedback_contract(TRAINING, dataset="f", features=FEATURES, target="tipped", source="v1")
    b = feedback_contract(TRAINING, dataset="f", features=FEATURES, target="tipped", source="v1")
    c = feedback_contract(TRAINING, dataset="f", features=FEATURES[:2], target="tipped", source="v1")
    assert same_contract(a, b) and not same_contract(a, c)


# ---- the join ------------------------------------------------------------------------------------


def test_each_label_joins_the_first_capture_of_its_key_and_the_rest_are_unmatched():
    a, b = CaptureSource("capture/m/a.jsonl", "va"), CaptureSource("capture/m/b.jsonl", "vb")
    captured = [(a, line("r1", 0, distance=1.0)), (a, line("r1", 1, distance=2.0)),
                (b, line("r1", 0, distance=9.0)), (b, line("r2", 0, distance=3.0))]
    join = join_labels({("r1", 0): "yes", ("r2", 0): "no", ("r9", 0): "no"}, captured)
    found = [(m.request_id, m.record_index, m.label, m.line["input"]["distance"], m.source)
             for m in join.matches]
    assert found == [("r1", 0, "yes", 1.0, a), ("r2", 0, "no", 3.0, b)]
    assert (join.labelled, join.matched, join.unmatched) == (3, 2, 1)
    assert join.sources == [a, b]


def test_the_join_stops_reading_capture_once_every_label_is_matched():
    def lines():
        yield CaptureSource("k", None), line("r1")
        raise AssertionError("read past the last label")

    assert join_labels({("r1", 0): 1}, lines()).matched == 1


# ---- the rows ------------------------------------------------------------------------------------


def test_rows_are_ordered_by_capture_time_then_key_with_labels_spelled_as_the_models_classes():
    src = CaptureSource("k", None)
    later = T0 + dt.timedelta(minutes=5)
    join = join_labels({("b", 0): "1", ("a", 1): 0.0, ("a", 0): 1},
                       [(src, line("b", 0, at=T0, passengers=2)),
                        (src, line("a", 1, at=later, passengers=None)),
                        (src, line("a", 0, at=later, passengers=4))])
    frame = feedback_frame(join, FeedbackColumns(("passengers",), "tipped", classes=(0, 1)),
                           dt.datetime(2026, 7, 2, tzinfo=dt.UTC))
    assert frame[REQUEST_ID].tolist() == ["b", "a", "a"] and frame[RECORD_INDEX].tolist() == [0, 0, 1]
    assert frame["tipped"].tolist() == [1, 1, 0]  # "1", 1 and 0.0 are the classes 1, 1 and 0
    assert frame["passengers"].tolist()[:2] == [2, 4] and pd.isna(frame["passengers"].iloc[2])
    assert str(frame["passengers"].dtype) == "Int64"
    assert frame[CAPTURED_AT].tolist() == [pd.Timestamp(T0), pd.Timestamp(later), pd.Timestamp(later)]
    assert set(frame[LABELLED_AT]) == {pd.Timestamp("2026-07-02")}


def test_a_split_column_that_is_not_captured_is_the_capture_time_or_its_date():
    src = CaptureSource("k", None)
    join = join_labels({("r", 0): "yes"}, [(src, line("r", at=T0 + dt.timedelta(hours=13)))])
    as_date = feedback_frame(join, FeedbackColumns((), "tipped", split=("day", "date")), T0)
    as_time = feedback_frame(join, FeedbackColumns((), "tipped", split=("at", "timestamp")), T0)
    as_int = feedback_frame(join, FeedbackColumns((), "tipped", split=("n", "int")), T0)
    assert as_date["day"].tolist() == ["2026-07-02"]
    assert as_time["at"].tolist() == [pd.Timestamp("2026-07-02 01:00:00")]
    assert as_int["n"].isna().all()


def test_boolean_classes_take_the_contracts_spellings_of_true_and_false():
    src = CaptureSource("k", None)
    join = join_labels({("r", 0): "yes", ("r", 1): "F"}, [(src, line("r", 0)), (src, line("r", 1))])
    frame = feedback_frame(join, FeedbackColumns((), "paid", classes=(False, True)), T0)
    assert frame["paid"].tolist() == [True, False]


def test_the_latest_version_of_a_key_wins_and_within_a_version_its_last_row():
    frame = pd.DataFrame({REQUEST_ID: ["r", "r", "s", "r"], RECORD_INDEX: [0, 0, 0, 0],
                          "label": ["late", "early", "only", "later"], "v": [3, 1, 2, 3]})
    latest = keep_latest(frame, "v")
    assert sorted(zip(latest[REQUEST_ID], latest["label"], strict=True)) == [("r", "later"), ("s", "only")]


# ---- differential: feedback rows through the engine = the same rows uploaded -----------------------

ZONES = st.one_of(st.none(), st.sampled_from(["north", "south", "west"]))
ROW = st.fixed_dictionaries({
    "distance": st.one_of(st.none(), st.floats(-5, 500, allow_nan=False, width=32)),
    "zone": ZONES,
    "night": st.one_of(st.none(), st.booleans()),
    "passengers": st.one_of(st.none(), st.integers(0, 8)),
    "pickup_ts": st.one_of(st.none(), st.datetimes(dt.datetime(2020, 1, 1), dt.datetime(2030, 1, 1)).map(
        lambda t: t.replace(microsecond=0).isoformat())),
    "rider": st.one_of(st.none(), st.text("abcxyz@.", min_size=1, max_size=12)),
    "tipped": st.sampled_from(["no", "yes", "maybe"]),
})


def _curated(path: Path, contract) -> tuple[pd.DataFrame, int]:
    from chalicelib.core.validation.engine import validate_file

    result = validate_file(str(path), contract, pii_key=KEY)
    frames = list(result.iter_curated())
    curated = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return curated, result.invalid_rows


def _cell(value: object) -> str:
    """A value as a CSV upload spells it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def _upload_csv(rows: list[dict], path: Path) -> None:
    lines = [",".join(["ride_id", *FEATURES, "day", "tipped"])]
    for i, row in enumerate(rows):
        lines.append(",".join([f"R{i}", *(_cell(row[n]) for n in FEATURES), "2026-07-01", row["tipped"]]))
    path.write_text("\n".join(lines) + "\n")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(ROW, min_size=1, max_size=12), engine=st.sampled_from(["pyarrow", "fastparquet"]))
def test_feedback_rows_are_curated_exactly_as_the_same_rows_uploaded_to_the_training_dataset(rows, engine,
                                                                                              tmp_path):
    from chalicelib.core.parquet import write_file

    src = CaptureSource("k", None)
    captured = [(src, line("r", i, **{n: row[n] for n in FEATURES})) for i, row in enumerate(rows)]
    join = join_labels({("r", i): row["tipped"] for i, row in enumerate(rows)}, captured)
    frame = feedback_frame(join, FeedbackColumns(FEATURES, "tipped"), T0)
    feedback_path = tmp_path / f"feedback-{engine}.parquet"
    write_file(feedback_path, [frame], use=engine)
    derived = feedback_contract(TRAINING, dataset="f", features=FEATURES, target="tipped")
    got, got_invalid = _curated(feedback_path, derived)

    upload_path = tmp_path / "upload.csv"
    _upload_csv(rows, upload_path)
    loose = TRAINING.model_copy(update={"rules": TRAINING.rules.model_copy(update={"row_count": None,
                                                                                   "freshness": None})})
    expected, expected_invalid = _curated(upload_path, loose)

    assert got_invalid == expected_invalid
    assert len(got) == len(expected)
    if not len(got):
        return
    for name in (*FEATURES, "tipped"):
        for a, b in zip(got[name].tolist(), expected[name].tolist(), strict=True):
            assert (_missing(a) and _missing(b)) or a == b, (name, a, b)


def _missing(value: object) -> bool:
    return value is None or value is pd.NaT or value is pd.NA or (
        isinstance(value, float) and math.isnan(value))
