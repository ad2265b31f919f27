"""AWS Chatbot's custom-notification event as its documentation gives it (docs.aws.amazon.com/chatbot/
latest/adminguide/custom-notifs.html, "Event schema" and "Parameter details"), written as a JSON Schema
independently of sluice's pydantic model, so the two are checked against each other. ``version`` must be
"1.0", ``source`` must be "custom", ``textType`` only "client-markdown"; ``additionalContext`` maps
strings to strings; nothing else is part of the event."""

STRINGS = {"type": "array", "items": {"type": "string"}}

SCHEMA = {
    "type": "object",
    "required": ["version", "source", "content"],
    "additionalProperties": False,
    "properties": {
        "version": {"const": "1.0"},
        "source": {"const": "custom"},
        "id": {"type": "string"},
        "content": {
            "type": "object", "required": ["description"], "additionalProperties": False,
            "properties": {"textType": {"const": "client-markdown"}, "title": {"type": "string"},
                           "description": {"type": "string"}, "nextSteps": STRINGS, "keywords": STRINGS},
        },
        "metadata": {
            "type": "object", "additionalProperties": False,
            "properties": {"threadId": {"type": "string"}, "summary": {"type": "string"},
                           "eventType": {"type": "string"}, "relatedResources": STRINGS,
                           "additionalContext": {"type": "object",
                                                 "additionalProperties": {"type": "string"}}},
        },
    },
}


def decoded_context(message_body: str) -> dict:
    """An alert's ``additionalContext`` with the JSON values sluice wrote decoded again."""
    import json

    out = {}
    for key, value in json.loads(message_body)["metadata"]["additionalContext"].items():
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out
