"""The on-call view in the packaged template: every function's errors and throttles, the API's 5xx and
p99 latency, and the dead-letter queue alarm on the alerts topic; one CloudWatch dashboard naming every
function, the API and sluice's own metrics."""

from __future__ import annotations

import json
import re


def _resolved(sub: str) -> str:
    return sub.replace("${AWS::StackName}", "STACK").replace("${AWS::Region}", "REGION")


def test_every_function_has_an_errors_and_a_throttles_alarm_on_the_alerts_topic(resources, chalice_app):
    functions = {r["Properties"]["FunctionName"]["Fn::Sub"]: lid for lid, r in resources.items()
                 if r["Type"] == "AWS::Serverless::Function"}
    assert len(functions) >= 10
    alarms = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    for name in functions:
        watched = {a["MetricName"] for a in alarms if a["Namespace"] == "AWS/Lambda"
                   and a["Dimensions"] == [{"Name": "FunctionName", "Value": {"Fn::Sub": name}}]}
        assert watched == {"Errors", "Throttles"}, name
    for alarm in alarms:
        assert alarm["AlarmActions"] == [{"Ref": "AlertsTopic"}], alarm["MetricName"]
        assert alarm["TreatMissingData"] == "notBreaching"


def test_the_api_alarms_watch_this_stacks_api_by_its_name(resources):
    api = resources["RestAPI"]["Properties"]
    alarms = [a["Properties"] for a in resources.values() if a["Type"] == "AWS::CloudWatch::Alarm"]
    by_metric = {a["MetricName"]: a for a in alarms if a["Namespace"] == "AWS/ApiGateway"}
    assert set(by_metric) == {"5XXError", "Latency"}
    for alarm in by_metric.values():
        assert alarm["Dimensions"][0] == {"Name": "ApiName", "Value": api["Name"]}
        assert alarm["Dimensions"][1] == {"Name": "Stage", "Value": api["StageName"]}
    assert by_metric["Latency"]["ExtendedStatistic"] == "p99"
    assert by_metric["Latency"]["EvaluationPeriods"] == by_metric["Latency"]["DatapointsToAlarm"] == 3
    assert "FailedEventsAlarm" in resources  # the dead-letter queue's, kept


def test_the_dashboard_shows_every_function_the_api_and_sluices_metrics(resources):
    body = json.loads(_resolved(resources["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]))
    rows = [metric for w in body["widgets"] for metric in w["properties"]["metrics"]]
    functions = {r["Properties"]["FunctionName"]["Fn::Sub"] for r in resources.values()
                 if r["Type"] == "AWS::Serverless::Function"}
    for name in functions:
        assert ["AWS/Lambda", "Errors", "FunctionName", _resolved(name)] in rows
    assert any(row[:2] == ["AWS/ApiGateway", "5XXError"] for row in rows)
    sluice = {row[1] for row in rows if row[0] == "sluice"}
    assert {"ValidationsFailed", "Predictions", "DriftDetected", "TrainingRunsFailed"} <= sluice
    assert not re.search(r"\$\{(?!AWS::)", resources["OperationsDashboard"]["Properties"]["DashboardBody"][
        "Fn::Sub"])  # only pseudo parameters are substituted
