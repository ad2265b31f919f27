"""Who the registry's routes record as the actor of a change (the routes: tests/functional/registry)."""

from __future__ import annotations

from chalicelib.triggers.http.registry import actor_of


class _Request:
    def __init__(self, context):
        self.context = context


def test_the_actor_is_the_callers_identity_or_anonymous():
    arn = "arn:aws:iam::123456789012:user/alice"
    assert actor_of(_Request({"identity": {"userArn": arn}})) == arn
    cognito = {"authorizer": {"claims": {"cognito:username": "bob"}}, "identity": {}}
    assert actor_of(_Request(cognito)) == "bob"
    assert actor_of(_Request({"identity": {"sourceIp": "1.2.3.4"}})) == "anonymous"
    assert actor_of(_Request(None)) == "anonymous"
