import json

from chalicelib.core.events import ObjectRef, eventbridge_object_created, parse_object_events
from chalicelib.triggers.table import functions_for_key


def test_an_eventbridge_object_created_event_becomes_one_object_ref():
    ref = ObjectRef("b", "raw/rides/a b.csv", version_id="v1", etag="abc", size=10)
    assert parse_object_events(eventbridge_object_created(ref)) == [ref]


def test_s3_notification_records_are_url_decoded_and_etag_quotes_dropped():
    event = {"Records": [{
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": "b"},
               "object": {"key": "raw/rides/a+b%2B.csv", "eTag": '"e"', "versionId": "v", "size": 3}},
    }, {"eventName": "ObjectRemoved:Delete", "s3": {"bucket": {"name": "b"}, "object": {"key": "x"}}}]}
    assert parse_object_events(event) == [ObjectRef("b", "raw/rides/a b+.csv", "v", "e", 3)]


def test_sqs_batches_of_eventbridge_events_are_unwrapped():
    ref = ObjectRef("b", "labels/m/l.csv", etag="e", size=1)
    sqs = {"Records": [{"body": json.dumps(eventbridge_object_created(ref))}]}
    assert parse_object_events(sqs) == [ref]


def test_unrelated_events_yield_nothing():
    assert parse_object_events({"source": "aws.events", "detail-type": "Scheduled Event"}) == []
    assert parse_object_events([1, 2]) == []


def test_keys_route_to_their_handlers_and_batch_outputs_do_not_loop():
    assert functions_for_key("raw/rides/x.csv") == ["on_raw_object"]
    assert functions_for_key("labels/fare/2024.csv") == ["on_label_object"]
    assert functions_for_key("batch/fare/input/b.csv") == ["on_batch_object"]
    assert functions_for_key("batch/fare/output/b.csv") == []
    assert functions_for_key("curated/rides/x.parquet") == []
