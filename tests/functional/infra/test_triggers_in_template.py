"""chalicelib/triggers/table.py and the deployment template agree: every trigger is wired, nothing else."""

from __future__ import annotations

import render_template

from chalicelib.triggers.table import ASYNC_FUNCTIONS, OBJECT_TRIGGERS, SCHEDULES

lid = render_template.logical_id


def _rules(resources: dict) -> dict:
    return {k: v["Properties"] for k, v in resources.items() if v["Type"] == "AWS::Events::Rule"}


def test_every_function_of_the_app_is_in_the_template_and_nothing_else(chalice_app, functions):
    expected = {lid(name) for name in render_template.deployed_functions(chalice_app)}
    assert set(functions) == expected


def test_every_object_trigger_has_a_rule_on_the_data_bucket_for_its_key_pattern(resources):
    rules = _rules(resources)
    for trigger in OBJECT_TRIGGERS:
        matching = [r for r in rules.values() if r.get("EventPattern", {}).get("detail", {}).get(
            "object", {}).get("key") == [{"wildcard": trigger.pattern}]]
        assert len(matching) == 1, f"no single rule for {trigger.pattern}"
        rule = matching[0]
        assert rule["EventPattern"]["source"] == ["aws.s3"]
        assert rule["EventPattern"]["detail-type"] == ["Object Created"]
        assert rule["EventPattern"]["detail"]["bucket"]["name"] == [{"Ref": "DataBucket"}]
        [target] = rule["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": [lid(trigger.function), "Arn"]}
        assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["FailedEventsQueue", "Arn"]}


def test_there_is_no_object_rule_that_triggers_py_does_not_declare(resources):
    declared = {t.pattern for t in OBJECT_TRIGGERS}
    for name, rule in _rules(resources).items():
        keys = rule.get("EventPattern", {}).get("detail", {}).get("object", {}).get("key")
        if keys is not None:
            assert [k["wildcard"] for k in keys] in [[d] for d in declared], name


def test_each_object_rule_may_invoke_only_its_own_function(resources):
    permissions = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::Permission"
                   and r["Properties"]["Principal"] == "events.amazonaws.com"]
    for trigger in OBJECT_TRIGGERS:
        rule = f"{lid(trigger.function)}ObjectCreatedRule"
        granted = [p for p in permissions if p["SourceArn"] == {"Fn::GetAtt": [rule, "Arn"]}]
        assert [p["FunctionName"] for p in granted] == [{"Ref": lid(trigger.function)}]


def test_every_schedule_fires_its_function_with_the_declared_expression(resources):
    for schedule in SCHEDULES:
        function = resources[lid(schedule.function)]["Properties"]
        sam_events = [e["Properties"] for e in function.get("Events", {}).values() if e["Type"] == "Schedule"]
        rules = [r for r in _rules(resources).values() if r.get("ScheduleExpression")
                 and r["Targets"][0]["Arn"] == {"Fn::GetAtt": [lid(schedule.function), "Arn"]}]
        expressions = [e["Schedule"] for e in sam_events] + [r["ScheduleExpression"] for r in rules]
        assert expressions == [schedule.expression]
        for event in sam_events:
            assert event["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["FailedEventsQueue", "Arn"]}


def test_every_asynchronous_function_has_a_dead_letter_queue_and_bounded_retries(functions):
    asynchronous = ({t.function for t in OBJECT_TRIGGERS} | {s.function for s in SCHEDULES}
                    | set(ASYNC_FUNCTIONS))
    for name in asynchronous:
        props = functions[lid(name)]["Properties"]
        assert props["DeadLetterQueue"] == {"Type": "SQS",
                                            "TargetArn": {"Fn::GetAtt": ["FailedEventsQueue", "Arn"]}}
        assert 0 <= props["EventInvokeConfig"]["MaximumRetryAttempts"] <= 2
    assert "DeadLetterQueue" not in functions["APIHandler"]["Properties"]  # synchronous


def test_eventbridge_may_drop_undeliverable_events_of_this_stacks_rules_only(resources):
    statements = resources["FailedEventsQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    [allow] = [s for s in statements if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "events.amazonaws.com"}
    assert allow["Action"] == "sqs:SendMessage"
    assert "${AWS::StackName}-*" in allow["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"]
