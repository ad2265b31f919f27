"""The feature schema check: every problem named by record index and field, values never echoed."""

import datetime as dt

import pytest

from chalicelib.core.serving.errors import PredictBodyInvalidError, RecordsInvalidError, RecordsTooManyError
from chalicelib.core.serving.schema import Feature, check_records, features_from_metadata, records_from_body

FEATURES = features_from_metadata({"features": [
    {"name": "tenure", "type": "int"}, {"name": "charges", "type": "float"},
    {"name": "plan", "type": "category"}, {"name": "autopay", "type": "bool"},
    {"name": "signup", "type": "date"}, {"name": "seen", "type": "timestamp"}]})
GOOD = {"tenure": 3, "charges": 20.5, "plan": "pro", "autopay": True, "signup": "2026-01-31",
        "seen": "2026-11-26T16:33:47Z"}


def check(records, max_records=10):
    return check_records(records, FEATURES, max_records=max_records)


def test_a_valid_record_comes_back_typed():
    checked = check([GOOD])
    assert checked.rows == [{"tenure": 3, "charges": 20.5, "plan": "pro", "autopay": True,
                             "signup": dt.date(2026, 1, 31), "seen": dt.datetime(2026, 11, 26, 16, 33, 47)}]
    assert checked.ignored_fields == []


def test_a_missing_column_names_the_record_and_the_field():
    record = dict(GOOD)
    del record["charges"]
    with pytest.raises(RecordsInvalidError) as caught:
        check([GOOD, record])
    assert caught.value.code == "invalid_records"
    assert caught.value.details == [{"record": 1, "field": "charges", "problem": "missing",
                                     "expected": "float", "message": "record 1 has no field 'charges'"}]
    assert "record 1 has no field 'charges'" in caught.value.message


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("charges", "20.5", "a number"), ("charges", True, "a number"), ("tenure", 2.5, "an integer"),
    ("tenure", False, "an integer"), ("autopay", "yes", "true or false"), ("plan", 3, "a string"),
    ("signup", "31/01/2026", "an ISO-8601 date (YYYY-MM-DD)"), ("signup", 20260131, "an ISO-8601 date"),
    ("seen", "yesterday", "an ISO-8601 timestamp"), ("charges", float("inf"), "a number"),
    ("charges", float("-inf"), "a number"),
])
def test_a_wrong_type_names_the_record_the_field_and_the_expected_type(field, value, expected):
    with pytest.raises(RecordsInvalidError) as caught:
        check([GOOD, GOOD, {**GOOD, field: value}])
    (detail,) = caught.value.details
    assert (detail["record"], detail["field"], detail["problem"]) == (2, field, "wrong_type")
    assert expected in detail["message"]
    if isinstance(value, str):
        assert value not in caught.value.message  # values are never echoed (they may be PII)


def test_every_problem_of_every_record_is_listed():
    with pytest.raises(RecordsInvalidError) as caught:
        check([{**GOOD, "charges": "x"}, "not an object", {"tenure": 1}])
    found = [(d["record"], d["field"], d["problem"]) for d in caught.value.details]
    assert found[:2] == [(0, "charges", "wrong_type"), (1, None, "not_an_object")]
    assert {f for r, f, _ in found if r == 2} == {"charges", "plan", "autopay", "signup", "seen"}
    assert caught.value.message.startswith("7 problem(s) in the records")


def test_too_many_records_is_a_400_naming_the_first_record_past_the_limit():
    with pytest.raises(RecordsTooManyError) as caught:
        check([GOOD] * 4, max_records=3)
    assert caught.value.status == 400
    assert caught.value.code == "too_many_records"
    assert caught.value.details[0]["record"] == 3
    assert caught.value.message == "4 records exceed the limit of 3 per request"


def test_null_is_a_missing_value_not_a_missing_column():
    checked = check([{**GOOD, "charges": None, "plan": None}])
    assert checked.rows[0]["charges"] is None and checked.rows[0]["plan"] is None


def test_extra_fields_are_ignored_and_listed():
    checked = check([{**GOOD, "email": "a@b.c"}, {**GOOD, "note": "x"}])
    assert "email" not in checked.rows[0]
    assert checked.ignored_fields == ["email", "note"]


def test_integral_floats_are_integers_and_offsets_become_utc():
    checked = check([{**GOOD, "tenure": 4.0, "seen": "2026-11-26T18:33:47+02:00"}])
    assert checked.rows[0]["tenure"] == 4 and isinstance(checked.rows[0]["tenure"], int)
    assert checked.rows[0]["seen"] == dt.datetime(2026, 11, 26, 16, 33, 47)


def test_columns_and_data_is_the_same_as_records():
    body = {"columns": list(GOOD), "data": [list(GOOD.values())]}
    assert records_from_body(body) == [GOOD]


def test_a_data_row_of_the_wrong_length_is_named():
    with pytest.raises(RecordsInvalidError) as caught:
        records_from_body({"columns": ["a", "b"], "data": [[1, 2], [1]]})
    assert caught.value.details[0]["record"] == 1
    assert caught.value.details[0]["problem"] == "bad_row"


@pytest.mark.parametrize("body", [[], {"rows": []}, {"records": {}}, {"records": [], "data": []},
                                  {"columns": "a", "data": []}, {"columns": ["a", "a"], "data": []}])
def test_bodies_of_the_wrong_shape_are_rejected(body):
    with pytest.raises(PredictBodyInvalidError) as caught:
        records_from_body(body)
    assert caught.value.code == "invalid_predict_body"


def test_no_records_is_rejected():
    with pytest.raises(PredictBodyInvalidError) as caught:
        check([])
    assert caught.value.message == "there are no records to score"


def test_an_unknown_feature_type_in_metadata_is_refused():
    with pytest.raises(ValueError, match="unknown type"):
        features_from_metadata({"features": [{"name": "x", "type": "decimal"}]})
    assert features_from_metadata({"features": [{"name": "x", "type": "INT"}]}) == (Feature("x", "int"),)
