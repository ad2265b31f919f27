"""The on-call view of a stack, rendered into the merge template by render_template: a CloudWatch alarm
for every function's errors and throttles, the API's 5xx answers and p99 latency (beside
infra/resources.yaml's dead-letter alarm), each wired to the alerts topic (AWS Chatbot shows CloudWatch
alarms as they are), and one CloudWatch dashboard with the functions, the API and sluice's own metrics
(the embedded metric format of chalicelib/core/metrics.py)."""

from __future__ import annotations

import json
from typing import Any

PERIOD_S = 300
API_P99_MS = 3000  # predictions answer in ~0.1 s after SnapStart's init; API Gateway gives up at 29 s
API_P99_PERIODS = 3  # 15 minutes above it: a trend, not one cold start
SLUICE_METRICS = (("ValidationsPassed", "ValidationsFailed", "QuarantinedRows"),
                  ("Predictions", "DriftDetected", "PerformanceDrops"),
                  ("TrainingRunsSucceeded", "TrainingRunsFailed"))


def _alarm(description: str, namespace: str, metric: str, dimensions: list[dict[str, Any]], *,
           threshold: float, statistic: str = "Sum", periods: int = 1) -> dict[str, Any]:
    stat = {"ExtendedStatistic": statistic} if statistic.startswith("p") else {"Statistic": statistic}
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": {
        "AlarmDescription": {"Fn::Sub": f"${{AWS::StackName}}: {description}"},
        "Namespace": namespace, "MetricName": metric, "Dimensions": dimensions, **stat,
        "Period": PERIOD_S, "EvaluationPeriods": periods, "DatapointsToAlarm": periods,
        "Threshold": threshold, "ComparisonOperator": "GreaterThanThreshold" if statistic.startswith("p")
        else "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching",
        "AlarmActions": [{"Ref": "AlertsTopic"}], "OKActions": [{"Ref": "AlertsTopic"}]}}


def _function(name: str) -> list[dict[str, Any]]:
    return [{"Name": "FunctionName", "Value": {"Fn::Sub": f"${{AWS::StackName}}-{name}"}}]


def _api(api_stage: str) -> list[dict[str, Any]]:
    return [{"Name": "ApiName", "Value": {"Fn::Sub": "${AWS::StackName}"}},
            {"Name": "Stage", "Value": api_stage}]


def alarm_resources(functions: dict[str, str], api_stage: str | None) -> dict[str, Any]:
    """``{LogicalId}ErrorsAlarm`` and ``…ThrottlesAlarm`` per function; ``Api5xxAlarm`` and
    ``ApiLatencyAlarm`` when the app has routes (``api_stage``)."""
    out: dict[str, Any] = {}
    for name, lid in sorted(functions.items()):
        out[f"{lid}ErrorsAlarm"] = _alarm(f"{name} failed (an invocation raised or timed out)",
                                          "AWS/Lambda", "Errors", _function(name), threshold=1)
        out[f"{lid}ThrottlesAlarm"] = _alarm(f"{name} was throttled (its reserved concurrency is used up)",
                                             "AWS/Lambda", "Throttles", _function(name), threshold=1)
    if api_stage is not None:
        out["Api5xxAlarm"] = _alarm("the API answered 5xx", "AWS/ApiGateway", "5XXError", _api(api_stage),
                                    threshold=1)
        out["ApiLatencyAlarm"] = _alarm(f"the API's p99 latency stayed above {API_P99_MS} ms for "
                                        f"{API_P99_PERIODS * PERIOD_S // 60} minutes", "AWS/ApiGateway",
                                        "Latency", _api(api_stage), threshold=API_P99_MS, statistic="p99",
                                        periods=API_P99_PERIODS)
    return out


def dashboard_resource(functions: dict[str, str], api_stage: str | None) -> dict[str, Any]:
    """``OperationsDashboard``: per function invocations, errors, throttles and p99 duration; the API's
    requests, 4xx/5xx and latency; sluice's validation, prediction, drift and training counts."""
    names = sorted(functions)
    def each_function(metric: str) -> list[list[str]]:
        return [["AWS/Lambda", metric, "FunctionName", f"${{AWS::StackName}}-{n}"] for n in names]

    widgets: list[dict[str, Any]] = [
        _widget("Lambda errors", each_function("Errors"), "Sum"),
        _widget("Lambda throttles", each_function("Throttles"), "Sum"),
        _widget("Lambda invocations", each_function("Invocations"), "Sum"),
        _widget("Lambda duration p99 (ms)", each_function("Duration"), "p99"),
    ]
    if api_stage is not None:
        api = ["ApiName", "${AWS::StackName}", "Stage", api_stage]
        widgets += [_widget("API requests and errors", [["AWS/ApiGateway", m, *api]
                                                       for m in ("Count", "4XXError", "5XXError")], "Sum"),
                    _widget("API latency p99 (ms)", [["AWS/ApiGateway", "Latency", *api]], "p99")]
    widgets += [_widget(" / ".join(group), [["sluice", m, "service", "sluice"] for m in group], "Sum")
                for group in SLUICE_METRICS]
    for i, widget in enumerate(widgets):
        widget.update(x=(i % 2) * 12, y=(i // 2) * 6, width=12, height=6)
    return {"OperationsDashboard": {"Type": "AWS::CloudWatch::Dashboard", "Properties": {
        "DashboardName": {"Fn::Sub": "${AWS::StackName}-operations"},
        "DashboardBody": {"Fn::Sub": json.dumps({"widgets": widgets}, separators=(",", ":"))}}}}


def _widget(title: str, metrics: list[list[str]], stat: str) -> dict[str, Any]:
    return {"type": "metric", "properties": {"title": title, "metrics": metrics, "stat": stat,
                                             "period": PERIOD_S, "region": "${AWS::Region}",
                                             "view": "timeSeries"}}
