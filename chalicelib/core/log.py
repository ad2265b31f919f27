"""Structured JSON logging (aws-lambda-powertools Logger), one service name for all of sluice."""

from __future__ import annotations

from aws_lambda_powertools import Logger

SERVICE = "sluice"

logger = Logger(service=SERVICE)
