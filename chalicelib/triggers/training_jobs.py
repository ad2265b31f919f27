"""SageMaker training job state changes (the template's EventBridge rule on this stack's jobs; the local
stack's pump) → :func:`chalicelib.services.sagemaker_jobs.on_state_change`."""

from __future__ import annotations

from typing import Any


def handle_training_job_event(event: dict[str, Any]) -> dict[str, Any]:
    from chalicelib.services.sagemaker_jobs import on_state_change

    return on_state_change(event)
