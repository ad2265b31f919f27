"""Privacy: keyed hashing, masking, dropping; undeclared PII detection; no PII in clear anywhere."""

from __future__ import annotations

import hashlib
import hmac
import json

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.core.validation import pii
from tests.unit.validation.helpers import PII_KEY, contract, failing, rule, run

EMAILS = ["anna.mueller1@example.com", "ben.schmidt22@mail.de", "bad_at_mail.com"]
DATA = ("id,email,phone,card,note\n"
        f"1,{EMAILS[0]},+49 30 1234567,4111 1111 1111 1111,call me\n"
        f"2,{EMAILS[1]},+49 40 7654321,5500 0000 0000 0004,ok\n"
        f"3,{EMAILS[2]},030 9999999,4012 8888 8888 1881,fine\n")
COLS = [{"name": "id", "type": "int"},
        {"name": "email", "type": "string", "pii": "hash", "pattern": r"[^@]+@[^@]+\.[a-z]+"},
        {"name": "phone", "type": "string", "pii": "mask"},
        {"name": "card", "type": "string", "pii": "drop"},
        {"name": "note", "type": "string"}]
SECRETS = [*EMAILS, "1234567", "7654321", "9999999", "4111 1111 1111 1111", "5500 0000 0000 0004",
           "anna", "ben."]


def test_hashing_is_keyed_hmac_sha256():
    hasher = pii.PiiHasher(PII_KEY)
    assert hasher.hash("x@y.de") == hmac.new(PII_KEY, b"x@y.de", hashlib.sha256).hexdigest()
    assert pii.PiiHasher(b"another-key-0123456789").hash("x@y.de") != hasher.hash("x@y.de")
    long_key = b"k" * 100
    assert pii.PiiHasher(long_key).hash("a") == hmac.new(long_key, b"a", hashlib.sha256).hexdigest()
    with pytest.raises(ValueError, match="at least 16 bytes"):
        pii.PiiHasher(b"short")


@pytest.mark.parametrize(("value", "masked"), [
    ("john.doe@example.com", "j***@***.com"), ("4111 1111 1111 1111", "****1111"),
    ("+49 30 1234567", "****4567"), ("DE89 3704 0044 0532 0130 00", "****3000"), ("Berlin", "B***"),
    ("ab", "***"),
])
def test_masks_keep_only_a_non_identifying_shape(value, masked):
    assert pii.mask_value(value) == masked


@pytest.mark.parametrize(("text", "ok"), [("4111 1111 1111 1111", True), ("4012-8888-8888-1881", True),
                                          ("4111 1111 1111 1112", False), ("0000 0000 0000 0000", False),
                                          ("1234", False)])
def test_luhn(text, ok):
    assert pii.luhn_ok(text) is ok


@pytest.mark.parametrize(("text", "ok"), [
    ("DE89 3704 0044 0532 0130 00", True), ("GB82WEST12345698765432", True),
    ("DE89 3704 0044 0532 0130 01", False), ("GB82WEST1234569876543X", False), ("XX00", False)])
def test_iban_mod_97(text, ok):
    assert pii.iban_ok(text) is ok


@pytest.mark.parametrize(("text", "kind"), [
    ("mail me at a.b@c.org", "email"), ("+49 30 1234567", "phone"), ("(030) 1234567", "phone"),
    ("4111 1111 1111 1111", "card"), ("DE89 3704 0044 0532 0130 00", "iban"),
    ("4111 1111 1111 1112", None), ("DE89 3704 0044 0532 0130 01", None), ("R00000ABCDEF", None),
    ("2024-01-01 10:00:00", None), ("12345678", None), ("Z01", None), ("3.14159", None),
])
def test_detection_recognises_pii_and_rejects_checksum_failures(text, kind):
    assert pii.classify(text) == kind


def test_curated_rows_hash_mask_and_drop_pii_and_the_report_holds_none_in_clear(write):
    result = run(write("p.csv", DATA), contract(COLS, failure_policy="quarantine_rows"), chunk_rows=2)
    assert failing(result) == {"email.pattern": 1}
    curated = pd.concat(list(result.iter_curated()))
    assert list(curated.columns) == ["id", "email", "phone", "note"]  # card dropped
    assert curated["email"].tolist() == [hmac.new(PII_KEY, e.encode(), hashlib.sha256).hexdigest()
                                         for e in EMAILS[:2]]
    assert curated["phone"].tolist() == ["****4567", "****4321"]
    quarantined = pd.concat(list(result.iter_quarantined()))
    assert "card" not in quarantined.columns and quarantined["_reasons"].tolist() == ["email.pattern"]
    expected = hmac.new(PII_KEY, EMAILS[2].encode(), hashlib.sha256).hexdigest()
    assert quarantined["email"].tolist() == [expected]
    assert rule(result, "email.pattern")["examples"] == [{"row": 2, "value": "b***"}]
    everything = json.dumps(result.report) + curated.to_csv() + quarantined.to_csv()
    for secret in SECRETS:
        assert secret not in everything


def test_undeclared_pii_is_a_warning_with_redacted_examples(write):
    names = ("id", "email", "phone", "card", "note")
    cols = [{"name": n, "type": "int" if n == "id" else "string"} for n in names]
    result = run(write("p.csv", DATA), contract(cols))
    assert (result.verdict, result.decision) == ("pass", "accept")
    findings = {f["column"]: f for f in result.report["undeclared_pii"]}
    assert set(findings) == {"email", "phone", "card"}
    assert findings["email"]["kinds"] == {"email": 2} and findings["email"]["values_scanned"] == 3
    assert findings["card"]["kinds"] == {"card": 3} and findings["phone"]["kinds"] == {"phone": 3}
    assert findings["email"]["severity"] == "warn"
    assert rule(result, "email.undeclared_pii")["passed"] is False
    report = json.dumps(result.report)
    for secret in SECRETS:
        assert secret not in report


def test_undeclared_pii_rejects_the_file_when_the_contract_says_error(write):
    cols = [{"name": "id", "type": "int"}, {"name": "email", "type": "string"},
            {"name": "phone", "type": "string", "pii": "mask"},
            {"name": "card", "type": "string", "pii": "drop"},
            {"name": "note", "type": "string"}]
    result = run(write("p.csv", DATA), contract(cols, undeclared_pii="error"))
    assert (result.decision, result.reason) == ("reject_file", "undeclared_pii")
    assert [f["column"] for f in result.report["undeclared_pii"]] == ["email"]
    off = run(write("p.csv", DATA), contract(cols, undeclared_pii="off"))
    assert off.report["undeclared_pii"] == [] and off.decision == "accept"


def test_detection_counts_every_value_holding_pii_and_masks_each_one():
    values = pa.array([f"user{i}@example.com" if i % 10 == 0 else f"v{i}" for i in range(100_000)])
    found = pii.scan(values)
    finding = pii.PiiFinding("c")
    finding.add(found)
    assert (finding.scanned, finding.counts) == (100_000, {"email": 10_000})
    assert found.rows is not None and found.rows.tolist() == list(range(0, 100_000, 10))
    assert found.masked is not None and set(found.masked.to_pylist()) == {"u***@***.com"}
    assert finding.examples == ["u***@***.com"] * pii.MAX_PII_EXAMPLES


def test_detection_on_a_dictionary_column_counts_rows_not_distinct_values():
    values = pa.array(["a@b.de", None, "x", "a@b.de", "+49 30 1234567"]).dictionary_encode()
    found = pii.scan(values)
    assert (found.scanned, found.counts) == (4, {"email": 2, "phone": 1})
    assert found.rows is not None and found.rows.tolist() == [0, 3, 4]
    assert pii.mask_found(values, found).to_pylist() == ["a***@***.de", None, "x", "a***@***.de", "****4567"]


def test_pii_inside_other_values_is_scrubbed_from_examples(write):
    data = "id,note\n1,write to anna.mueller1@example.com now\n"
    result = run(write("n.csv", data), contract([{"name": "id", "type": "int"},
                                                 {"name": "note", "type": "string", "max_length": 5}]))
    assert rule(result, "note.length")["examples"] == [{"row": 0, "value": "write to a***@***.com now"}]


def test_a_missing_or_short_key_is_a_configuration_error_only_when_a_column_is_hashed(write):
    from chalicelib.core.errors import ConfigurationError
    from chalicelib.core.validation.engine import validate_file

    path = write("p.csv", DATA)
    with pytest.raises(ConfigurationError) as info:
        validate_file(path, contract(COLS), pii_key=b"short")
    assert info.value.code == "pii_key_invalid"
    masked_only = contract([dict(c, pii="mask") if c.get("pii") == "hash" else c for c in COLS])
    result = validate_file(path, masked_only, pii_key=b"")
    assert next(result.iter_curated())["email"].tolist()[0] == "a***@***.com"


def test_a_headerless_file_does_not_put_its_first_rows_pii_into_the_report(write):
    from chalicelib.core.validation.contract import parse_contract
    from chalicelib.core.validation.engine import validate_file

    contract = parse_contract({"dataset": "d", "columns": [
        {"name": "ride_id", "type": "string"}, {"name": "rider_email", "type": "string", "pii": "hash"}]})
    path = write("noheader.csv", b"R1,jane.doe@example.com\nR2,john@example.com\n")
    result = validate_file(path, contract, pii_key=b"k" * 32)
    assert result.verdict == "fail"
    assert "jane.doe@example.com" not in json.dumps(result.report)


def test_undeclared_pii_in_quarantined_rows_is_masked(write):
    from chalicelib.core.validation.contract import parse_contract
    from chalicelib.core.validation.engine import validate_file

    contract = parse_contract({"dataset": "d", "failure_policy": "quarantine_rows", "columns": [
        {"name": "ride_id", "type": "string"}, {"name": "city", "type": "category",
                                                 "allowed": ["Berlin"]}]})
    path = write("leak.csv", b"ride_id,city\nR1,Berlin\nR2,leak.victim@corp.com\n")
    result = validate_file(path, contract, pii_key=b"k" * 32)
    quarantined = [row for frame in result.iter_quarantined() for row in frame.to_dict("records")]
    assert len(quarantined) == 1 and "leak.victim@corp.com" not in json.dumps(quarantined, default=str)


# -- detection sees every value (issue 16: 20 e-mails among 300k rows passed a sampled scan) ----------

HANDFUL = [7 + 14_999 * k for k in range(20)]  # rows no evenly spaced sample of 2,048 per chunk lands on


def sparse_emails(write, rows: int = 300_000, header: str = "id,city,contact") -> str:
    lines = [header]
    for i in range(rows):
        contact = f"user{i}@example.com" if i in HANDFUL else f"c{i % 97}"
        lines.append(f"{i},Berlin,{contact}")
    return write("sparse.csv", "\n".join(lines) + "\n")


@pytest.mark.parametrize("column", ["contact", "city"])
def test_a_handful_of_emails_among_300k_rows_fail_the_file_under_error(write, column):
    # in a string column, or in a category column (read dictionary-encoded)
    path = sparse_emails(write, header="id,city,contact" if column == "contact" else "id,contact,city")
    cols = [{"name": "id", "type": "int"}, {"name": "city", "type": "category"},
            {"name": "contact", "type": "string"}]
    result = run(path, contract(cols, undeclared_pii="error"))
    assert (result.decision, result.reason) == ("reject_file", "undeclared_pii")
    found = rule(result, f"{column}.undeclared_pii")
    assert found["failing_rows"] == 20
    assert found["details"] == {"kinds": {"email": 20}, "values_scanned": 300_000, "values_with_pii": 20}
    assert "user7@example.com" not in json.dumps(result.report)


def test_under_warn_kept_extra_columns_reach_curated_rows_masked_not_in_clear(write):
    path = sparse_emails(write)
    c = contract([{"name": "id", "type": "int"}, {"name": "city", "type": "category"}],
                 undeclared_pii="warn", extra_columns="keep")
    result = run(path, c)
    assert (result.verdict, result.decision) == ("pass", "accept")
    curated = pd.concat(list(result.iter_curated()), ignore_index=True)
    assert not curated["contact"].str.contains("@example.com", regex=False).any()
    assert rule(result, "contact.undeclared_pii")["failing_rows"] == 20

    from chalicelib.core.validation.engine import validate_stream
    from tests.unit.validation.sinks import RecordingSink, frame_of

    sink = RecordingSink()
    validate_stream(path, c, pii_key=PII_KEY, curated=sink)
    streamed = frame_of(sink.frames())
    for frame in (curated, streamed):
        assert frame is not None and len(frame) == 300_000
        assert not frame["contact"].str.contains("@example.com", regex=False).any()
        assert frame["contact"].iloc[HANDFUL].tolist() == ["u***@***.com"] * 20
        assert frame["contact"].iloc[8] == "c8"  # values without PII untouched


PII_LIKE = ["anna@example.com", "+49 30 1234567", "4111 1111 1111 1111", "DE89 3704 0044 0532 0130 00",
            "é4111111111111111", "x00491701234567", "ß+49 170 1234567", "call 0049 30 1234567 now"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=30), st.sampled_from(PII_LIKE),
                          st.builds(lambda a, b, c: a + b + c, st.text(max_size=5), st.sampled_from(PII_LIKE),
                                    st.text(max_size=5))), max_size=20))
def test_scrubbing_a_column_at_once_equals_scrubbing_each_value(values):
    expected = [None if v is None else pii.scrub(v) for v in values]
    assert pii.scrub_text(pa.array(values, pa.string())).to_pylist() == expected


def test_scrubbing_a_dictionary_column_scrubs_its_values():
    column = pa.array(["x", PII_LIKE[0], None, PII_LIKE[0]]).dictionary_encode()
    assert pii.scrub_text(column).to_pylist() == ["x", pii.scrub(PII_LIKE[0]), None, pii.scrub(PII_LIKE[0])]
