"""IAM's evaluation of one identity policy, for what sluice's roles use: enough to say whether a request
is allowed (an explicit Deny wins over any Allow; no Allow is a deny) and which grants no request used.

Only the condition operators the roles use are known; any other is an error rather than a guess. The
template's intrinsics (``Fn::Sub``, ``Fn::GetAtt``, ``Ref``) resolve to the scenario's names.
"""

from __future__ import annotations

import fnmatch
import itertools
import re
from collections.abc import Iterable
from typing import Any

from tests.functional.infra.aws_calls import ACCOUNT, REGION, Names, Request


def resolver(names: Names) -> dict[str, str]:
    """``${...}`` / ``Ref`` / ``GetAtt`` values of the template's resources in the scenario's account."""
    table_arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{names.table}"
    return {
        "AWS::Partition": "aws",
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT,
        "AWS::StackName": names.stack,
        "DataBucket": names.bucket,
        "DataBucket.Arn": f"arn:aws:s3:::{names.bucket}",
        "StateTable": names.table,
        "StateTable.Arn": table_arn,
        "AlertsTopic": names.topic_arn,
        "AlertsTopic.TopicName": names.topic_arn.rsplit(":", 1)[-1],
        "FailedEventsQueue.Arn": names.queue_arn,
        "GlueDatabase": names.glue_database,
        "PiiKeySecret": names.secret_arn,
        "DataKey.Arn": names.key_arn,
        "TrainingJobRole.Arn": names.training_role_arn,
    }


def resolve(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, list):
        return [resolve(v, values) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Fn::Sub"}:
        return re.sub(r"\$\{([^}]+)\}", lambda m: values[m.group(1)], value["Fn::Sub"])
    if set(value) == {"Fn::GetAtt"}:
        return values[".".join(value["Fn::GetAtt"])]
    if set(value) == {"Ref"}:
        return values[value["Ref"]]
    return {k: resolve(v, values) for k, v in value.items()}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _like(value: str, pattern: str) -> bool:
    """IAM's ``*`` and ``?`` (any characters, ``/`` included), case-sensitive."""
    return fnmatch.fnmatchcase(value, pattern)


def _operator(name: str, present: bool, values: list[Any], patterns: list[Any]) -> bool:
    if name == "Null":
        return (not present) == (str(patterns[0]).lower() == "true")
    qualifier, _, base = name.rpartition(":")
    test = {
        "StringEquals": lambda v, p: v == p,
        "StringLike": _like,
        "ArnLike": _like,
        "ArnEquals": lambda v, p: v == p,
    }.get(base.removesuffix("IfExists"))
    if test is None or qualifier not in ("", "ForAllValues", "ForAnyValue"):
        raise AssertionError(f"condition operator {name} is not modelled")
    if not present:
        return base.endswith("IfExists") or qualifier == "ForAllValues"
    matches = [any(test(str(v), str(p)) for p in patterns) for v in values]
    if qualifier == "ForAllValues":
        return all(matches)
    if qualifier == "ForAnyValue":
        return any(matches)
    if len(values) != 1:
        raise AssertionError(f"{name} on a multivalued key")
    return matches[0]


def matches(statement: dict[str, Any], request: Request) -> bool:
    """Whether ``statement`` applies to ``request`` (action, resource, every condition)."""
    if not any(fnmatch.fnmatch(request.action.lower(), a.lower()) for a in _list(statement["Action"])):
        return False
    if not any(_like(request.resource, r) for r in _list(statement["Resource"])):
        return False
    for operator, keys in statement.get("Condition", {}).items():
        for key, patterns in keys.items():
            present = key in request.context
            values = _list(request.context.get(key))
            if not _operator(operator, present, values, _list(patterns)):
                return False
    return True


def allowed(statements: list[dict[str, Any]], request: Request) -> bool:
    if any(s["Effect"] == "Deny" and matches(s, request) for s in statements):
        return False
    return any(s["Effect"] == "Allow" and matches(s, request) for s in statements)


def grants(statement: dict[str, Any]) -> Iterable[tuple[str, dict[str, Any]]]:
    """One statement as its smallest grants: each action x resource x value of each condition list,
    with a label (``Sid action resource {key: value}``)."""
    conditions = [
        (op, key, p)
        for op, keys in statement.get("Condition", {}).items()
        for key, patterns in keys.items()
        for p in _list(patterns)
    ]
    by_key: dict[tuple[str, str], list[Any]] = {}
    for op, key, pattern in conditions:
        by_key.setdefault((op, key), []).append(pattern)
    choices = [[(op, key, p) for p in patterns] for (op, key), patterns in by_key.items()]
    for action, resource in itertools.product(_list(statement["Action"]), _list(statement["Resource"])):
        for combo in itertools.product(*choices):
            condition: dict[str, dict[str, Any]] = {}
            for op, key, pattern in combo:
                condition.setdefault(op, {})[key] = pattern
            one = {"Effect": "Allow", "Action": action, "Resource": resource, "Condition": condition}
            picked = " ".join(f"{k}={p}" for _, k, p in combo)
            yield f"{statement.get('Sid', '?')} {action} {resource} {picked}".strip(), one
