"""CloudWatch metrics in the embedded metric format (aws-lambda-powertools ``Metrics``): written to the
function's log as one JSON line per invocation, turned into metrics by CloudWatch with no API call (so no
IAM grant and no latency). app.py flushes after every invocation of every function.

Namespace ``sluice``, one dimension (``service``): a metric per dataset or model would multiply
CloudWatch's cost with every name, so the dataset or model rides along as metadata (searchable in
Logs Insights), not as a dimension.

=======================  =======  ==============================================================
metric                   unit     recorded by
=======================  =======  ==============================================================
ValidationsPassed        Count    an upload's version passed (with or without quarantined rows)
ValidationsFailed        Count    an upload's version failed (rejected file, no contract, too large)
ValidatedRows            Count    rows read by validation
QuarantinedRows          Count    rows quarantined
Predictions              Count    records answered by ``POST /models/{m}/predict``
PredictionLatency        ms       one predict request, from its body to its answer
DriftChecks              Count    drift checks run
DriftDetected            Count    drift checks that found drift
DriftedFeatures          Count    features found drifted
PerformanceDrops         Count    performance checks below tolerance
TrainingRunsSucceeded    Count    training runs that ended succeeded
TrainingRunsFailed       Count    training runs that ended failed
=======================  =======  ==============================================================
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from chalicelib.core.log import SERVICE

NAMESPACE = "sluice"
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


def count(name: str, value: float = 1.0, **metadata: object) -> None:
    """Add ``value`` to the count ``name`` (and ``metadata``, e.g. ``model="fare"``) of this invocation."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    _metadata(metadata)


def milliseconds(name: str, value: float, **metadata: object) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Milliseconds, value=value)
    _metadata(metadata)


def flush() -> None:
    """Write this invocation's metrics to the log: on Lambda only (CloudWatch Logs reads them there; on
    the local stack or in a CLI's process they would be noise on stdout), and nothing when none was
    recorded."""
    if metrics.metric_set and os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        metrics.flush_metrics()
    else:
        metrics.clear_metrics()


def _metadata(metadata: dict[str, object]) -> None:
    for key, value in metadata.items():
        if value is not None:
            metrics.add_metadata(key=key, value=value)
