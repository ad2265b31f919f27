"""Every sluice alert is a valid AWS Chatbot custom notification, with attributes a subscription can filter
on, and the details it carries come back as they were put in."""

from __future__ import annotations

import json

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.core.alerts import KINDS, SEVERITIES, Alert, ChatbotNotification, attributes, message_body
from tests.unit.alerts.chatbot_schema import SCHEMA

DETAIL_VALUES = st.one_of(st.none(), st.text(max_size=40), st.integers(), st.floats(allow_nan=False),
                          st.booleans(), st.lists(st.text(max_size=10), max_size=4))


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(KINDS), severity=st.sampled_from(SEVERITIES), subject=st.text(max_size=200),
       message=st.text(max_size=400), details=st.dictionaries(st.text(min_size=1, max_size=12), DETAIL_VALUES,
                                                              max_size=6),
       steps=st.lists(st.text(max_size=30), max_size=3))
def test_every_alert_validates_against_the_documented_schema(kind, severity, subject, message, details,
                                                              steps):
    body = message_body(Alert(kind=kind, severity=severity, subject=subject, message=message, details=details,
                              next_steps=steps, resources=["s3://bucket/reports/x.html"]))
    event = json.loads(body)
    jsonschema.validate(event, SCHEMA)
    assert event["content"]["description"] == message and event["content"]["nextSteps"] == steps
    assert len(event["content"]["title"]) <= 100 and event["metadata"]["eventType"] == kind
    raw = event["metadata"]["additionalContext"]
    for key, value in details.items():  # strings as they are, anything else as its JSON
        if value is None:
            assert key not in raw
        elif isinstance(value, str):
            assert raw[key] == value[:500]
        elif len(json.dumps(value, sort_keys=True)) <= 500:
            assert json.loads(raw[key]) == value


def test_the_schema_refuses_what_chatbot_refuses():
    good = json.loads(message_body(Alert(kind="drift", severity="medium", subject="s", message="m")))
    for broken in ({**good, "version": "2.0"}, {**good, "source": "sluice"}, {**good, "message": "m"},
                   {**good, "content": {**good["content"], "textType": "markdown"}},
                   {**good, "metadata": {**good["metadata"], "additionalContext": {"n": 1}}}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, SCHEMA)
        with pytest.raises(ValueError):
            ChatbotNotification.model_validate(broken)


def test_attributes_name_the_kind_severity_and_resource():
    alert = Alert(kind="validation", severity="high", subject="s", message="m",
                  details={"dataset": "rides", "version": 3})
    assert attributes(alert) == {"kind": "validation", "severity": "high", "dataset": "rides"}
    thread = json.loads(message_body(alert))["metadata"]["threadId"]
    assert thread == "sluice-validation-rides"
