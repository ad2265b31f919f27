"""MLOps core, training side: declarative specs, runs in Lambda, artifacts and the promotion gate.

Modules: ``spec`` (the training spec), ``estimators`` (the allow-list), ``pipeline`` / ``evaluate`` /
``gate`` / ``trainer`` (pure), ``artifacts`` (S3, SHA-256-verified loading), ``store`` and ``runs``
(DynamoDB), ``service`` (orchestration). Heavy libraries are imported inside functions only.
"""

__all__ = ["artifacts", "deps", "errors", "estimators", "evaluate", "gate", "pipeline", "runs", "service",
           "spec", "store", "trainer"]
